"""Scenarios: TOML files validated into frozen objects, built-in presets, dotted-key overrides.

A scenario is a TOML document with the core tables ``[run]`` and ``[population]``, one table per
config section of each registered mechanism (``[sumsy]``, ``[governance]``, ``[exchange]``, ...,
declared in :mod:`spms_mc.mechanisms`; the loader only dispatches to them through
:mod:`spms_mc.core.registry`), arrays of tables a mechanism owns (``[[events]]``), and top-level
``name``, ``description`` and ``extends`` (a built-in preset or a path to start from). Every key has a type, a default, an
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

from . import registry
from .errors import ScenarioError

INT64_MAX = 2**63 - 1


# --------------------------------------------------------------------------------------------
# key specifications
# --------------------------------------------------------------------------------------------
def _typename(v: Any) -> str:
    return type(v).__name__


def number(key, v, *, lo=None, hi=None, lo_open=False, hi_open=False, integer=False):
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
    return lambda key, v: number(key, v, lo=lo, hi=hi, integer=True)


def Float(lo=None, hi=None, lo_open=False, hi_open=False):
    return lambda key, v: number(key, v, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def Amount(lo=0.0, lo_open=False):
    """A validator for an amount of money in currency units: a number, and (checked once the
    scenario is built, :func:`check_whole_minor_units`) a whole number of minor units."""
    def check(key, v):
        return number(key, v, lo=lo, lo_open=lo_open)

    check.is_amount = True
    return check


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
        return tuple(number(f"{key}[{i}]", x, lo=lo, integer=True) for i, x in enumerate(v))

    return check


def FloatList(lo=None, hi=None):
    def check(key, v):
        if not isinstance(v, (list, tuple)):
            raise ScenarioError(f"{key} must be a list of numbers, got {_typename(v)} {v!r}")
        return tuple(number(f"{key}[{i}]", x, lo=lo, hi=hi) for i, x in enumerate(v))

    return check


def table_rows(key, v, what):
    if not isinstance(v, (list, tuple)):
        raise ScenarioError(f"{key} must be a list of {what}, got {_typename(v)} {v!r}")
    for i, row in enumerate(v):
        if not isinstance(row, (list, tuple)):
            raise ScenarioError(f"{key}[{i}] must be a list {what}, got {_typename(row)} {row!r}")
    return v


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
    burn_in: int = key(0, Int(0, 10**9), "ticks run before tick 0 and not reported (a multiple of run.period), so "
                                         "the run starts from settled stocks and flows")


@dataclass(frozen=True, slots=True, kw_only=True)
class PopulationConfig:
    households: int = key(10_000, Int(1, 10**12), "household accounts")
    firms: int = key(0, Int(0, 10**12), "firm / legal-entity accounts: pay demurrage, no GI, no buffer, no exchange")
    eligible_share: float = key(1.0, Float(0, 1), "share of households eligible for GI (the first ones by index)")
    active_share: float = key(1.0, Float(0, 1), "share of households taking part in exchange (a random subset)")
    initial_balance: float = key(0.0, Amount(), "mean starting balance of a household, currency units")
    initial_distribution: str = key("equal", Choice("equal", "exponential"),
                                    "starting balances: all equal, or exponential with that mean")



CORE_SECTIONS = {"run": RunConfig, "population": PopulationConfig}
META_KEYS = ("name", "description", "extends")


def sections() -> dict[str, type]:
    """Every config section: the core's, then each registered mechanism's, in registration order."""
    return {**CORE_SECTIONS, **registry.mechanism_sections()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A validated, immutable scenario. Build with :func:`load_scenario`.

    The core sections are fields (``sc.run``, ``sc.population``); every mechanism section and
    table array is an attribute too (``sc.sumsy``, ``sc.events``), held in ``parts``.
    """

    name: str = "custom"
    description: str = ""
    run: RunConfig = field(default_factory=RunConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    parts: tuple = ()  # ((section or table-array name, config or tuple of rows), ...), registration order
    sweep: tuple = ()  # ((dotted key, (value, ...)), ...): a cartesian grid, one output dim per key
    _index: dict = field(default=None, init=False, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", dict(self.parts))

    def __getattr__(self, name):
        if name.startswith("_") or name in ("parts", "sweep"):
            raise AttributeError(name)
        try:
            return self._index[name]
        except KeyError:
            raise AttributeError(f"scenario has no section {name!r}; sections: "
                                 f"{', '.join(list(CORE_SECTIONS) + list(self._index))}") from None

    def replace(self, **changes) -> "Scenario":
        """A copy with fields or mechanism parts replaced, not validated again (internal use:
        tiny copies, the replayed SuMSy run)."""
        parts = dict(self.parts)
        fields_ = {}
        for k, v in changes.items():
            if k in parts:
                parts[k] = v
            else:
                fields_[k] = v
        return dataclasses.replace(self, parts=tuple(parts.items()), **fields_)

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
        tables = registry.table_arrays()
        for sec in CORE_SECTIONS:
            out[sec] = _section_dict(getattr(self, sec))
        for sec, value in self.parts:
            if sec not in tables:
                out[sec] = _section_dict(value)
        for sec, value in self.parts:
            if sec in tables:
                out[sec] = [_section_dict(row) for row in value]
        if self.sweep:
            out["sweep"] = {k: list(v) for k, v in self.sweep}
        return out

    @property
    def sweep_dims(self) -> tuple[str, ...]:
        """The output dimension of each swept key (:func:`sweep_dim`), in the order of ``sweep``."""
        return tuple(sweep_dim(k) for k, _ in self.sweep)

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

        A table array (``events``) is replaced as a whole (a list of tables). The result is
        validated again.
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


def _section_dict(cfg) -> dict:
    """A section's keys as plain data (a section class may write some keys in a shorter form)."""
    out = {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if hasattr(cfg, "plain_values"):
        out.update(cfg.plain_values())
    return out


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    secs, tables = sections(), registry.table_arrays()
    if len(parts) == 1:
        if parts[0] not in META_KEYS + tuple(tables) or parts[0] == "extends":
            raise ScenarioError(f"unknown key {dotted!r}; keys are section.name, e.g. sumsy.demurrage "
                                f"(sections: {', '.join(secs)}), or name, description, {', '.join(tables)}")
        data[parts[0]] = value
        return
    if len(parts) != 2 or parts[0] not in secs:
        raise ScenarioError(f"unknown key {dotted!r}; sections: {', '.join(secs)}, {', '.join(tables)}")
    sec, name = parts
    names = [f.name for f in dataclasses.fields(secs[sec])]
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
    secs, tables = sections(), registry.table_arrays()
    for k in data:
        if k not in secs and k not in META_KEYS + tuple(tables) + ("sweep",):
            close = difflib.get_close_matches(k, list(secs) + list(tables), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ScenarioError(f"unknown table or key {k!r}{hint} accepted: "
                                f"{', '.join(list(secs) + list(tables) + ['name', 'description', 'extends'])}")
    parts = {}
    for m in registry.mechanisms():
        for sec, cls in m.sections.items():
            parts[sec] = _section(cls, sec, data.get(sec, {}))
        for name, cls in m.table_arrays.items():
            raw = data.get(name, [])
            if not isinstance(raw, list):
                raise ScenarioError(f"{name} must be a list of tables ([[{name}]]), got {_typename(raw)}")
            parts[name] = tuple(_section(cls, f"{name}[{i}]", e) for i, e in enumerate(raw))
    sc = Scenario(name=Str("name", data.get("name", "custom")),
                  description=Str("description", data.get("description", "")),
                  run=_section(RunConfig, "run", data.get("run", {})),
                  population=_section(PopulationConfig, "population", data.get("population", {})),
                  parts=tuple(parts.items()))
    _check_core(sc)
    check_whole_minor_units(sc)
    for m in registry.mechanisms():
        m.check_scenario(sc)
    _check_memory(sc)
    sweep = _sweep(sc, data.get("sweep", {}))
    return dataclasses.replace(sc, sweep=sweep) if sweep else sc


# keys whose values change the shape of the output cannot be swept within one store (the core's;
# each mechanism declares its own)
CORE_UNSWEEPABLE = ("run.ticks", "run.period", "run.sample_every", "run.track", "run.lorenz_points",
                    "run.snapshot_ticks", "run.backend", "run.minor_units")


def unsweepable() -> tuple[str, ...]:
    return CORE_UNSWEEPABLE + registry.unsweepable()


MAX_GRID = 100_000


def sweep_dim(key: str) -> str:
    """The dimension a swept dotted key gets in the output: ``sumsy.demurrage`` -> ``sumsy_demurrage``,
    a Python identifier, so ``ds.sel(sumsy_demurrage=0.02)`` works; the coordinate keeps the dotted key
    in its ``key`` attribute."""
    return key.replace(".", "_")


def _sweep(sc: Scenario, raw: Any) -> tuple:
    """Validate a [sweep] table: {dotted key: [values]}; every grid point is validated too."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"[sweep] must be a table of dotted keys to lists, got {_typename(raw)}")
    out = []
    fixed, tables = unsweepable(), tuple(registry.table_arrays())
    for k, values in raw.items():
        where = f"sweep.{k}"
        if k in fixed or k.split(".")[0].split("[")[0] in tables or "." not in k:
            raise ScenarioError(f"{where}: {k!r} cannot be swept within one store (it changes the output's "
                                f"shape or is not a section key); not sweepable: {', '.join(fixed + tables)}")
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
    dims = [sweep_dim(k) for k, _ in out]
    if len(set(dims)) < len(dims):
        raise ScenarioError(f"[sweep] keys {[k for k, _ in out]} give the same dimension names {dims}; "
                            f"accepted: keys that differ in more than '.' and '_'")
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
        if k in sections() and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out



def _check_core(sc: Scenario) -> None:
    """Checks of the core keys that involve more than one key."""
    r, p = sc.run, sc.population
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
    if r.burn_in % r.period:
        raise ScenarioError(f"run.burn_in = {r.burn_in} is not a multiple of run.period = {r.period} (the run must "
                            f"start at a period start); accepted: 0, {r.period}, {2 * r.period}, ...")
    check_money_fits(sc, "population.initial_balance", p.initial_balance * 64, n)


def check_amount(sc: Scenario, key: str, amount: float) -> None:
    """Refuse an amount that is not a whole number of minor units, naming the nearest valid values:
    money is int64 in minor units, and an amount is never rounded silently (a GI of 0.004 with 100
    minor units would otherwise run as 0)."""
    mu = sc.run.minor_units
    x = amount * mu
    if abs(x - round(x)) > 1e-9 * max(1.0, abs(x)):
        below, above = math.floor(x) / mu, math.ceil(x) / mu
        raise ScenarioError(f"{key} = {amount!r} is not a whole number of minor units (run.minor_units = {mu}); "
                            f"nearest valid values: {below!r} or {above!r}")


def check_whole_minor_units(sc: Scenario) -> None:
    """Every key declared with :func:`Amount`, in every section and table row, is checked with
    :func:`check_amount`."""
    def each(prefix: str, cfg) -> None:
        for f in dataclasses.fields(cfg):
            if getattr(f.metadata.get("check"), "is_amount", False):
                check_amount(sc, f"{prefix}.{f.name}", getattr(cfg, f.name))

    each("population", sc.population)
    for name, value in sc.parts:
        if isinstance(value, tuple):
            for i, row in enumerate(value):
                each(f"{name}[{i}]", row)
        else:
            each(name, value)


def check_money_fits(sc: Scenario, what: str, amount: float, count: int, on: bool = True) -> None:
    """Refuse an amount (currency units) that, ``count`` times, overflows int64 money with room for
    the period sums (sums of ``run.period`` balances)."""
    if not on:
        return
    limit = INT64_MAX // max(sc.run.period, 1)
    if sc.minor(amount) * max(count, 1) > limit:
        raise ScenarioError(f"{what} = {amount} in minor units (x{sc.run.minor_units}) times {count} "
                            f"{'accounts ' if count == sc.n_accounts else ''}overflows int64 money; lower it or "
                            f"run.minor_units")


def _check_memory(sc: Scenario) -> None:
    p = sc.population
    need = estimate_memory(sc)
    avail = available_memory()
    if need > 0.8 * avail:
        raise ScenarioError(f"population.households = {p.households} (+ {p.firms} firms) needs about "
                            f"{need / 2**30:.1f} GiB of state, more than 80 % of the "
                            f"{avail / 2**30:.1f} GiB available here; lower population.households")


def bytes_per_account(sc: Scenario) -> float:
    """State bytes per account for this scenario: the core arrays (balance, flags, the scratch
    that the exchange debits and the metrics' sort use, the participants when not every household
    is active) plus each enabled mechanism's (see :mod:`spms_mc.core.state`)."""
    b = 8 + 1 + 8
    if sc.population.active_share < 1:
        b += 8
    return b + sum(m.bytes_per_account(sc) for m in registry.enabled(sc))


def estimate_memory(sc: Scenario) -> int:
    return int(bytes_per_account(sc) * sc.n_accounts)


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
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(f"scenario file {str(path)!r} is not UTF-8 text (TOML files are UTF-8): {exc}") from None
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
    tables = registry.table_arrays()
    for k, v in data.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and k not in tables):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{json.dumps(kk) if '.' in kk else kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for name in tables:
        for e in data.get(name, []):
            lines.append(f"\n[[{name}]]")
            lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in e.items()]
    return "\n".join(lines) + "\n"


def key_table() -> list[tuple[str, str, str]]:
    """(dotted key, default, description) for every scenario key, for the README."""
    rows = []
    for sec, cls in list(sections().items()) + [(f"{k}[]", v) for k, v in registry.table_arrays().items()]:
        inst = cls()
        for f in dataclasses.fields(cls):
            rows.append((f"{sec}.{f.name}", _toml_value(_plain(getattr(inst, f.name))), f.metadata["doc"]))
    return rows
