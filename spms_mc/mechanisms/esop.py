"""Worker ownership through employee stock ownership plans, the "equity" model of the predistribution
essay (docs/model.md section 6; the essay's "3. Worker Ownership Models": "Incentivize or mandate
structures like ESOPs so workers accumulate ownership, not only wages ... If workers are replaced,
they exit with capital assets instead of only severance", docs/sources.md).

From the reforms' start (the reported run's start, or ``reform.start_year``) every employer takes
part in a plan (:mod:`spms_mc_kernels.esop`):

* **Contributions.** At the end of each plan year the firm sector issues new units of the equity
  index worth ``payroll_share`` of each participant's wages of the year, at the market price, into
  the participant's plan account (``floor(share x w / P)``): issuance, so they dilute the other
  holders (the plan is a holder of the market beside the households, the fund and the pool).
* **Vesting.** ``vesting = "cliff"``: everything vests after ``cliff_years`` of service;
  ``"graded"``: ``graded_rate`` of the account a year from ``graded_start_years`` (ERISA's six-year
  graded schedule: 20 % a year from year 2). Service counts from the plan's start or the latest
  hire; a re-hired worker starts a new spell.
* **Separation.** A participant who stops working (displaced by automation) takes its vested units
  into its own equity ("exit with capital assets") and keeps their dividends; its unvested units
  are forfeited to the plan and re-allocated at the next year's end to the participants in service,
  pro rata to their wages.
* **Dividends** on the plan's units are passed through to the participants pro rata to their plan
  accounts (``floor``; what the floors leave goes to the rounding sink).

Vested plan units count in net wealth at the market price; unvested ones do not (they are
contingent on service). Identity: the units in plan accounts + the forfeited units not yet
re-allocated = units issued to the plan - units handed to leavers. This module owns ``[esop]``, the
arrays ``esop_units``, ``esop_wages`` and ``hired`` and its outputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import esop as kernels
from spms_mc_kernels.economy import SHARE_MARGIN
from spms_mc_kernels.esop import PPM

from ..core.config import Bool, Choice, Float, Int, ScenarioError, key
from ..core.registry import Identity, Mechanism, Output
from ..core.state import SINK
from .reform import reform_level, reform_start


@dataclass(frozen=True, slots=True, kw_only=True)
class EsopConfig:
    """Employee stock ownership plans (docs/model.md section 6)."""

    enabled: bool = key(False, Bool, "employee stock ownership plans (needs wealth.enabled)")
    payroll_share: float = key(0.05, Float(0, 1), "new units worth this share of each participant's wages of a "
                                                  "year, contributed at the year's end")
    vesting: str = key("graded", Choice("cliff", "graded"), "vesting schedule: all after a cliff, or graded")
    cliff_years: int = key(3, Int(0, 100), "cliff: years of service after which everything vests")
    graded_rate: float = key(0.2, Float(0, 1, lo_open=True), "graded: share of the account vesting each year")
    graded_start_years: int = key(2, Int(0, 100), "graded: years of service at which the first part vests")


def check_esop(sc) -> None:
    e = sc.esop
    if not e.enabled:
        return
    if not sc.wealth.enabled:
        raise ScenarioError("esop.enabled needs wealth.enabled = true (plan accounts hold units of its equity index)")
    if e.vesting == "graded" and abs(e.graded_rate * PPM - round(e.graded_rate * PPM)) > 1e-6:
        raise ScenarioError(f"esop.graded_rate = {e.graded_rate} is not a whole number of millionths (vesting "
                            f"fractions are exact in millionths); accepted: multiples of 1e-6 in (0, 1]")


def vesting_params(e: EsopConfig) -> tuple[int, int]:
    """(years at which vesting begins, graded rate in millionths; 0 for a cliff)."""
    if e.vesting == "cliff":
        return e.cliff_years, 0
    return e.graded_start_years, round(e.graded_rate * PPM)


class WorkerOwnership(Mechanism):
    """Employee stock ownership plans: contributions, vesting, forfeiture and exit with capital."""

    name = "esop"
    order = 49
    sections = {"esop": EsopConfig}
    unsweepable = ("esop.enabled", "esop.vesting")
    arrays = {"esop_units": "equity index units allocated to the household in its employer's ESOP",
              "esop_wages": "wages paid to the household in the current ESOP plan year",
              "hired": "tick the household's current spell of service began (-1: not working)"}
    outputs = {
        "esop_units_held": Output("shares", "shares of the equity index in ESOP accounts, vested or not, with the "
                                            "forfeited shares not yet re-allocated"),
        "esop_units_issued": Output("shares", "shares issued to the ESOPs during the interval"),
        "esop_units_vested_out": Output("shares", "vested shares leavers took into their own equity during the "
                                                  "interval"),
        "esop_units_forfeited": Output("shares", "unvested shares forfeited by leavers during the interval"),
        "esop_share_of_units": Output("1", "the ESOPs' share of all equity units"),
        "esop_dividends": Output("currency units", "dividends passed through to ESOP participants during the "
                                                   "interval"),
        "esop_participants": Output("1", "households in service (with an ESOP account)"),
    }
    cpu_kernels = {name: getattr(kernels, name) for name in ("esop_service", "esop_wage_total", "esop_contribute",
                                                             "add_vested_value")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_esop(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        return (8 + 8 + 4) * sc.population.households / max(sc.n_accounts, 1)

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        H = sc.population.households
        state.add_array("esop_units", np.zeros(H, np.int64))
        state.add_array("esop_wages", np.zeros(H, np.int64))
        state.add_array("hired", np.full(H, -1, np.int32))

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["esop.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        self.cfg = sc.esop
        self.H = self.state.n_households
        self.tpy = sc.economy.ticks_per_year
        self.burn_in = sc.run.burn_in
        self.start_years, self.rate_ppm = vesting_params(self.cfg)
        self.issued = 0  # units issued to the plan
        self.handed = 0  # vested units handed to leavers
        self.forfeit_pool = 0  # forfeited units not yet re-allocated
        self.tick = 0
        self.interval = {"esop_units_issued": 0, "esop_units_vested_out": 0, "esop_units_forfeited": 0,
                         "esop_dividends": 0}
        self.economy = self.market = self.reform = None

    def bind(self, others) -> None:
        self.economy, self.market = others["economy"], others["wealth"]
        self.reform = others.get("reform")
        self.market.holders.append(self)

    @property
    def units(self) -> int:
        """Units the plan holds (allocated and forfeited): the market's holder count."""
        return self.issued - self.handed

    def identities(self) -> list[Identity]:
        return [Identity("esop: units in plan accounts + forfeited units = issued - handed to leavers",
                         "sum of esop_units + forfeited", lambda: int(self.backend.sum_int64(self.state.esop_units))
                         + self.forfeit_pool, "issued - handed to leavers", lambda: self.units)]

    def take_dividend(self, pool: int, total: int) -> int:
        """The plan's share of a dividend pool, ``floor(pool x units / total)``, passed through to the
        participants pro rata to their accounts."""
        units = self.units
        if pool <= 0 or units <= 0 or total <= 0:
            return 0
        part = pool * units // total
        st = self.state
        allocated = int(self.backend.sum_int64(st.esop_units))
        paid = 0
        if allocated > 0:
            paid = int(self.backend.pay_pool_income(st.balance[:self.H], st.esop_units, np.float64(part),
                                                    SHARE_MARGIN / allocated))
        st.institutions[SINK] += part - paid
        self.interval["esop_dividends"] += paid
        return part

    def on_period_start(self, tick: int) -> None:
        self.tick = tick
        start = reform_start(self.reform, self.burn_in)
        level = reform_level(self.reform, tick, self.burn_in)
        if tick < start or level == 0.0:
            return
        st, eco = self.state, self.economy
        wage_bill, weight_sum = eco.period_wages
        if (tick - start) % self.tpy == 0 and tick > start:  # a plan year's end, before this period's service
            self._contribute(level)
        handed, forfeited, _, _ = self.backend.esop_service(
            st.equity, st.esop_units, st.esop_wages, st.hired, st.kind, st.employer, eco.skill_weight,
            eco.displacement, eco.firm_factor, eco.skey_displacement, wage_bill, weight_sum, np.int64(tick),
            np.int64(self.tpy), np.int64(self.start_years), np.int64(self.rate_ppm))
        self.handed += int(handed)
        self.forfeit_pool += int(forfeited)
        self.market.receive("esop", int(handed))
        self.interval["esop_units_vested_out"] += int(handed)
        self.interval["esop_units_forfeited"] += int(forfeited)

    def _contribute(self, level: float) -> None:
        st, price = self.state, self.market.price
        if price <= 0:
            return
        wages = int(self.backend.esop_wage_total(st.esop_wages, st.hired))
        inv = SHARE_MARGIN / wages if wages > 0 else 0.0
        issued, reallocated = self.backend.esop_contribute(st.esop_units, st.esop_wages, st.hired,
                                                           self.cfg.payroll_share * level, price,
                                                           np.float64(self.forfeit_pool), inv)
        self.issued += int(issued)
        self.forfeit_pool -= int(reallocated)
        self.interval["esop_units_issued"] += int(issued)

    # -- outputs -------------------------------------------------------------------------------
    def holdings(self, out: np.ndarray) -> bool:
        """Vested plan units at the market price."""
        st = self.state
        self.backend.add_vested_value(out, st.esop_units, st.hired, np.int64(self.tick), np.int64(self.tpy),
                                      np.int64(self.start_years), np.int64(self.rate_ppm), self.market.price)
        return True

    def sample(self) -> dict[str, float]:
        total = self.market.all_units
        out = {"esop_units_held": self.units / 1_000_000,
               "esop_share_of_units": self.units / total if total else float("nan"),
               "esop_participants": float(int((self.state.hired >= 0).sum())),
               **{k: (v / 1_000_000 if k.startswith("esop_units") else v) for k, v in self.interval.items()}}
        self.interval = dict.fromkeys(self.interval, 0)
        return out
