"""Predistribution (docs/model.md section 6): ESOP vesting against hand-written schedules for a worker
hired, displaced and re-hired; contributions and forfeiture re-allocation against a Python oracle;
bond debt service by hand (coupons each period, principal on the due tick, deferral); the vertical
integration path and its fee base; the reform timing and the lock-in rule against the sampled
top-1 % share; exact accounting of whole runs; the bad input the issue names."""
from __future__ import annotations

import math

import numpy as np
import pytest
from spms_mc_kernels import bonds as bond_kernels
from spms_mc_kernels import esop as esop_kernels
from spms_mc_kernels.economy import ROUTINE

import spms_mc
from spms_mc.core.config import ScenarioError
from spms_mc.engine.member import Engine
from spms_mc.engine.output import to_dataset

SMALL = {"population.households": 2000, "population.firms": 20, "run.ticks": 2160, "run.sample_every": 30,
         "fund.pomv_first_lag": 1, "fund.pomv_last_lag": 2}
TPY = 360


def run(over, seed=1, name="predistribution"):
    eng = Engine(spms_mc.load_scenario(name, {**SMALL, **over}), seed, 0)
    return eng, to_dataset(eng.run())


def proc(eng, name):
    return eng.processes[[p.name for p in eng.processes].index(name)]


# ------------------------------------------------------------------------------------------
# ESOP vesting: one worker through the real kernel, employment switched by the displacement
# ------------------------------------------------------------------------------------------
class Worker:
    """One routine worker at one firm; ``displacement`` 0 keeps it employed, 2 displaces it."""

    def __init__(self, start_years, rate_ppm):
        self.equity = np.zeros(1, np.int64)
        self.units = np.zeros(1, np.int64)
        self.wages = np.zeros(1, np.int64)
        self.hired = np.full(1, -1, np.int32)
        self.vesting = (start_years, rate_ppm)

    def step(self, tick, employed):
        return esop_kernels.esop_service(
            self.equity, self.units, self.wages, self.hired, np.array([ROUTINE], np.uint8), np.zeros(1, np.int32),
            np.array([20, 10, 0], np.int64), 0.0 if employed else 2.0, np.ones(1), np.uint64(1),
            np.array([1000], np.int64), np.array([10], np.int64), np.int64(tick), np.int64(TPY),
            np.int64(self.vesting[0]), np.int64(self.vesting[1]))


CLIFF3 = [0, 0, 0, 1000, 1000, 1000, 1000, 1000]  # all after 3 years
GRADED = [0, 0, 200, 400, 600, 800, 1000, 1000]  # ERISA's six-year graded: 20 % a year from year 2


@pytest.mark.parametrize("vesting, schedule", [((3, 0), CLIFF3), ((2, 200_000), GRADED)])
def test_vesting_is_exact_at_every_anniversary(vesting, schedule):
    for years, vested in enumerate(schedule):
        # leaving on the anniversary, and the day before it
        for leave, expect in ((years * TPY, vested), (years * TPY - 1, schedule[years - 1] if years else 0)):
            if leave <= 0:
                continue
            w = Worker(*vesting)
            w.step(0, True)  # hired at tick 0
            w.units[0] = 1000
            assert w.step(leave, False)[:3] == (expect, 1000 - expect, 1)
            assert w.equity[0] == expect and w.units[0] == 0 and w.hired[0] == -1


def test_a_worker_hired_displaced_and_rehired_follows_the_hand_schedule():
    w = Worker(2, 200_000)
    assert w.step(0, True)[3] == 1 and w.hired[0] == 0  # hired
    assert w.wages[0] == 1000  # wage bill 1000 x routine skill 10 / weight 10
    w.units[0] = 1000
    assert w.step(3 * TPY + 90, False)[:3] == (400, 600, 1)  # displaced after 3 years: 40 % vested
    assert w.step(4 * TPY, False) == (0, 0, 0, 0)  # still out: nothing happens
    assert w.step(5 * TPY, True)[3] == 1 and w.hired[0] == 5 * TPY  # re-hired: a new spell
    w.units[0] = 500
    assert w.step(6 * TPY, True) == (0, 0, 0, 0)
    assert w.step(7 * TPY, False)[:3] == (100, 400, 1)  # 2 years into the new spell: 20 %
    assert w.equity[0] == 400 + 100  # the vested shares of both spells are the worker's


def test_contributions_and_reallocation_match_an_oracle():
    rng = np.random.default_rng(3)
    H = 1000
    units = rng.integers(0, 10**6, H).astype(np.int64)
    wages = rng.integers(0, 10**6, H).astype(np.int64)
    hired = np.where(rng.random(H) < 0.8, 5, -1).astype(np.int32)
    share, price, pool = 0.05, 3.7, 123_457
    in_service = hired >= 0
    W = int(wages[in_service].sum())
    u, w, h = units.copy(), wages.copy(), hired.copy()
    issued, realloc = esop_kernels.esop_contribute(u, w, h, share, price, np.float64(pool), (1 - 1e-12) / W)
    want = units.copy()
    for i in range(H):
        if wages[i] > 0 and hired[i] >= 0:
            want[i] += math.floor(share * int(wages[i]) / price) + (pool * int(wages[i])) // W
    assert np.array_equal(u, want) and not w.any()
    assert issued + realloc == int((want - units).sum()) and realloc <= pool and pool - realloc < H


def test_an_esop_run_keeps_units_exact_and_leavers_exit_with_capital(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"run.ticks": 3600, "run.sample_every": 360, "esop.vesting": "cliff", "esop.cliff_years": 1,
                   "economy.automation_years": 4.0, "bonds.enabled": False, "fund.enabled": False})
    esop, market = proc(eng, "esop"), proc(eng, "wealth")
    st = eng.state
    assert int(st.esop_units.sum()) + esop.forfeit_pool == esop.issued - esop.handed
    assert market.received["esop"] == esop.handed > 0  # displaced workers took vested units with them
    assert ds.esop_units_issued.values[0].sum() > 0 and ds.esop_share_of_units.values[0, -1] > 0
    assert ds.esop_dividends.values[0, 1:].sum() > 0
    # every household without a spell has an empty account
    assert not st.esop_units[st.hired < 0].any()


# ------------------------------------------------------------------------------------------
# bonds: debt service by hand, due ticks, deferral, integration
# ------------------------------------------------------------------------------------------
def test_bond_service_by_hand_and_deferral():
    face = np.array([0, 100, 12_345, 10**9], np.int64)
    balance = np.zeros(4, np.int64)
    rate = 0.03 / 12
    coupons, principal = bond_kernels.bond_service_due(face, rate, False)
    assert (coupons, principal) == (sum(math.floor(f * rate) for f in face), 0)
    f = face.copy()
    paid, retired, deferred = bond_kernels.pay_bond_service(balance, f, rate, False, 1.0)
    assert paid == coupons and retired == 0 and deferred == 0 and np.array_equal(f, face)
    # at maturity with half the money: half paid, the rest stays as face value
    b2, f2 = np.zeros(4, np.int64), face.copy()
    paid, retired, deferred = bond_kernels.pay_bond_service(b2, f2, rate, True, 0.5)
    due = np.array([math.floor(x * rate) + x for x in face])
    assert np.array_equal(b2, due // 2) and np.array_equal(f2, due - due // 2)
    assert retired == face.sum() and deferred == int((due - due // 2).sum()) and paid == int((due // 2).sum())


def test_coupons_each_period_and_principal_on_the_due_tick(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"run.ticks": 1440, "bonds.issue_years": 1, "bonds.maturity_years": 2, "bonds.rate": 0.06,
                   "fund.enabled": False, "esop.enabled": False})
    ticks = ds.tick.values
    retired = ds.bond_principal_retired.values[0]
    due_tick = 2 * TPY  # the vintage's first day (the run's start) + 2 years
    # the sample after the period starting at the due tick holds the whole principal
    assert retired[ticks == due_tick + 30][0] == pytest.approx(ds.bonds_outstanding.values[0, ticks == due_tick][0])
    assert np.all(retired[ticks != due_tick + 30] == 0)
    assert np.all(ds.bonds_outstanding.values[0, ticks >= due_tick + 30] == 0)
    # coupons every period while bonds are held: 0.5 % a period of the face held at the period
    # start, each holder's coupon rounded down (less than a minor unit each)
    paid = ds.bond_service_paid.values[0]
    held = ds.bonds_outstanding.values[0]
    H = eng.state.n_households
    for j in range(2, len(ticks)):
        if ticks[j] <= due_tick:
            assert 0.005 * held[j - 1] - H / 100 <= paid[j] <= 0.005 * held[j - 1] + 1e-6
    assert np.all(ds.bond_deferred.values[0] == 0)  # the rail covers every shortfall
    assert ds.flows_created.sel(flow="bond_shortfall_cover").values.sum() > 0


def test_the_authority_pays_its_surplus_beyond_a_year_of_debt_service(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"run.ticks": 2160, "run.sample_every": 360, "bonds.issue_years": 1, "bonds.maturity_years": 2,
                   "bonds.usage_fee": 0.5, "fund.enabled": False, "esop.enabled": False})
    money = ds.bond_authority_money.values[0]
    due = ds.bond_service_due.values[0]
    fees = ds.bond_fee_revenue.values[0]
    assert ds.bond_surplus_per_capita.values[0].sum() > 0
    # samples are at year ends: the authority keeps at most the reserve (the service due over the
    # year before) plus the fees of the year, and once the bonds are repaid the fees alone
    # (plus the remainder of the equal split, less than a minor unit per household)
    slack = eng.sc.n_eligible / eng.sc.run.minor_units
    for j in range(2, len(money)):
        assert money[j] <= due[j - 1] + fees[j] + slack
    assert ds.bonds_outstanding.values[0, -1] == 0 and money[-1] <= fees[-1] + slack


def test_deferred_service_capitalises_when_nothing_covers_it(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"run.ticks": 720, "bonds.shortfall": "defer", "bonds.usage_fee": 0.0, "bonds.issue_years": 1,
                   "fund.enabled": False, "esop.enabled": False})
    assert np.all(ds.bond_service_paid.values[0] == 0)
    deferred = ds.bond_deferred.values[0].sum()
    sold = ds.bond_sales.values[0].sum()
    assert deferred > 0 and ds.bonds_outstanding.values[0, -1] == pytest.approx(sold + deferred)


def test_zero_coupon_bonds_sell_at_a_discount_and_pay_no_coupon(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"run.ticks": 720, "bonds.kind": "zero", "bonds.rate": 0.05, "bonds.issue_years": 1,
                   "fund.enabled": False, "esop.enabled": False})
    sold, face = ds.bond_sales.values[0].sum(), ds.bonds_outstanding.values[0, -1]
    # bought during the first year, 9 to 10 years before maturity
    assert 1.05 ** -10 * face * 0.999 <= sold <= 1.05 ** -9 * face * 1.001
    assert np.all(ds.bond_service_paid.values[0] == 0)


def test_the_integration_path_lowers_the_fee_base():
    over = {"run.ticks": 2880, "run.sample_every": 360, "fund.enabled": False, "esop.enabled": False,
            "bonds.integration_years": 4.0}
    eng, none = run({**over, "bonds.integration_share": 0.0})
    _, half = run({**over, "bonds.integration_share": 0.8})
    bonds = proc(eng, "bonds")
    n_ai = len(bonds.ai_firms)
    for tick, seen in zip(half.tick.values[1:], half.bond_integrated_share.values[0, 1:]):
        years = (tick - 30) / TPY
        assert seen == math.floor(0.8 * min(1.0, years / 4.0) * n_ai + 1e-9) / n_ai
    base0, base1 = none.bond_fee_base.values[0], half.bond_fee_base.values[0]
    assert base1[-1] < 0.6 * base0[-1]
    assert half.bond_coverage.values[0, -1] < none.bond_coverage.values[0, -1]


def test_endogenous_integration_follows_the_fee_burden():
    over = {"run.ticks": 1800, "run.sample_every": 360, "fund.enabled": False, "esop.enabled": False,
            "bonds.integration": "endogenous", "bonds.integration_share": 1.0}
    _, eager = run({**over, "bonds.integration_threshold": 1e-6})
    _, never = run({**over, "bonds.integration_threshold": 100.0})
    assert eager.bond_integrated_share.values[0, -1] > 0
    assert np.all(never.bond_integrated_share.values[0] == 0)


# ------------------------------------------------------------------------------------------
# reform timing and the lock-in rule
# ------------------------------------------------------------------------------------------
def test_reforms_start_at_their_start_year(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"reform.enabled": True, "reform.start_year": 2.0, "run.ticks": 1440})
    before = ds.tick.values <= 2 * TPY
    for name in ("fund_inflows", "bond_sales", "esop_units_issued", "reform_level"):
        assert np.all(ds[name].values[0, before] == 0), name
    assert np.all(ds.reform_level.values[0, ~before] == 1)
    assert ds.bond_sales.values[0, ~before].sum() > 0 and ds.fund_inflows.values[0, ~before].sum() > 0


@pytest.mark.parametrize("rule, level", [("none", 1.0), ("block", 0.0), ("weaken", 0.25)])
def test_the_lock_in_rule_reads_the_top1_share_at_the_start(rule, level):
    # a threshold below today's 0.324: the start finds the economy locked in
    eng, ds = run({"reform.enabled": True, "reform.start_year": 1.0, "reform.lock_in_rule": rule,
                   "reform.weakening": 0.75, "run.lock_in_threshold": 0.3, "run.ticks": 1080})
    ticks = ds.tick.values
    at_start = ds.reform_start_top1_share.values[0, -1]
    # the share measured at the start is the sampled one just before it (nothing moves in between)
    assert at_start == pytest.approx(ds.top1_share_wealth.values[0, ticks == TPY][0], rel=1e-9)
    assert at_start >= 0.3 and ds.reform_level.values[0, -1] == level
    if rule == "block":
        assert ds.bond_sales.values[0].sum() == 0 and ds.fund_inflows.values[0].sum() == 0


def test_weakening_scales_the_bond_offer():
    over = {"reform.enabled": True, "reform.lock_in_rule": "weaken", "run.lock_in_threshold": 0.3,
            "fund.enabled": False, "esop.enabled": False, "bonds.purchase_share": 1.0, "run.ticks": 1080}
    e1, full = run({**over, "reform.weakening": 0.0})
    e2, half = run({**over, "reform.weakening": 0.5})
    assert proc(e2, "bonds").sold <= 0.5 * proc(e1, "bonds").sold + 1


def test_predistribution_keeps_every_identity(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"run.ticks": 2880, "run.sample_every": 360})
    bonds = proc(eng, "bonds")
    assert bonds.face_held() == bonds.sold + bonds.deferred - bonds.retired > 0
    assert ds.dividend_per_capita.values[0, 1:].sum() > 0 and ds.bond_fee_revenue.values[0, 1:].sum() > 0


@pytest.mark.parametrize("over, key", [
    ({"esop.cliff_years": -1}, "esop.cliff_years"),
    ({"esop.graded_start_years": -2}, "esop.graded_start_years"),
    ({"esop.graded_rate": 0.0}, "esop.graded_rate"),
    ({"esop.graded_rate": 1.5}, "esop.graded_rate"),
    ({"esop.payroll_share": 1.5}, "esop.payroll_share"),
    ({"bonds.purchase_share": -0.1}, "bonds.purchase_share"),
    ({"bonds.integration_share": 2.0}, "bonds.integration_share"),
    ({"bonds.maturity_years": 0}, "bonds.maturity_years"),
    ({"reform.enabled": True, "reform.start_year": 40.0}, "reform.start_year"),
    ({"reform.weakening": 1.5}, "reform.weakening"),
])
def test_bad_predistribution_input_is_refused_naming_the_key(over, key):
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        spms_mc.load_scenario("predistribution", over)
