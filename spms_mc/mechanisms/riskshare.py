"""Risk-sharing finance of the Shared Prosperity Monetary System: citizen investment pools that fund
firms' investment against a share of their profit instead of interest (docs/model.md section 5; the
SPMS post, section 5, "risk-sharing finance > pure leverage": profit- and revenue-sharing
structures, citizen investment pools in which small savers hold shares of diversified productive
projects, docs/sources.md).

* **The pool** is an institutional account (``pool``, part of the money stock) with shares that
  households hold (array ``pool_shares``). A household buying equity puts ``pool_share`` of the
  order into the pool instead, at the pool's net asset value per share (money + equity units at the
  market price + contracts at book, over shares outstanding; 1 minor unit per share while it is
  empty), by the rule of an equity buy: ``u = floor(a / NAV)`` shares for ``ceil(u NAV)``. The
  money the contracts below do not take buys units of the equity index each period (issued by the
  firm sector, as the households' buys; one index stands for the AI-intensive firms), on which the
  pool receives dividends like any holder.
* **Profit-sharing contracts.** When a firm's cash falls short of its investment target (section 3,
  step 6), ``finance_mix`` of the shortfall is funded by the pool, as far as its money goes, instead
  of by bank credit; the rest is borrowed as before. The pool's claim on firm f, ``c_f``, entitles it
  to the share ``c_f / (c_f + E_f)`` of the firm's profit before dividends, ``E_f`` the firm's part of
  the equity index at the market price (its size weight): the pool shares the firm's risk as an
  owner does, with no fixed interest. Claims run off over ``contract_years`` (the financed capital
  depreciates), ``c_f <- c_f (1 - 1/m)`` per period, m the periods in ``contract_years``.
* **Income** (the profit shares and dividends) is paid to the pool's shareholders each period, pro
  rata (``floor``; the rest stays in the pool); their shares count in net wealth at the NAV.

This module owns ``[riskshare]``, the institution ``pool``, the array ``pool_shares``, its outputs
and the identity that pool shares held = shares issued. Kernels: :mod:`spms_mc_kernels.riskshare`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import riskshare as kernels
from spms_mc_kernels.economy import SHARE_MARGIN

from ..core.config import Bool, Float, ScenarioError, key
from ..core.registry import Identity, Mechanism, Output


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskShareConfig:
    """Risk-sharing finance (docs/model.md section 5)."""

    enabled: bool = key(False, Bool, "citizen investment pools funding firms by profit-sharing contracts (needs "
                                     "wealth.enabled)")
    pool_share: float = key(0.2, Float(0, 1), "share of each household's equity purchases put into the pool")
    finance_mix: float = key(1.0, Float(0, 1), "share of a firm's investment shortfall funded by the pool (as far as "
                                               "its money goes) instead of bank credit")
    contract_years: float = key(10.0, Float(0, lo_open=True), "years over which a profit-sharing claim runs off")


def check_riskshare(sc) -> None:
    r = sc.riskshare
    if r.enabled and not sc.wealth.enabled:
        raise ScenarioError("riskshare.enabled needs wealth.enabled = true (households save into the pool from their "
                            "equity purchases)")


class RiskSharing(Mechanism):
    """A citizen investment pool and the firms' profit-sharing contracts."""

    name = "riskshare"
    order = 47
    sections = {"riskshare": RiskShareConfig}
    unsweepable = ("riskshare.enabled",)
    institutions = ("pool",)
    arrays = {"pool_shares": "shares of the citizen investment pool each household holds"}
    cpu_kernels = {"subscribe_pool": kernels.subscribe_pool, "pay_pool_income": kernels.pay_pool_income}
    outputs = {"pool_value": Output("currency units", "the citizen pool's money + its equity at the market price + "
                                                      "its profit-sharing claims at book"),
               "pool_contracts": Output("currency units", "the pool's profit-sharing claims on firms, at book"),
               "pool_units": Output("shares", "shares of the equity index the pool holds"),
               "pool_income": Output("currency units", "profit shares the pool received during the interval"),
               "pool_subscriptions": Output("currency units", "money households put into the pool during the "
                                                              "interval"),
               "pool_financing": Output("currency units", "investment the pool funded during the interval")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_riskshare(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        return 8.0

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        state.add_array("pool_shares", np.zeros(sc.population.households, np.int64))

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["riskshare.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        self.cfg = sc.riskshare
        self.H, self.F = self.state.n_households, self.state.n_firms
        self.index = self.state.institution_names.index("pool")
        periods = sc.economy.ticks_per_year / sc.run.period * self.cfg.contract_years
        self.keep = 1.0 - 1.0 / max(periods, 1.0)
        self.claims = np.zeros(self.F)  # c_f, minor units (book)
        self.shares = 0
        self.units = 0  # equity index units the pool holds
        self.burn_in = sc.run.burn_in
        self.interval = {"pool_income": 0, "pool_subscriptions": 0, "pool_financing": 0}
        self.economy = self.market = None

    def bind(self, others) -> None:
        self.economy, self.market = others["economy"], others["wealth"]
        self.economy.riskshare = self
        self.market.subscribers.append(self)
        self.market.holders.append(self)

    @property
    def money(self) -> int:
        return int(self.state.institutions[self.index])

    def nav(self) -> float:
        """Net asset value per share, minor units (1 while the pool has no shares)."""
        if self.shares <= 0:
            return 1.0
        value = self.money + self.units * self.market.price + float(self.claims.sum())
        return max(value / self.shares, 1e-9)

    def identities(self) -> list[Identity]:
        return [Identity("pool: shares the households hold = shares issued", "sum of pool_shares",
                         lambda: int(self.backend.sum_int64(self.state.pool_shares)), "shares issued",
                         lambda: self.shares),
                Identity("pool: equity units held = units bought on the market", "the pool's units",
                         lambda: self.units, "units issued to it", lambda: self.market.issued_to.get("pool", 0))]

    # -- inside the market's and the economy's period start -------------------------------------
    def subscribe(self, order: np.ndarray) -> int:
        """Divert ``pool_share`` of the households' buy orders into pool shares; returns the money
        paid in."""
        st = self.state
        paid, issued = self.backend.subscribe_pool(st.balance[:self.H], order, st.pool_shares, self.cfg.pool_share,
                                                   self.nav())
        self.state.institutions[self.index] += int(paid)
        self.shares += int(issued)
        self.interval["pool_subscriptions"] += int(paid)
        return int(paid)

    def profit_share(self, profit: np.ndarray) -> np.ndarray:
        """Each firm's profit share due to the pool, ``floor(profit_f c_f / (c_f + E_f))``; the caller
        takes it from the firms, this credits the pool and pays its holders."""
        if not self.claims.any():
            return np.zeros(self.F, np.int64)
        equity = self.market.price * self.market.all_units * self.economy.weights
        part = np.where(self.claims > 0, self.claims / (self.claims + equity), 0.0)
        due = np.floor(np.maximum(profit, 0) * part).astype(np.int64)
        total = int(due.sum())
        self.claims *= self.keep
        if total:
            self.state.institutions[self.index] += total
            self.interval["pool_income"] += total
            self._distribute(total)
        return due

    def take_dividend(self, pool: int, total: int) -> int:
        """The pool's share of a dividend pool, ``floor(pool x units / total)``, paid on to its
        shareholders."""
        if pool <= 0 or self.units <= 0 or total <= 0:
            return 0
        part = pool * self.units // total
        self.state.institutions[self.index] += part
        self.interval["pool_income"] += part
        self._distribute(part)
        return part

    def on_period_start(self, tick: int) -> None:
        """The money the contracts did not take buys equity index units."""
        if tick < self.burn_in or self.market.price <= 0:
            return
        idle = self.money
        if idle > 0:
            units, cost = self.market.sell_to_holder("pool", idle)
            self.units += units
            self.state.institutions[self.index] -= cost

    def _distribute(self, income: int) -> None:
        if self.shares <= 0:
            return
        st = self.state
        paid = int(self.backend.pay_pool_income(st.balance[:self.H], st.pool_shares, np.float64(income),
                                                SHARE_MARGIN / self.shares))
        self.state.institutions[self.index] -= paid

    def finance(self, short: np.ndarray) -> np.ndarray:
        """Fund ``finance_mix`` of the firms' investment shortfall from the pool's money (pro rata
        when it cannot fund all); returns what each firm receives (the caller credits the firms)."""
        want = np.floor(self.cfg.finance_mix * short).astype(np.int64)
        need = int(want.sum())
        have = self.money
        if need <= 0 or have <= 0:
            return np.zeros(self.F, np.int64)
        if need > have:
            want = np.floor(want * (have * SHARE_MARGIN / need)).astype(np.int64)
        total = int(want.sum())
        self.state.institutions[self.index] -= total
        self.claims += want
        self.interval["pool_financing"] += total
        return want

    # -- outputs -------------------------------------------------------------------------------
    def holdings(self, out: np.ndarray) -> bool:
        """Pool shares at the NAV."""
        self.backend.add_holdings(out, self.state.pool_shares, self.state.pool_shares[:0], self.nav())
        return True

    def sample(self) -> dict[str, float]:
        contracts = float(self.claims.sum())
        value = self.money + self.units * self.market.price + contracts
        out = {"pool_value": int(value), "pool_contracts": int(contracts),
               "pool_units": self.units / 1_000_000, **self.interval}
        self.interval = {k: 0 for k in self.interval}
        return out
