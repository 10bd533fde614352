"""A toy mechanism that lives only in the tests: the proof that a new mechanism is one module plus
one registration, with no other file of the package edited.

A flat per-capita transfer paid from a named source account: at tick 0 the ``treasury`` (an
institutional account this mechanism declares) is endowed with ``transfer.endowment`` (created, flow
``transfer_endowment``); at every period start it pays ``transfer.amount`` to every household while
its balance lasts. It reports ``transfer_paid`` (per interval) and keeps the identity treasury +
everything paid = the endowment.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spms_mc.core.config import Bool, Float, ScenarioError, key
from spms_mc.core.registry import Identity, Mechanism, Output
from spms_mc.core.state import EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferConfig:
    enabled: bool = key(False, Bool, "a flat per-capita transfer from the treasury")
    amount: float = key(1.0, Float(0), "transfer per household per period, currency units")
    endowment: float = key(0.0, Float(0), "the treasury's money at the start, currency units")


class FlatTransfer(Mechanism):
    name = "flat_transfer"
    order = 35  # after SuMSy's settlement, before the exchange
    sections = {"transfer": TransferConfig}
    unsweepable = ("transfer.enabled",)
    flows = {"transfer_endowment": "created: the treasury's endowment"}
    outputs = {"transfer_paid": Output("currency units", "transfers paid to households during the interval")}
    institutions = ("treasury",)

    @classmethod
    def enabled(cls, sc) -> bool:
        return sc.transfer.enabled

    @classmethod
    def check_scenario(cls, sc) -> None:
        t = sc.transfer
        if t.enabled and t.endowment < t.amount * sc.population.households:
            raise ScenarioError(f"transfer.endowment = {t.endowment} does not cover one period's transfer "
                                f"(transfer.amount x population.households = {t.amount * sc.population.households})")

    def __init__(self, *a):
        super().__init__(*a)
        self.treasury = self.state.institution("treasury")
        self.amount = self.sc.minor(self.sc.transfer.amount)
        self.endowment = self.sc.minor(self.sc.transfer.endowment)
        self.endowed = 0
        self.paid_total = 0
        self.paid = 0

    def on_period_start(self, tick: int) -> None:
        st = self.state
        if tick == 0:
            self.ledger.create("transfer_endowment", self.endowment)
            st.institutions[self.treasury] += self.endowment
            self.endowed = self.endowment
        H = st.n_households
        if st.institutions[self.treasury] >= self.amount * H:
            self.backend.credit_each(st.balance, EMPTY, H, np.int64(self.amount))
            st.institutions[self.treasury] -= self.amount * H
            self.paid += self.amount * H
            self.paid_total += self.amount * H

    def sample(self) -> dict:
        out = {"transfer_paid": self.paid}
        self.paid = 0
        return out

    def identities(self) -> list[Identity]:
        st = self.state
        return [Identity("treasury + transfers paid = endowment", "treasury + paid",
                         lambda: int(st.institutions[self.treasury]) + self.paid_total,
                         "endowment booked", lambda: self.endowed)]
