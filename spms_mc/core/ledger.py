"""The exact ledger of money creation and destruction (docs/design.md, "The ledger").

Every process books each unit it creates or destroys under a named flow. The ledger keeps the
expected money stock as a Python integer and the engine compares it with the sum of all balances:
``M_t - M_{t-1} == created_t - destroyed_t`` exactly. A mismatch is a bug and stops the run
(:class:`LedgerError`). Because balances are never negative, every balance and every period sum is
bounded by the money stock times the period length; :meth:`Ledger.guard` refuses any creation that
could push that bound past int64, so int64 money can never wrap (:class:`MoneyOverflowError`).
"""
from __future__ import annotations

import numpy as np

from .errors import LedgerError, MoneyOverflowError

INT64_MAX = 2**63 - 1


class Ledger:
    def __init__(self, flows: list[str], start_money: int, period: int):
        self.flows = list(flows)
        self._index = {f: i for i, f in enumerate(self.flows)}
        self.created = np.zeros(len(self.flows), dtype=object)
        self.destroyed = np.zeros(len(self.flows), dtype=object)
        self.created[:] = 0
        self.destroyed[:] = 0
        self.expected = int(start_money)
        self.limit = INT64_MAX // max(int(period), 1)

    def create(self, flow: str, amount) -> None:
        amount = int(amount)
        if amount:
            self.created[self._index[flow]] += amount
            self.expected += amount
            if self.expected > self.limit:
                raise MoneyOverflowError(f"money stock {self.expected} minor units exceeds the int64 "
                                         f"limit {self.limit} after flow {flow!r}")

    def destroy(self, flow: str, amount) -> None:
        amount = int(amount)
        if amount:
            self.destroyed[self._index[flow]] += amount
            self.expected -= amount

    def guard(self, upper_bound: int, what: str) -> None:
        """Refuse a creation of up to ``upper_bound`` minor units that could overflow int64."""
        if self.expected + int(upper_bound) > self.limit:
            raise MoneyOverflowError(
                f"{what} would raise the money stock to {self.expected + int(upper_bound)} minor units, "
                f"past the int64 limit {self.limit} (INT64_MAX / run.period); lower the amounts "
                f"or run.minor_units")

    def check(self, actual: int, tick: int) -> None:
        if int(actual) != self.expected:
            raise LedgerError(f"stock-flow identity violated after tick {tick}: balances sum to {actual} "
                              f"minor units, the ledger expects {self.expected} "
                              f"(difference {int(actual) - self.expected})")

    def take_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Created and destroyed per flow since the last call (int64), then reset."""
        for name, c, d in zip(self.flows, self.created, self.destroyed):
            if max(c, d) > INT64_MAX:
                raise MoneyOverflowError(f"flow {name!r} over one sample interval exceeds the int64 range "
                                         f"({max(c, d)} minor units); sample more often (run.sample_every) "
                                         f"or lower the amounts")
        c = np.array([int(x) for x in self.created], np.int64)
        d = np.array([int(x) for x in self.destroyed], np.int64)
        self.created[:] = 0
        self.destroyed[:] = 0
        return c, d
