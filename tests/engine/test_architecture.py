"""The plug-in seam and the checks it carries (docs/architecture.md).

* a toy mechanism registered from a test-only module runs with its own config key, institution,
  flow, output and identity, without any other file of the package edited;
* the registry refuses a mechanism whose declarations clash with a registered one;
* the money stock is measured from the balances, not copied from the ledger, and a corrupted
  balance stops the run naming the stock-flow identity;
* every identity a built-in mechanism declares fails when the state it watches is corrupted;
* every variable of every preset's output has units and a description;
* ``ds.spms`` works on what ``simulate`` returns;
* deterministic errors come back from a dask task as values, never retried.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spms_mc
from spms_mc.core import registry
from spms_mc.core.errors import IdentityError, LedgerError, MoneyOverflowError, ScenarioError
from spms_mc.core.registry import Mechanism
from spms_mc.engine.member import Engine
from spms_mc.engine.output import to_dataset
from spms_mc.engine.warmup import tiny_copy

from toy_mechanism import FlatTransfer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy():
    registry.register(FlatTransfer)
    yield FlatTransfer
    registry.unregister(FlatTransfer.name)


def test_the_toy_section_is_unknown_until_the_toy_is_registered():
    with pytest.raises(ScenarioError, match="unknown key 'transfer.amount'"):
        spms_mc.load_scenario("sumsy", {"transfer.amount": 1.0})


def test_a_toy_mechanism_is_one_module_and_one_registration(toy):
    H, periods, amount = 100, 4, 5.0
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": H, "run.ticks": 30 * periods + 10, "sumsy.enabled": False,
        "exchange.rule": "none", "transfer.enabled": True, "transfer.amount": amount,
        "transfer.endowment": amount * H * (periods + 1) + 0.5})
    assert sc.transfer.amount == amount
    assert "[transfer]" in sc.to_toml()
    ds = spms_mc.simulate(sc, seed=3)
    assert "flat_transfer" in ds.attrs["process_order"]
    assert "transfer_endowment" in list(ds["flow"].values)
    # 5 period starts (ticks 0, 30, 60, 90, 120) each pay `amount` to every household
    assert float(ds["mean_balance"].values[0, -1]) == amount * (periods + 1)
    assert float(ds["transfer_paid"].sum()) == amount * H * (periods + 1)
    assert ds["transfer_paid"].attrs["units"] == "currency units"
    assert "transfers paid" in ds["transfer_paid"].attrs["description"]
    endowment = sc.minor(sc.transfer.endowment)
    assert int(ds["flows_created"].sel(flow="transfer_endowment").sum()) == endowment
    # the money stock is the endowment throughout: households' money plus the treasury's
    assert np.all(ds["money_stock"].values[0, 1:] == endowment / 100)
    # its keys are documented with every other key, and it cannot be swept on/off
    assert any(k == "transfer.amount" for k, _, _ in spms_mc.core.config.key_table())
    with pytest.raises(ScenarioError, match="transfer.enabled.* cannot be swept"):
        sc.with_overrides({"sweep.transfer.enabled": [True, False]})
    # its own cross-check, naming its keys, before any work
    with pytest.raises(ScenarioError, match="transfer.endowment = 1.0 does not cover"):
        sc.with_overrides({"transfer.endowment": 1.0})


def test_the_toy_runs_beside_sumsy_and_exchange_with_its_identity_checked(toy):
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 200, "run.ticks": 95, "transfer.enabled": True, "transfer.amount": 3.0,
        "transfer.endowment": 3.0 * 200 * 10, "run.check_ledger": "tick"})
    eng = Engine(sc, 1, 0)
    assert [p.name for p in eng.processes] == ["sumsy", "flat_transfer", "exchange"]
    res = eng.run()
    toy_ = eng.processes[1]
    assert int(res.extra["transfer_paid"].sum()) == toy_.paid_total == 4 * 300 * 200
    toy_.paid_total += 1  # the toy's own identity is watched like any built-in one
    with pytest.raises(IdentityError, match="treasury \\+ transfers paid = endowment"):
        eng.check(95)


def test_the_registry_refuses_clashing_declarations():
    class Clash(Mechanism):
        name = "clash"
        sections = {"sumsy": FlatTransfer.sections["transfer"]}

    with pytest.raises(ValueError, match="declares sections \\['sumsy'\\] that 'sumsy' already declares"):
        registry.register(Clash)

    class Reserved(Mechanism):
        name = "reserved"
        sections = {"run": FlatTransfer.sections["transfer"]}

    with pytest.raises(ValueError, match="reserved"):
        registry.register(Reserved)
    assert "clash" not in {m.name for m in registry.mechanisms()}


# ---------------------------------------------------------------------------------------------
# identities, checked independently while running
# ---------------------------------------------------------------------------------------------
def _corrupt_at(eng: Engine, tick: int, corrupt) -> None:
    """Make the last mechanism call ``corrupt(eng)`` after its hook at ``tick``."""
    last = eng.processes[-1]
    hook = last.on_tick

    def on_tick(t):
        hook(t)
        if t == tick:
            corrupt(eng)

    last.on_tick = on_tick


def test_a_corrupted_balance_stops_the_run_naming_the_stock_flow_identity():
    sc = spms_mc.load_scenario("sumsy", {"population.households": 500, "run.ticks": 60,
                                         "run.check_ledger": "tick"})
    eng = Engine(sc, 0, 0)
    _corrupt_at(eng, 17, lambda e: e.state.balance.__setitem__(3, e.state.balance[3] + 1))
    with pytest.raises(LedgerError, match="stock-flow identity violated after tick 17: balances sum to "
                                          "[0-9]+ minor units, the ledger expects [0-9]+ \\(difference 1\\)"):
        eng.run()


def test_the_money_stock_is_measured_from_the_balances(monkeypatch):
    """With the checks off, a balance changed behind the ledger's back shows in money_stock: the
    output is the sum of every account, institutions included, not the ledger's expectation."""
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "off")
    sc = spms_mc.load_scenario("sumsy", {"population.households": 500, "run.ticks": 60})
    clean = Engine(sc, 0, 0).run()
    eng = Engine(sc, 0, 0)
    _corrupt_at(eng, 17, lambda e: e.state.balance.__setitem__(3, e.state.balance[3] + 12345))
    bad = eng.run()
    assert np.all(bad.money_stock[:1] == clean.money_stock[:1])
    diff = bad.money_stock - clean.money_stock
    assert diff[-1] != 0  # demurrage acts on the extra money too, so not exactly 12345 at the end
    assert eng.total_money() == bad.money_stock[-1]
    assert eng.ledger.expected != bad.money_stock[-1]


def _pk(e):
    e.processes[0].equity += 1


def _economy_units(e):
    e.state.equity[5] += 1


def _bank_capital(e):
    next(p for p in e.processes if p.name in ("economy", "bank_credit_replay")).bank.capital += 1


def _loans_on_accounts(e):
    e.state.loans[2] += 1


def _replayed_balance(e):
    e.processes[0].shadow.balance[4] += 1


IDENTITY_CASES = [
    ("pk_endogenous", {}, _pk, "pk: money + bank equity = debt"),
    ("ai_bau_fixed_equity", {"population.households": 300, "population.firms": 3}, _economy_units,
     "economy: equity units conserved"),
    ("ai_bau_fixed_equity", {"population.households": 300, "population.firms": 3}, _bank_capital,
     "bank: loans - net deposits created = capital"),
    ("ai_bau_fixed_equity", {"population.households": 300, "population.firms": 3}, _loans_on_accounts,
     "bank: loans on the borrowers' accounts = loans on the bank's book"),
    ("bank_credit", {"population.households": 300}, _bank_capital, "bank: loans - net deposits created"),
    ("bank_credit", {"population.households": 300}, _loans_on_accounts, "bank: loans on the borrowers' accounts"),
    ("bank_credit", {"population.households": 300}, _replayed_balance, "replayed SuMSy run: stock-flow identity"),
]


@pytest.mark.parametrize("preset, over, corrupt, name", IDENTITY_CASES,
                         ids=[f"{p}-{c.__name__.strip('_')}" for p, _, c, _ in IDENTITY_CASES])
def test_each_declared_identity_fails_when_its_state_is_corrupted(preset, over, corrupt, name):
    sc = spms_mc.load_scenario(preset, {**over, "run.ticks": 90, "run.check_ledger": "tick"})
    eng = Engine(sc, 0, 0)
    assert any(i.name.startswith(name) for i in eng.identities)
    eng_clean = Engine(sc, 0, 0)
    eng_clean.run()  # the identities hold on the clean run, checked every tick
    _corrupt_at(eng, 40, corrupt)
    with pytest.raises(IdentityError) as err:
        eng.run()
    msg = str(err.value)
    assert name in msg and "after tick 40" in msg and "difference" in msg


def test_every_built_in_identity_is_covered_by_a_corruption_case():
    names = set()
    for preset, over, _, _ in IDENTITY_CASES:
        sc = spms_mc.load_scenario(preset, {**over, "run.ticks": 90})
        names |= {i.name for i in Engine(sc, 0, 0).identities}
    covered = {n for n in names if any(n.startswith(case[3]) for case in IDENTITY_CASES)}
    assert covered == names


# ---------------------------------------------------------------------------------------------
# output schema, accessor, ensembles
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", spms_mc.preset_names())
def test_every_output_variable_has_units_and_a_description(preset):
    sc = tiny_copy(spms_mc.load_scenario(preset))
    ds = to_dataset(Engine(sc, 0, 0).run())
    for name in list(ds.data_vars):
        assert ds[name].attrs.get("units") and ds[name].attrs.get("description"), name


def test_the_accessor_works_on_what_simulate_returns():
    ds = spms_mc.simulate(spms_mc.load_scenario("sumsy", {"population.households": 200, "run.ticks": 300}))
    summary = ds.spms.summary()
    assert float(summary["money_stock_mean"]) == float(ds["money_stock"].values[0, -1])
    fan = ds.spms.fan("money_stock")
    assert fan.sizes["time"] == ds.sizes["time"]


def test_deterministic_errors_come_back_as_values_and_others_raise():
    from spms_mc.ensemble.fanout import DeterministicFailure, collect, no_retry

    def overflow():
        raise MoneyOverflowError("too much")

    def flaky():
        raise OSError("disk hiccup")

    failure = no_retry(overflow)
    assert isinstance(failure, DeterministicFailure)
    with pytest.raises(MoneyOverflowError, match="too much"):
        collect(failure)
    with pytest.raises(OSError):  # not deterministic: raised, so dask retries it
        no_retry(flaky)
    assert collect(no_retry(lambda: 7)) == 7


def test_mechanisms_are_registered_in_section_order():
    assert [m.name for m in registry.mechanisms()] == [
        "sumsy", "exchange", "pk_endogenous", "economy", "wealth", "fund", "rail", "countercyclical", "anchor",
        "riskshare", "bank_credit_replay", "events", "sim", "reform", "bonds", "esop", "cete"]
    assert [m.name for m in registry.by_order()] == [
        "pk_endogenous", "events", "sumsy", "reform", "economy", "sim", "wealth", "fund", "rail", "countercyclical",
        "bank_credit_replay", "anchor", "riskshare", "bonds", "esop", "exchange", "cete"]


def test_the_layer_contracts_hold():
    """The import-linter contracts of pyproject.toml (layers, no cycles), as CI runs them."""
    lint = Path(sys.executable).parent / "lint-imports"  # the console script of import-linter
    out = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout
