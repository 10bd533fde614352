"""Scenarios: TOML files validated into frozen objects, built-in presets, dotted-key overrides.

A scenario is a TOML document with the tables ``[run]``, ``[population]``, ``[sumsy]``,
``[governance]``, ``[exchange]`` and an array ``[[events]]``; top-level ``name``, ``description`` and
``extends`` (a built-in preset or a path to start from). Every key has a type, a default, an
accepted range and a description (the README's key table is generated from them and a test keeps
it in sync). Any bad input - an unknown key, a wrong type, an impossible value, a population that
will not fit in memory - raises :class:`ScenarioError` naming the key and what is accepted, before
any work starts. Amounts are in currency units here and become int64 minor units in the engine.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

INT64_MAX = 2**63 - 1


class ScenarioError(ValueError):
    """A scenario key has a value that is not accepted; the message names key and accepted values."""


# --------------------------------------------------------------------------------------------
# key specifications
# --------------------------------------------------------------------------------------------
def _typename(v: Any) -> str:
    return type(v).__name__


def _number(key, v, *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        want = "an integer" if integer else "a number"
        raise ScenarioError(f"{key} must be {want}, got {_typename(v)} {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ScenarioError(f"{key} must be finite, got {v!r}")
    lo_bad = lo is not None and (v <= lo if lo_open else v < lo)
    hi_bad = hi is not None and (v >= hi if hi_open else v > hi)
    if lo_bad or hi_bad:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        rng = f"{lb}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{rb}"
        raise ScenarioError(f"{key} = {v!r} is out of range; accepted: {rng}")
    return v if integer else float(v)


def Int(lo=None, hi=None):
    return lambda key, v: _number(key, v, lo=lo, hi=hi, integer=True)


def Float(lo=None, hi=None, lo_open=False, hi_open=False):
    return lambda key, v: _number(key, v, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def Choice(*values):
    def check(key, v):
        if not isinstance(v, str) or v not in values:
            raise ScenarioError(f"{key} = {v!r} is not accepted; accepted values: {', '.join(values)}")
        return v

    return check


def Bool(key, v):
    if not isinstance(v, bool):
        raise ScenarioError(f"{key} must be true or false, got {_typename(v)} {v!r}")
    return v


def Str(key, v):
    if not isinstance(v, str):
        raise ScenarioError(f"{key} must be a string, got {_typename(v)} {v!r}")
    return v


def IntList(lo=0):
    def check(key, v):
        if not isinstance(v, (list, tuple)):
            raise ScenarioError(f"{key} must be a list of integers, got {_typename(v)} {v!r}")
        return tuple(_number(f"{key}[{i}]", x, lo=lo, integer=True) for i, x in enumerate(v))

    return check


def _pairs(key, v, what):
    if not isinstance(v, (list, tuple)):
        raise ScenarioError(f"{key} must be a list of {what}, got {_typename(v)} {v!r}")
    for i, row in enumerate(v):
        if not isinstance(row, (list, tuple)):
            raise ScenarioError(f"{key}[{i}] must be a list {what}, got {_typename(row)} {row!r}")
    return v


def Tiers(key, v):
    rows = _pairs(key, v, "[lower_bound, rate] pairs")
    out = []
    for i, row in enumerate(rows):
        if len(row) != 2:
            raise ScenarioError(f"{key}[{i}] must be [lower_bound, rate], got {row!r}")
        lower = _number(f"{key}[{i}][0] (lower bound)", row[0], lo=0)
        rate = _number(f"{key}[{i}][1] (rate)", row[1], lo=0, hi=1, hi_open=True)
        if i == 0 and lower != 0:
            raise ScenarioError(f"{key}[0] lower bound must be 0 (the first bracket starts at 0), got {lower}")
        if i > 0 and lower <= out[-1][0]:
            raise ScenarioError(f"{key} lower bounds must increase strictly; bracket {i} starts at {lower}")
        out.append((lower, rate))
    return tuple(out)


def Loans(key, v):
    rows = _pairs(key, v, "[lender, borrower, amount] or [lender, borrower, amount, from_tick, until_tick]")
    out = []
    for i, row in enumerate(rows):
        if len(row) not in (3, 5):
            raise ScenarioError(f"{key}[{i}] must be [lender, borrower, amount] or "
                                f"[lender, borrower, amount, from_tick, until_tick], got {row!r}")
        lender = _number(f"{key}[{i}][0] (lender)", row[0], lo=0, integer=True)
        borrower = _number(f"{key}[{i}][1] (borrower)", row[1], lo=0, integer=True)
        amount = _number(f"{key}[{i}][2] (amount)", row[2], lo=0)
        start, until = 0, INT64_MAX
        if len(row) == 5:
            start = _number(f"{key}[{i}][3] (from_tick)", row[3], lo=0, integer=True)
            until = _number(f"{key}[{i}][4] (until_tick)", row[4], lo=start + 1, integer=True)
        if lender == borrower:
            raise ScenarioError(f"{key}[{i}]: an account cannot lend its buffer to itself")
        out.append((lender, borrower, amount, start, until))
    return tuple(out)


def key(default, check, doc, factory=None):
    """A scenario key: default value, validator and one-line description."""
    if factory is not None:
        return field(default_factory=factory, metadata={"check": check, "doc": doc})
    return field(default=default, metadata={"check": check, "doc": doc})


# --------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    ticks: int = key(3600, Int(1, 10**9), "ticks to simulate (one tick = one day)")
    period: int = key(30, Int(1, 10**6), "ticks per accounting period (GI and demurrage act at its start)")
    sample_every: int = key(0, Int(0), "ticks between samples of the outputs; 0 = one period")
    backend: str = key("cpu", Choice("cpu", "cuda"), "where kernels run: cpu (numba, parallel) or cuda (an NVIDIA GPU)")
    minor_units: int = key(100, Int(1, 10**9), "minor units per currency unit (money is int64 in minor units)")
    check_ledger: str = key("period", Choice("tick", "period", "off"),
                            "how often the exact stock-flow identity is checked")
    track: tuple = key(None, IntList(0), "account indices whose balances are recorded (households first, then firms)",
                       factory=tuple)
    lorenz_points: int = key(101, Int(2, 10001), "points of the population-share grid for Lorenz curves")
    snapshot_ticks: tuple = key(None, IntList(0), "ticks at which every account's balance is stored (variable `balances`)",
                                factory=tuple)
    lock_in_threshold: float = key(0.40, Float(0, 1, lo_open=True),
                                   "top-1 % share whose first crossing is reported as `top1_cross_tick`")


@dataclass(frozen=True, slots=True, kw_only=True)
class PopulationConfig:
    households: int = key(10_000, Int(1, 10**12), "household accounts")
    firms: int = key(0, Int(0, 10**12), "firm / legal-entity accounts: pay demurrage, no GI, no buffer, no exchange")
    eligible_share: float = key(1.0, Float(0, 1), "share of households eligible for GI (the first ones by index)")
    active_share: float = key(1.0, Float(0, 1), "share of households taking part in exchange (a random subset)")
    initial_balance: float = key(0.0, Float(0), "mean starting balance of a household, currency units")
    initial_distribution: str = key("equal", Choice("equal", "exponential"),
                                    "starting balances: all equal, or exponential with that mean")


@dataclass(frozen=True, slots=True, kw_only=True)
class SumsyConfig:
    enabled: bool = key(True, Bool, "guaranteed income + demurrage on (false: money only moves)")
    guaranteed_income: float = key(2000.0, Float(0), "GI per eligible account per period, currency units")
    demurrage: float = key(0.01, Float(0, 1, hi_open=True), "demurrage rate per period, 0 <= d < 1")
    demurrage_free_buffer: float = key(0.0, Float(0), "demurrage-free buffer of each eligible account, currency units")
    tiers: tuple = key(None, Tiers, "tiered demurrage [[lower_bound, rate], ...] from 0 up; replaces the flat rate",
                       factory=tuple)
    demurrage_base: str = key("average", Choice("average", "end"),
                              "demurrage on the period's time-weighted average balance or on the end balance")
    mode: str = key("period", Choice("period", "transactional"),
                    "period: GI and demurrage at period starts; transactional: accrued pro rata when touched")
    buffer_loans: tuple = key(None, Loans, "buffer lending [[lender, borrower, amount(, from_tick, until_tick)], "
                              "...]: the lender can retract it at until_tick; amounts in currency units",
                              factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernanceConfig:
    funding: str = key("none", Choice("none", "demurrage", "fixed_rate", "on_demand"),
                       "none; demurrage (collected demurrage funds governance, surplus destroyed); "
                       "fixed_rate (tax `rate` on balances); on_demand (up to `rate` of each balance, only what `budget` needs)")
    budget: float = key(0.0, Float(0), "governance spending per period, currency units, paid equally to eligible households")
    rate: float = key(0.0, Float(0, 1, hi_open=True), "fixed_rate: tax rate per period; on_demand: upper bound g")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeConfig:
    rule: str = key("none", Choice("none", "random_fraction", "saving_propensity", "yard_sale"),
                    "exchange rule between active households each tick")
    fraction: float = key(0.1, Float(0, 1, lo_open=True),
                          "random_fraction: largest share of its balance an account pays; yard_sale: stake share")
    saving_propensity: float = key(0.0, Float(0, 1, hi_open=True), "saving_propensity: lambda, the share each party keeps")
    chi: float = key(0.0, Float(0, 1), "yard_sale: redistribution toward the mean per tick")
    zeta: float = key(0.0, Float(0), "yard_sale: wealth-attained advantage of the richer party")


@dataclass(frozen=True, slots=True, kw_only=True)
class EventConfig:
    kind: str = key("injection", Choice("injection", "loss"), "injection creates money; loss destroys a share of balances")
    tick: int = key(0, Int(0), "first tick of the event (after that tick's period start)")
    every: int = key(0, Int(0), "repeat every this many ticks; 0 = once")
    target: str = key("all", Choice("all", "households", "firms", "one"), "accounts the event applies to")
    account: int = key(0, Int(0), "the account when target = one")
    share: float = key(1.0, Float(0, 1, lo_open=True), "random share of the target accounts hit (the same ones each time)")
    amount: float = key(0.0, Float(0), "injection: amount per account, currency units")
    fraction: float = key(0.0, Float(0, 1), "loss: share of each balance destroyed")


@dataclass(frozen=True, slots=True, kw_only=True)
class PKConfig:
    """Kuypers, Goorden & Delepierre (2021), JRFM 14, 335: two-sector post-Keynesian endogenous money."""

    enabled: bool = key(False, Bool, "the published two-sector bank-credit model (one cycle = one period)")
    initial_money: float = key(1_000_000.0, Float(0, lo_open=True), "money (= debt) at the start, currency units")
    maturity: int = key(10, Int(1, 10_000), "loan maturity m in cycles, repaid in equal principal instalments")
    retained_profit: float = key(0.02, Float(0, 1), "net retained bank profit p per cycle, a share of outstanding debt")
    mode: str = key("growth", Choice("growth", "loan_ratio"),
                    "growth: lend so money grows at `growth`; loan_ratio: lend `loan_ratio` of what is left")
    growth: float = key(0.03, Float(-1, 10, lo_open=True), "growth mode: money growth rate g per cycle")
    loan_ratio: float = key(0.1, Float(0, 10), "loan_ratio mode: new loans as a share LR of money after payments")


@dataclass(frozen=True, slots=True, kw_only=True)
class EconomyConfig:
    """The production economy with AI automation (MODEL.md section 3)."""

    enabled: bool = key(False, Bool, "the production economy: firms, wages, profits, consumption, AI automation")
    ai_complementary_share: float = key(0.2, Float(0, 1), "share of households that are AI-complementary workers")
    unemployed_share: float = key(0.05, Float(0, 1), "share of households without work at the start")
    skill_premium: float = key(2.0, Float(0.1, 100),
                               "wage weight of an AI-complementary worker relative to a routine one (in tenths)")
    consumption_income: float = key(0.6, Float(0, 1), "a1: share of last period's disposable income spent per period")
    consumption_wealth: float = key(0.4, Float(0, 1, lo_open=True),
                                    "a2: share of the balance held before the income spent per period")
    subsistence: float = key(0.0, Float(0), "least a household spends per period, currency units (borrowed "
                             "with bank credit when it lacks the money)")
    firm_size_exponent: float = key(1.0, Float(0, 5), "firm sizes follow (rank)^-exponent (1: Zipf, Axtell 2001)")
    retention: float = key(0.0, Float(0, 1), "share of profit firms keep instead of paying dividends")
    investment: float = key(0.0, Float(0, 1), "share of last period's revenue each firm spends on other firms' goods")
    labour_share_start: float = key(0.54, Float(0, 1), "labour share of firm revenue before automation, l0")
    labour_share_end: float = key(0.40, Float(0, 1), "labour share after automation, l_inf")
    automation: bool = key(True, Bool, "labour share and routine employment follow the logistic automation path")
    automation_start_year: float = key(0.0, Float(0), "year the automation path starts")
    automation_years: float = key(20.0, Float(0, lo_open=True), "years the logistic path takes from l0 to l_inf")
    automation_steepness: float = key(10.0, Float(0, lo_open=True), "steepness k of the logistic path (per path length)")
    routine_displacement: float = key(0.3, Float(0, 1), "share of routine workers displaced at full automation")
    ai_output_growth: float = key(0.02, Float(-0.5, 1), "real output growth per year from AI capital, g_AI")
    ticks_per_year: int = key(360, Int(1, 10**6), "ticks per year (automation path, growth, discounting)")
    discount_rate: float = key(0.05, Float(0, 1, lo_open=True), "yearly rate at which dividends are capitalised")
    equity_distribution: str = key("pareto", Choice("pareto", "equal"),
                                   "equity index units across households: Pareto calibrated to the top-1 % target, "
                                   "or equal")
    initial_top1_wealth_share: float = key(0.32, Float(0.01, 1, lo_open=True, hi_open=True),
                                           "pareto: top-1 % share of net wealth at the start (US today: about 0.32)")


@dataclass(frozen=True, slots=True, kw_only=True)
class GovernmentConfig:
    """Government money as in Godley & Lavoie's model SIM: spending creates it, taxes destroy it."""

    enabled: bool = key(False, Bool, "government spending on firms and an income tax (needs economy.enabled)")
    spending: float = key(0.0, Float(0), "G: spending per period on firms (by size), currency units")
    income_tax: float = key(0.0, Float(0, 1, hi_open=True), "theta: tax withheld from wages and dividends")


@dataclass(frozen=True, slots=True, kw_only=True)
class BankConfig:
    """Bank-credit money (MODEL.md section 4): banks lend to spenders short of money."""

    enabled: bool = key(False, Bool, "bank credit: spending beyond a balance is borrowed, creating deposits")
    interest: float = key(0.004, Float(0, 1), "interest rate per period on loans outstanding")
    maturity: int = key(60, Int(1, 10**6), "periods over which principal is amortised (instalment ceil(L/m))")
    capital_ratio: float = key(0.08, Float(0, 1, lo_open=True),
                               "the bank lends only while capital >= capital_ratio x loans (Basel-style)")
    initial_capital: float = key(1_000_000.0, Float(0), "bank capital at the start, currency units")
    payout: float = key(0.5, Float(0, 1), "share of a period's positive bank profit paid to its shareholders")
    household_credit_limit: float = key(20_000.0, Float(0),
                                        "largest loan a household can refinance into; beyond it, it defaults")
    firm_credit_limit: float = key(10_000_000.0, Float(0), "largest loan a firm can refinance into")
    replay: str = key("none", Choice("none", "sumsy"),
                      "sumsy: replay the exchange of the SuMSy run with the same seed, shortfalls topped up "
                      "by loans (the SuMSy paper's comparison run)")
    shareholder_share: float = key(0.01, Float(0, 1, lo_open=True),
                                   "replay: share of households owning the bank (with the economy: equity holders)")
    report_sumsy: bool = key(False, Bool, "replay: also report the SuMSy run's money and distribution as sumsy_*")


SECTIONS = {
    "run": RunConfig,
    "population": PopulationConfig,
    "sumsy": SumsyConfig,
    "governance": GovernanceConfig,
    "exchange": ExchangeConfig,
    "pk": PKConfig,
    "economy": EconomyConfig,
    "government": GovernmentConfig,
    "bank": BankConfig,
}
META_KEYS = ("name", "description", "extends")


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A validated, immutable scenario. Build with :func:`load_scenario`."""

    name: str = "custom"
    description: str = ""
    run: RunConfig = field(default_factory=RunConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    sumsy: SumsyConfig = field(default_factory=SumsyConfig)
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    exchange: ExchangeConfig = field(default_factory=ExchangeConfig)
    pk: PKConfig = field(default_factory=PKConfig)
    economy: EconomyConfig = field(default_factory=EconomyConfig)
    government: GovernmentConfig = field(default_factory=GovernmentConfig)
    bank: BankConfig = field(default_factory=BankConfig)
    events: tuple = ()
    sweep: tuple = ()  # ((dotted key, (value, ...)), ...): a cartesian grid, one output dim per key

    # -- derived values used by the engine ------------------------------------------------
    @property
    def sample_every(self) -> int:
        return self.run.sample_every or self.run.period

    @property
    def n_accounts(self) -> int:
        return self.population.households + self.population.firms

    @property
    def n_eligible(self) -> int:
        return round(self.population.eligible_share * self.population.households)

    @property
    def n_active(self) -> int:
        return round(self.population.active_share * self.population.households)

    def minor(self, amount: float) -> int:
        """Currency units to int64 minor units (rounded to the nearest minor unit)."""
        return int(round(amount * self.run.minor_units))

    # -- conversion -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fully resolved scenario as plain TOML-able data."""
        out = {"name": self.name, "description": self.description}
        for sec in SECTIONS:
            out[sec] = {f.name: _plain(getattr(getattr(self, sec), f.name))
                        for f in dataclasses.fields(SECTIONS[sec])}
        out["sumsy"]["buffer_loans"] = _plain_loans(self.sumsy.buffer_loans)
        out["events"] = [{f.name: getattr(e, f.name) for f in dataclasses.fields(EventConfig)} for e in self.events]
        if self.sweep:
            out["sweep"] = {k: list(v) for k, v in self.sweep}
        return out

    @property
    def grid_shape(self) -> tuple[int, ...]:
        return tuple(len(v) for _, v in self.sweep)

    def at(self, position: tuple[int, ...]) -> "Scenario":
        """The scenario at one point of the sweep grid (without the sweep)."""
        over = {k: vals[i] for (k, vals), i in zip(self.sweep, position)}
        return dataclasses.replace(self, sweep=()).with_overrides(over)

    def grid(self) -> list[tuple[tuple[int, ...], "Scenario"]]:
        """Every point of the sweep grid, in C order, with its scenario."""
        import itertools

        return [(pos, self.at(pos)) for pos in itertools.product(*(range(n) for n in self.grid_shape))]

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def with_overrides(self, overrides: dict[str, Any]) -> "Scenario":
        """A new scenario with dotted keys replaced, e.g. ``{"sumsy.demurrage": 0.02}``.

        ``events`` is replaced as a whole (a list of tables). The result is validated again.
        """
        data = self.to_dict()
        for dotted, value in overrides.items():
            if dotted == "sweep" or dotted.startswith("sweep."):
                sweep = data.setdefault("sweep", {})
                if dotted == "sweep":
                    data["sweep"] = value
                else:
                    sweep[dotted[len("sweep."):]] = value
                continue
            _set_dotted(data, dotted, value)
        return scenario_from_dict(data)


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _plain_loans(loans):
    """Loans written back in their short form when they run for the whole run."""
    return [[a, b, m] if (s, u) == (0, INT64_MAX) else [a, b, m, s, u] for a, b, m, s, u in loans]


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    if len(parts) == 1:
        if parts[0] not in META_KEYS + ("events",) or parts[0] == "extends":
            raise ScenarioError(f"unknown key {dotted!r}; keys are section.name, e.g. sumsy.demurrage "
                                f"(sections: {', '.join(SECTIONS)}), or name, description, events")
        data[parts[0]] = value
        return
    if len(parts) != 2 or parts[0] not in SECTIONS:
        raise ScenarioError(f"unknown key {dotted!r}; sections: {', '.join(SECTIONS)}, events")
    sec, name = parts
    names = [f.name for f in dataclasses.fields(SECTIONS[sec])]
    if name not in names:
        raise ScenarioError(_unknown(f"{sec}.{name}", name, names, sec))
    data.setdefault(sec, {})[name] = value


def _unknown(full, name, names, sec):
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {sec}.{close[0]}?" if close else ""
    return f"unknown key {full!r}{hint} accepted keys in [{sec}]: {', '.join(names)}"


def _section(cls, sec: str, raw: Any):
    if not isinstance(raw, dict):
        raise ScenarioError(f"[{sec}] must be a table, got {_typename(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for name, v in raw.items():
        if name not in fields:
            raise ScenarioError(_unknown(f"{sec}.{name}", name, list(fields), sec))
        values[name] = fields[name].metadata["check"](f"{sec}.{name}", v)
    return cls(**values)


def scenario_from_dict(data: dict) -> Scenario:
    """Validate a scenario given as nested data (the parsed TOML)."""
    if not isinstance(data, dict):
        raise ScenarioError(f"a scenario must be a table, got {_typename(data)}")
    data = dict(data)
    base = data.pop("extends", None)
    if base is not None:
        data = _merge(_raw_scenario(Str("extends", base), 1), data)
    for k in data:
        if k not in SECTIONS and k not in META_KEYS + ("events", "sweep"):
            close = difflib.get_close_matches(k, list(SECTIONS) + ["events"], n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ScenarioError(f"unknown table or key {k!r}{hint} accepted: "
                                f"{', '.join(list(SECTIONS) + ['events', 'name', 'description', 'extends'])}")
    sections = {sec: _section(cls, sec, data.get(sec, {})) for sec, cls in SECTIONS.items()}
    events_raw = data.get("events", [])
    if not isinstance(events_raw, list):
        raise ScenarioError(f"events must be a list of tables ([[events]]), got {_typename(events_raw)}")
    events = tuple(_section(EventConfig, f"events[{i}]", e) for i, e in enumerate(events_raw))
    sc = Scenario(name=Str("name", data.get("name", "custom")),
                  description=Str("description", data.get("description", "")),
                  events=events, **sections)
    _check_cross(sc)
    sweep = _sweep(sc, data.get("sweep", {}))
    return dataclasses.replace(sc, sweep=sweep) if sweep else sc


# keys whose values change the shape of the output cannot be swept within one store
UNSWEEPABLE = ("run.ticks", "run.period", "run.sample_every", "run.track", "run.lorenz_points",
               "run.snapshot_ticks", "run.backend", "run.minor_units", "sumsy.enabled", "governance.funding",
               "pk.enabled", "economy.enabled", "government.enabled", "bank.enabled", "bank.replay",
               "bank.report_sumsy")
MAX_GRID = 100_000


def _sweep(sc: Scenario, raw: Any) -> tuple:
    """Validate a [sweep] table: {dotted key: [values]}; every grid point is validated too."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"[sweep] must be a table of dotted keys to lists, got {_typename(raw)}")
    out = []
    for k, values in raw.items():
        where = f"sweep.{k}"
        if k in UNSWEEPABLE or k.startswith("events") or "." not in k:
            raise ScenarioError(f"{where}: {k!r} cannot be swept within one store (it changes the output's "
                                f"shape or is not a section key); not sweepable: {', '.join(UNSWEEPABLE)}, events")
        if (k.startswith("population.") and sc.run.snapshot_ticks):
            raise ScenarioError(f"{where}: the population size cannot be swept with run.snapshot_ticks")
        if not isinstance(values, (list, tuple)) or not values:
            raise ScenarioError(f"{where} must be a non-empty list of values, got {values!r}")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise ScenarioError(f"{where} has repeated values: {values!r}")
        for v in values:
            try:
                sc.with_overrides({k: v})
            except ScenarioError as exc:
                raise ScenarioError(f"in [sweep]: {exc}") from None
        out.append((k, tuple(values)))
    if math.prod(len(v) for _, v in out) > MAX_GRID:
        raise ScenarioError(f"[sweep] grid has more than {MAX_GRID} points")
    if len(out) > 1:  # combinations can be invalid although each value is fine on its own
        import itertools

        for combo in itertools.product(*(v for _, v in out)):
            sc.with_overrides(dict(zip((k for k, _ in out), combo)))
    return tuple(out)


def parse_sweeps(items) -> dict:
    """``--sweep KEY=V1,V2,...`` (or ``KEY=[v1, v2]`` as a TOML array) -> {key: [values]}."""
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ScenarioError(f"--sweep {item!r}: expected KEY=V1,V2,..., e.g. sumsy.demurrage=0.01,0.02")
        k, text = (x.strip() for x in item.split("=", 1))
        values = parse_value(text) if text.startswith("[") else [parse_value(t.strip()) for t in text.split(",")]
        if not isinstance(values, list):
            raise ScenarioError(f"--sweep {item!r}: expected a list of values")
        out[f"sweep.{k}"] = values
    return out


def _merge(parent: dict, child: dict) -> dict:
    out = dict(parent)
    for k, v in child.items():
        if k in SECTIONS and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _check_cross(sc: Scenario) -> None:
    """Checks that involve more than one key."""
    r, p, s, g, x = sc.run, sc.population, sc.sumsy, sc.governance, sc.exchange
    n = sc.n_accounts
    if r.sample_every > r.ticks:
        raise ScenarioError(f"run.sample_every = {r.sample_every} exceeds run.ticks = {r.ticks}")
    for i, a in enumerate(r.track):
        if a >= n:
            raise ScenarioError(f"run.track[{i}] = {a} is not an account; accepted: 0 .. {n - 1} "
                                f"(households 0..{p.households - 1}, then firms)")
    for i, t in enumerate(r.snapshot_ticks):
        if t > r.ticks:
            raise ScenarioError(f"run.snapshot_ticks[{i}] = {t} is after the run; accepted: 0 .. {r.ticks}")
    if len(set(r.snapshot_ticks)) != len(r.snapshot_ticks):
        raise ScenarioError(f"run.snapshot_ticks has repeated ticks: {list(r.snapshot_ticks)}")
    if x.rule != "none" and sc.n_active < 2:
        raise ScenarioError(f"exchange.rule = {x.rule!r} needs at least 2 active households; "
                            f"population.households * population.active_share = {sc.n_active}")
    changes: dict[int, list] = {}
    for i, (lender, borrower, amount, start, until) in enumerate(s.buffer_loans):
        where = f"sumsy.buffer_loans[{i}]"
        if lender >= sc.n_eligible:
            raise ScenarioError(f"{where}: lender {lender} is not a GI-eligible household "
                                f"(eligible: 0 .. {sc.n_eligible - 1})")
        if borrower >= n:
            raise ScenarioError(f"{where}: borrower {borrower} is not an account (0 .. {n - 1})")
        changes.setdefault(lender, []).extend([(start, amount, i), (until, -amount, i)])
    for lender, ch in changes.items():  # what a lender has out at any time must fit its buffer
        out = 0.0
        for tick, amount, i in sorted(ch, key=lambda c: (c[0], c[1])):
            out += amount
            if out > s.demurrage_free_buffer + 1e-9:
                raise ScenarioError(f"sumsy.buffer_loans[{i}]: household {lender} lends {out} at tick {tick}, "
                                    f"more than its sumsy.demurrage_free_buffer = {s.demurrage_free_buffer}")
    if g.funding != "none" and not s.enabled:
        raise ScenarioError(f"governance.funding = {g.funding!r} needs sumsy.enabled = true")
    if sc.pk.enabled:
        others = [k for k, on in (("sumsy.enabled", s.enabled), ("exchange.rule", x.rule != "none"),
                                  ("events", bool(sc.events)), ("population.firms", p.firms > 0),
                                  ("economy.enabled", sc.economy.enabled), ("bank.enabled", sc.bank.enabled),
                                  ("government.enabled", sc.government.enabled)) if on]
        if others or p.households != 1:
            raise ScenarioError("pk.enabled is the two-sector model alone: it needs population.households = 1 "
                                "(the private sector) and no " + ", ".join(others or ["other processes"]))
    if g.funding != "none" and s.mode == "transactional":
        raise ScenarioError(f"governance.funding = {g.funding!r} needs sumsy.mode = 'period' (governance "
                            f"collects and spends at period starts)")
    if g.funding in ("fixed_rate", "on_demand") and g.rate <= 0:
        raise ScenarioError(f"governance.funding = {g.funding!r} needs governance.rate > 0")
    if g.funding == "none" and g.budget > 0:
        raise ScenarioError("governance.budget > 0 needs governance.funding (demurrage, fixed_rate or on_demand)")
    if g.funding != "none" and sc.n_eligible == 0:
        raise ScenarioError("governance spending goes to GI-eligible households: population.eligible_share is 0")
    for i, e in enumerate(sc.events):
        where = f"events[{i}]"
        if e.tick >= r.ticks:
            raise ScenarioError(f"{where}.tick = {e.tick} is after the run; accepted: 0 .. {r.ticks - 1}")
        if e.target == "one" and e.account >= n:
            raise ScenarioError(f"{where}.account = {e.account} is not an account (0 .. {n - 1})")
        if e.target == "firms" and p.firms == 0:
            raise ScenarioError(f"{where}.target = 'firms' but population.firms = 0")
        if e.kind == "injection" and e.amount <= 0:
            raise ScenarioError(f"{where}: an injection needs amount > 0")
        if e.kind == "loss" and e.fraction <= 0:
            raise ScenarioError(f"{where}: a loss needs fraction > 0")
    _check_economy(sc)
    # money must fit int64 with room for the period sums (sum of `period` balances)
    limit = INT64_MAX // max(r.period, 1)
    for what, amount in (("sumsy.guaranteed_income", s.guaranteed_income),
                         ("population.initial_balance", p.initial_balance * 64),
                         ("governance.budget", g.budget),

                         *((f"events[{i}].amount", e.amount) for i, e in enumerate(sc.events))):
        if sc.minor(amount) * max(n, 1) > limit:
            raise ScenarioError(f"{what} = {amount} in minor units (x{r.minor_units}) times {n} accounts "
                                f"overflows int64 money; lower it or run.minor_units")
    for what, amount, count, on in (("government.spending", sc.government.spending, 1, sc.government.enabled),
                                    ("bank.initial_capital", sc.bank.initial_capital, 1, sc.bank.enabled),
                                    ("bank.household_credit_limit", sc.bank.household_credit_limit, p.households,
                                     sc.bank.enabled),
                                    ("bank.firm_credit_limit", sc.bank.firm_credit_limit, p.firms, sc.bank.enabled)):
        if on and sc.minor(amount) * max(count, 1) > limit:
            raise ScenarioError(f"{what} = {amount} in minor units (x{r.minor_units}) times {count} overflows "
                                f"int64 money; lower it or run.minor_units")
    need = estimate_memory(sc)
    avail = available_memory()
    if need > 0.8 * avail:
        raise ScenarioError(f"population.households = {p.households} (+ {p.firms} firms) needs about "
                            f"{need / 2**30:.1f} GiB of state, more than 80 % of the "
                            f"{avail / 2**30:.1f} GiB available here; lower population.households")


def _check_economy(sc: Scenario) -> None:
    """Cross-checks of the production economy, the government and bank credit."""
    e, gov, bank, p, s, x = sc.economy, sc.government, sc.bank, sc.population, sc.sumsy, sc.exchange
    if e.enabled:
        if p.firms < 1:
            raise ScenarioError("economy.enabled needs firms: population.firms >= 1 (accepted: 1 .. households)")
        if p.firms > p.households:
            raise ScenarioError(f"population.firms = {p.firms} is more than population.households = "
                                f"{p.households}; the economy needs at least one household per firm "
                                f"(accepted: 1 .. {p.households})")
        if e.ai_complementary_share + e.unemployed_share > 1:
            raise ScenarioError(f"economy.ai_complementary_share + economy.unemployed_share = "
                                f"{e.ai_complementary_share + e.unemployed_share} exceeds 1 (the rest are routine workers)")
        if e.equity_distribution == "pareto":
            from .economy import equity_alpha

            equity_alpha(sc)  # raises ScenarioError when the target cannot be reached
    if gov.enabled and not e.enabled:
        raise ScenarioError("government.enabled needs economy.enabled = true (the government buys from firms)")
    if bank.replay != "none" and not bank.enabled:
        raise ScenarioError(f"bank.replay = {bank.replay!r} needs bank.enabled = true")
    if bank.report_sumsy and bank.replay != "sumsy":
        raise ScenarioError("bank.report_sumsy needs bank.replay = 'sumsy'")
    if bank.enabled and not e.enabled and bank.replay == "none":
        raise ScenarioError("bank.enabled needs borrowers: economy.enabled = true (households and firms borrow "
                            "to spend) or bank.replay = 'sumsy' (the SuMSy paper's comparison run)")
    if bank.replay == "sumsy":
        need = [k for k, ok in (("sumsy.enabled = true", s.enabled),
                                ("exchange.rule = 'random_fraction'", x.rule == "random_fraction"),
                                ("population.active_share = 1", p.active_share == 1.0),
                                ("population.firms = 0", p.firms == 0),
                                ("economy.enabled = false", not e.enabled),
                                ("no events", not sc.events)) if not ok]
        if need:
            raise ScenarioError("bank.replay = 'sumsy' replays the random_fraction exchange of a SuMSy run among all "
                                "households; it needs " + ", ".join(need))


def bytes_per_account(sc: Scenario) -> int:
    """State bytes per account for this scenario (see spms_mc.state.State)."""
    b = 8 + 1  # balance, flags
    if sc.sumsy.enabled and sc.sumsy.mode == "period" and sc.sumsy.demurrage_base == "average":
        b += 8  # period_sum
    if sc.sumsy.enabled and sc.sumsy.mode == "transactional":
        b += 8  # last_tick
    b += 8  # scratch: exchange debits and the sort buffer of the metrics
    if sc.sumsy.buffer_loans:
        b += 8
    if sc.population.active_share < 1:
        b += 8
    if sc.economy.enabled:
        b += 1 + 4 + 8 + 8  # type, employer, equity units, planned spending
    if sc.bank.enabled:
        b += 8  # loan principal
    if sc.bank.replay == "sumsy":
        b += 8 + 1 + 8 + 8  # the SuMSy run replayed: its balances, flags, period sums, debits
    return b


def estimate_memory(sc: Scenario) -> int:
    return bytes_per_account(sc) * sc.n_accounts


def available_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # pragma: no cover - psutil comes with dask.distributed
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


# --------------------------------------------------------------------------------------------
# presets and loading
# --------------------------------------------------------------------------------------------
def preset_names() -> list[str]:
    root = resources.files("spms_mc") / "scenarios"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _raw_scenario(name_or_path: str, depth: int = 0) -> dict:
    if depth > 8:
        raise ScenarioError(f"extends: chain deeper than 8 at {name_or_path!r} (a cycle?)")
    path = Path(name_or_path)
    if name_or_path in preset_names():
        text = (resources.files("spms_mc") / "scenarios" / f"{name_or_path}.toml").read_text()
        where = f"preset {name_or_path!r}"
    elif path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"scenario file {str(path)!r} does not exist")
        text = path.read_text()
        where = str(path)
    else:
        raise ScenarioError(f"unknown scenario {name_or_path!r}; built-in: {', '.join(preset_names())}, "
                            f"or a path to a .toml file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
    if "extends" in data:
        base = data.pop("extends")
        data = _merge(_raw_scenario(Str("extends", base), depth + 1), data)
    return data


def load_scenario(name_or_path: str | os.PathLike = "sumsy", overrides: dict | None = None) -> Scenario:
    """Load a built-in preset by name or a TOML file by path, validate it, apply overrides."""
    sc = scenario_from_dict(_raw_scenario(str(name_or_path)))
    return sc.with_overrides(overrides) if overrides else sc


def parse_value(text: str) -> Any:
    """A ``--set`` value: parsed as a TOML value, else taken as a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(items) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise ScenarioError(f"--set {item!r}: expected KEY=VALUE, e.g. sumsy.demurrage=0.02")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v.strip())
    return out


# --------------------------------------------------------------------------------------------
# TOML output (the subset scenarios use)
# --------------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def dumps_toml(data: dict) -> str:
    lines = []
    for k, v in data.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and k != "events"):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{json.dumps(kk) if '.' in kk else kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for e in data.get("events", []):
        lines.append("\n[[events]]")
        lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in e.items()]
    return "\n".join(lines) + "\n"


def key_table() -> list[tuple[str, str, str]]:
    """(dotted key, default, description) for every scenario key, for the README."""
    rows = []
    for sec, cls in list(SECTIONS.items()) + [("events[]", EventConfig)]:
        inst = cls()
        for f in dataclasses.fields(cls):
            rows.append((f"{sec}.{f.name}", _toml_value(_plain(getattr(inst, f.name))), f.metadata["doc"]))
    return rows
