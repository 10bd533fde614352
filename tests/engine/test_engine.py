"""Engine contracts: exact ledger in every preset, reproducibility, overflow detection."""
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
import xarray as xr

import spms_mc
from spms_mc.engine.member import Engine
from spms_mc.core.errors import MoneyOverflowError

SMALL = {"population.households": 300, "run.check_ledger": "tick"}


def small(name, **extra):
    sc = spms_mc.load_scenario(name)
    over = dict(SMALL)
    if sc.pk.enabled or sc.sim.enabled:  # one private-sector account (and SIM's one firm)
        over.pop("population.households")
    elif sc.population.firms:
        over["population.households"] = 10_000  # the preset names firm accounts by index
        over["population.firms"] = sc.population.firms
    ticks = max([e.tick for e in sc.events] + [0]) + 900
    over["run.ticks"] = min(sc.run.ticks, ticks)
    if sc.fund.enabled:  # a payout window of past years within the shortened run
        over.update({"fund.pomv_first_lag": 1, "fund.pomv_last_lag": 2})
    over.update(extra)
    return sc.with_overrides(over)


@pytest.mark.parametrize("name", spms_mc.preset_names())
def test_every_preset_keeps_the_ledger_exact_every_tick(name):
    sc = small(name)
    eng = Engine(sc, seed=11)
    res = eng.run()  # check_ledger = "tick": raises LedgerError at the first violation
    # the identity can be re-verified from the outputs alone: money change == created - destroyed
    dm = np.diff(res.money_stock)
    flows = (res.flows_created - res.flows_destroyed).sum(axis=1)[1:]
    assert np.array_equal(dm, flows)
    assert eng.total_money() == res.money_stock[-1]
    assert eng.state.balance.min() >= 0
    assert res.stop_reason == ""


def test_ledger_flows_are_booked_by_name():
    sc = small("sumsy_stress_loss")
    res = Engine(sc, seed=1).run()
    created = dict(zip(res.flows, res.flows_created.sum(axis=0)))
    destroyed = dict(zip(res.flows, res.flows_destroyed.sum(axis=0)))
    periods = -(-sc.run.ticks // sc.run.period)
    assert created["gi"] == periods * 300 * sc.minor(2000.0)
    assert destroyed["loss"] > 0 and destroyed["demurrage"] > 0


def datasets_equal(a, b):
    xr.testing.assert_identical(a, b)
    for v in a.data_vars:
        assert np.array_equal(a[v].values, b[v].values, equal_nan=True), v


DETERMINISM_CASES = [
    ("sumsy", {}),
    ("kinetic_exchange", {}),
    ("yard_sale", {"exchange.chi": 0.01, "exchange.zeta": 0.5}),
    ("sumsy_transactional", {}),
    ("sumsy", {"population.active_share": 0.7, "population.eligible_share": 0.8,
               "population.initial_distribution": "exponential", "population.initial_balance": 50.0}),
    ("sumsy_tiered", {"governance.funding": "on_demand", "governance.rate": 0.01, "governance.budget": 1000.0}),
]


@pytest.fixture
def parallel_always(monkeypatch):
    """Run even small members with all numba threads (the engine uses one below a size)."""
    import spms_mc.engine.member

    monkeypatch.setattr(spms_mc.engine.member, "PARALLEL_MIN_ACCOUNTS", 0)


@pytest.mark.parametrize("name,extra", DETERMINISM_CASES)
def test_same_seed_bit_identical_with_1_and_2_threads(name, extra, parallel_always):
    sc = spms_mc.load_scenario(name, {"population.households": 3000, "run.ticks": 600, **extra})
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = spms_mc.simulate(sc, seed=42, member=3)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = spms_mc.simulate(sc, seed=42, member=3)
    finally:
        numba.set_num_threads(before)
    datasets_equal(one, two)


def test_same_seed_bit_identical_in_a_single_threaded_process(tmp_path, parallel_always):
    """NUMBA_NUM_THREADS=1 in a fresh process gives the same bytes as this one."""
    sc = spms_mc.load_scenario("sumsy", {"population.households": 2000, "run.ticks": 300})
    here = spms_mc.simulate(sc, seed=9)
    path = tmp_path / "one.nc"
    code = ("import spms_mc; sc = spms_mc.load_scenario('sumsy', {'population.households': 2000, "
            "'run.ticks': 300}); ds = spms_mc.simulate(sc, seed=9); "
            f"import numpy as np; np.savez({str(path)!r}, **{{k: ds[k].values for k in ds.data_vars}})")
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    other = np.load(str(path) + ".npz" if not str(path).endswith(".npz") else path)
    for k in here.data_vars:
        assert np.array_equal(here[k].values, other[k], equal_nan=True), k


def test_members_and_seeds_differ_and_repeat():
    sc = spms_mc.load_scenario("sumsy", {"population.households": 500, "run.ticks": 300})
    a = spms_mc.simulate(sc, seed=1, member=0)
    b = spms_mc.simulate(sc, seed=1, member=1)
    c = spms_mc.simulate(sc, seed=2, member=0)
    again = spms_mc.simulate(sc, seed=1, member=0)
    datasets_equal(a, again)
    assert not np.array_equal(a.gini.values, b.gini.values)
    assert not np.array_equal(a.gini.values, c.gini.values)
    # the money stock hardly depends on who holds the money (only through rounding down)
    np.testing.assert_allclose(a.money_stock.values, b.money_stock.values, rtol=1e-6)


def test_output_dataset_schema():
    sc = spms_mc.load_scenario("sumsy", {"population.households": 100, "run.ticks": 95,
                                         "run.sample_every": 30, "run.track": [0, 5]})
    ds = spms_mc.simulate(sc, seed=0, member=4)
    assert ds["tick"].values.tolist() == [0, 30, 60, 90, 95]
    assert ds.sizes["member"] == 1 and ds["member"].values.tolist() == [4]
    assert ds.sizes["quantile"] == 101 and ds.sizes["flow"] == 2
    for v in ("money_stock", "flows_created", "flows_destroyed", "gini", "top1_share", "top10_share",
              "bottom50_share", "mean_balance", "median_balance", "lorenz", "tracked_balance"):
        assert v in ds and "units" in ds[v].attrs, v
    assert ds["flows_created"].dtype == np.int64
    assert ds["money_stock"].dtype == np.float64
    # the flows in currency units beside the exact integers (100 minor units per unit here)
    assert ds["money_created"].attrs["units"] == "currency units" and ds["money_created"].dtype == np.float64
    assert ds.attrs["minor_units"] == 100
    np.testing.assert_array_equal(np.round(ds["money_created"].values * 100), ds["flows_created"].values)
    np.testing.assert_array_equal(np.round(ds["money_destroyed"].values * 100), ds["flows_destroyed"].values)
    assert ds.attrs["root_seed"] == "0"
    assert spms_mc.load_scenario("sumsy").with_overrides({}).to_toml() != ""
    # the scenario TOML in the attrs reproduces the run
    from spms_mc.core.config import scenario_from_dict
    import tomllib

    sc2 = scenario_from_dict(tomllib.loads(ds.attrs["scenario"]))
    assert sc2 == sc
    # samples: money after 30 ticks holds one GI per household
    assert ds.money_stock.sel(tick=30).item() == 100 * 2000.0
    assert ds.sel(tick=30).lorenz.values[0, -1] == 1.0


def test_overflow_is_detected_not_wrapped():
    ev = [{"kind": "injection", "tick": 0, "every": 1, "target": "all", "amount": 1e12}]
    sc = spms_mc.load_scenario("sumsy", {"population.households": 1000, "run.ticks": 3000, "events": ev})
    with pytest.raises(MoneyOverflowError, match="int64"):
        spms_mc.simulate(sc, seed=0)


def test_ledger_detects_money_created_outside_the_ledger():
    sc = spms_mc.load_scenario("sumsy", {"population.households": 100, "run.ticks": 60,
                                         "run.check_ledger": "tick"})
    eng = Engine(sc, seed=0)
    original = eng.processes[-1].on_tick

    def leaky(t):
        original(t)
        if t == 17:
            eng.state.balance[3] += 1

    eng.processes[-1].on_tick = leaky
    with pytest.raises(spms_mc.LedgerError, match="after tick 17"):
        eng.run()


@pytest.mark.parametrize("name", spms_mc.preset_names())
def test_warmup_compiles_on_a_tiny_copy_of_every_preset(name):
    from spms_mc.engine.warmup import warmup

    assert warmup(spms_mc.load_scenario(name)) < 60


def test_progress_line_on_a_terminal():
    import io

    from spms_mc.face.progress import Progress

    buf = io.StringIO()
    prog = Progress(2, stream=buf, enabled=True)
    prog.start_member(1)
    sc = spms_mc.load_scenario("sumsy", {"population.households": 50, "run.ticks": 60})
    Engine(sc, 0).run(prog)
    prog.close()
    text = buf.getvalue()
    assert "member 2/2" in text and "tick 60/60" in text and "100.0%" in text
    assert "\r" not in text and text.count("\n") <= 11 * 2  # not a terminal: plain lines, every 10 % at most
    quiet = io.StringIO()
    Progress(1, stream=quiet, enabled=False)(1, 2)  # --quiet: nothing shown
    assert quiet.getvalue() == ""
    log = io.StringIO()  # a batch log: plain lines by default
    p = Progress(1, stream=log)
    for t in range(1, 1001):
        p(t, 1000)
    lines = log.getvalue().splitlines()
    assert len(lines) == 11 and lines[0].startswith("member 1/1   0.1% tick 1/1000") and "100.0%" in lines[-1]
    single = io.StringIO()  # the CLI's one-task display, without start_member
    Progress(1, stream=single, enabled=True)(5, 10)
    assert "tick 5/10" in single.getvalue()


def test_cli_progress_on_a_pseudo_terminal(tmp_path):
    """`spms-mc run` on a terminal shows a progress line (ticks for one task, tasks for several)."""
    import pty
    import sys

    for members, expect in (("1", "tick 600/600"), ("3", "tasks 3/3")):
        out = []

        def read(fd):
            data = os.read(fd, 1024)
            out.append(data)
            return data

        argv = [sys.executable, "-m", "spms_mc", "run", "sumsy", "--set", "population.households=100",
                "--set", "run.ticks=600", "--members", members, "--scheduler", "sync",
                "--out", str(tmp_path / f"p{members}.zarr")]
        status = pty.spawn(argv, read)
        text = b"".join(out).decode(errors="replace")
        assert os.waitstatus_to_exitcode(status) == 0, text
        assert expect in text, text


@pytest.mark.parametrize("name,extra", DETERMINISM_CASES)
def test_serial_twins_and_parallel_kernels_agree(name, extra, monkeypatch):
    """Small populations run the serial twins of the parallel kernels: the same bytes."""
    import spms_mc.engine.member

    sc = spms_mc.load_scenario(name, {"population.households": 2000, "run.ticks": 400, **extra})
    monkeypatch.setattr(spms_mc.engine.member, "PARALLEL_MIN_ACCOUNTS", 10**12)
    serial = spms_mc.simulate(sc, seed=5)
    monkeypatch.setattr(spms_mc.engine.member, "PARALLEL_MIN_ACCOUNTS", 0)
    parallel = spms_mc.simulate(sc, seed=5)
    datasets_equal(serial, parallel)


def test_top1_cross_tick_is_the_first_sample_at_the_lock_in_threshold():
    sc = spms_mc.load_scenario("yard_sale", {"population.households": 300, "run.ticks": 3000,
                                             "run.lock_in_threshold": 0.3})
    ds = spms_mc.simulate(sc, seed=1)
    top = ds["top1_share"].values[0]
    first = int(np.argmax(top >= 0.3))
    assert top[first] >= 0.3 and np.all(top[:first] < 0.3)
    assert ds["top1_cross_tick"].values.tolist() == [float(ds["tick"].values[first])]
    assert ds["top1_cross_tick"].attrs["units"] == "ticks"
    never = spms_mc.simulate(spms_mc.load_scenario("sumsy", {"population.households": 200, "run.ticks": 300}))
    assert np.isnan(never["top1_cross_tick"].values).all()


def test_every_variable_has_a_long_name_units_and_a_description():
    ds = spms_mc.simulate(spms_mc.load_scenario("cete", {"population.households": 300, "population.firms": 3,
                                                         "run.ticks": 360, "run.burn_in": 0}))
    for v in list(ds.data_vars) + ["tick", "quantile"]:
        attrs = ds[v].attrs
        assert attrs.get("long_name") and attrs.get("units") and attrs.get("description"), v
        assert len(attrs["long_name"]) <= len(attrs["description"])


def test_the_lock_in_monitor_reads_money_where_net_wealth_is_no_base_for_shares():
    from spms_mc.engine.output import first_crossing

    # money created only as loans: household net wealth sums to about nothing, its "top-1 % share" is
    # above 1 - no share at all; the monitor reads the shares of money instead
    credit = spms_mc.simulate(spms_mc.load_scenario("bank_credit", {"population.households": 500}))
    assert float(credit["top1_share_wealth"].max()) > 1
    assert credit["top1_cross_tick"].attrs["base"] == "money"
    want = first_crossing(credit["top1_share"].values, credit["tick"].values, 0.4)
    assert np.array_equal(credit["top1_cross_tick"].values, want, equal_nan=True) and np.isfinite(want).all()
    bau = spms_mc.simulate(spms_mc.load_scenario("ai_bau", {"population.households": 500, "run.ticks": 720}))
    assert bau["top1_cross_tick"].attrs["base"] == "net wealth"
