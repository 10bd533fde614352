"""Production economy, government money (Godley & Lavoie's SIM) and bank-credit money.

Truth comes from: the book's steady state of model SIM and an exact integer replay of its recursion;
slow Python oracles of every economy kernel; exact ledger and bank balance-sheet identities; the
configured automation path; ensembles (stationarity without automation, the K-shape with it);
and the SuMSy run itself (the bank-credit replay must carry a bit-identical copy of it).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import spms_mc
from spms_mc.core.config import ScenarioError
from spms_mc.mechanisms.economy import automation_progress, labour_share_at
from spms_mc.engine.member import Engine
from spms_mc.engine.output import to_dataset
from spms_mc_kernels import economy as ek
from spms_mc_kernels.rng import draw_uniform


def run(name, over=None, seed=1, member=0):
    eng = Engine(spms_mc.load_scenario(name, over or {}), seed, member)
    res = eng.run()
    return eng, res, to_dataset(res)


SMALL = {"population.households": 2000, "population.firms": 20}


# ------------------------------------------------------------------------------------------
# Godley & Lavoie, model SIM
# ------------------------------------------------------------------------------------------
def sim_oracle(G, theta, a1, a2, ticks, minor=100):
    """Exact integer recursion of gl_sim_lagged (period = 1 tick): per tick the revenue settled at its
    start, the household balance at its end and the tax withheld."""
    G = G * minor
    revenue, balance, rows = 0, 0, []
    for _ in range(ticks):
        settled = revenue
        wage = math.floor(1.0 * settled)
        tax = math.floor(theta * wage)
        income = wage - tax
        plan = math.floor(a1 * income + a2 * balance)
        balance += income
        spend = min(plan, balance)
        balance -= spend
        revenue = G + spend
        rows.append((settled, balance, tax))
    return np.array(rows)


def test_sim_reproduces_the_book_steady_state():
    """Godley & Lavoie (2007) ch. 3, G = 20, theta = 0.2, alpha1 = 0.6, alpha2 = 0.4:
    Y* = G/theta = 100, T* = 20, YD* = C* = 80, H* = 80."""
    eng, res, ds = run("gl_sim_lagged")
    last = ds.isel(time=-1, member=0)
    Y = float(last.nominal_spending)
    assert Y == pytest.approx(100.0, abs=0.02)
    tax = ds.flows_destroyed.sel(flow="tax").isel(member=0, time=-1).item() / 100
    assert tax == pytest.approx(20.0, abs=0.01)
    assert float(last.mean_balance) == pytest.approx(80.0, abs=0.02)  # H*: the household's money
    assert Y - 20.0 == pytest.approx(80.0, abs=0.02)  # C* = Y* - G
    assert float(last.wages) - tax == pytest.approx(80.0, abs=0.02)  # YD* = W - T
    assert float(last.labour_share) == 1.0 and float(last.price_level) == pytest.approx(1.0, abs=2e-4)


def test_sim_path_matches_the_exact_recursion():
    eng, res, ds = run("gl_sim_lagged")
    want = sim_oracle(20.0, 0.2, 0.6, 0.4, eng.sc.run.ticks)
    ticks = ds.tick.values[1:]
    np.testing.assert_array_equal(np.round(ds.nominal_spending.values[0, 1:] * 100).astype(np.int64),
                                  want[ticks - 1, 0])
    np.testing.assert_array_equal(np.round(ds.mean_balance.values[0, 1:] * 100).astype(np.int64),
                                  want[ticks - 1, 1])
    np.testing.assert_array_equal(ds.flows_destroyed.sel(flow="tax").values[0, 1:], want[ticks - 1, 2])


@pytest.mark.parametrize("G, theta", [(20.0, 0.2), (30.0, 0.25), (10.0, 0.1)])
def test_sim_steady_state_is_g_over_theta(G, theta):
    _, _, ds = run("gl_sim_lagged", {"government.spending": G, "government.income_tax": theta, "run.ticks": 400})
    Y = float(ds.nominal_spending.isel(member=0, time=-1))
    assert Y == pytest.approx(G / theta, rel=2e-3)
    # H* = alpha3 YD* with alpha3 = (1 - alpha1)/alpha2 = 1
    assert float(ds.mean_balance.isel(member=0, time=-1)) == pytest.approx((1 - theta) * G / theta, rel=2e-3)


# ------------------------------------------------------------------------------------------
# exact accounting
# ------------------------------------------------------------------------------------------
def bank_of(eng):
    p = eng.processes[-1]
    return p.bank


@pytest.mark.parametrize("over", [{}, {"bank.household_credit_limit": 0.0, "bank.firm_credit_limit": 0.0},
                                  {"bank.initial_capital": 2000.0}, {"economy.investment": 0.3}])
def test_ledger_and_bank_balance_sheet_are_exact(over):
    """money change == created - destroyed at every sample, and the bank's balance sheet:
    (loans - capital - declared dividends) moved by exactly the money the bank created net."""
    eng, res, ds = run("ai_bau_fixed_equity", {**SMALL, "run.ticks": 1440, **over})
    dm = np.diff(res.money_stock)
    net = (res.flows_created - res.flows_destroyed).sum(axis=1)[1:]
    np.testing.assert_array_equal(dm, net)
    f = dict(zip(res.flows, (res.flows_created - res.flows_destroyed).sum(axis=0)))
    bank = bank_of(eng)
    created_by_bank = f["credit"] + f["bank_dividend"] + f["repayment"] + f["interest"] + f["default"]
    k0 = eng.sc.minor(eng.sc.bank.initial_capital)
    assert bank.loans - bank.capital - bank.dividend_due - (0 - k0) == created_by_bank
    assert bank.loans == int(eng.state.loans.sum())
    assert eng.state.balance.min() >= 0 and eng.state.loans.min() >= 0


def test_defaults_write_loans_off_and_recover_deposits():
    eng, res, ds = run("ai_bau_fixed_equity", {**SMALL, "run.ticks": 2880, "bank.household_credit_limit": 3000.0})
    assert ds.defaults.sum() > 0
    assert ds.flows_destroyed.sel(flow="default").sum() > 0  # deposits recovered
    bank = bank_of(eng)
    assert bank.loans == int(eng.state.loans.sum())
    assert eng.state.loans[:2000].max() <= eng.sc.minor(3000.0) + eng.state.plan.max()  # within a period's borrowing


def test_capital_ratio_rations_credit():
    _, _, free = run("ai_bau_fixed_equity", {**SMALL, "run.ticks": 720})
    eng, res, tight = run("ai_bau_fixed_equity", {**SMALL, "run.ticks": 720, "bank.initial_capital": 5000.0,
                                     "bank.household_credit_limit": 0.0, "bank.firm_credit_limit": 0.0})
    lent_free = free.flows_created.sel(flow="credit").sum().item()
    lent_tight = tight.flows_created.sel(flow="credit").sum().item()
    assert 0 < lent_tight < lent_free / 10
    # no refinancing here: every loan was granted within the capital ratio at the time
    cap = np.maximum.accumulate(tight.bank_capital.values[0])
    assert np.all(tight.loans_outstanding.values[0] <= cap / 0.08 + 0.01)


def test_bank_grants_pro_rata_within_headroom():
    from spms_mc.mechanisms.credit import Bank

    sc = spms_mc.load_scenario("ai_bau_fixed_equity", SMALL)
    eng = Engine(sc, 1)
    bank = Bank(eng.processes[-1])
    bank.capital, bank.loans = 800, 9000  # headroom 10000 - 9000 = 1000 minor units
    assert bank.headroom() == 1000 and bank.grant(1000) == 1.0
    g = bank.grant(4000)
    assert g < 0.25 and sum(math.floor(s * g) for s in (1000, 1000, 2000)) <= 1000
    bank.capital = -1
    assert bank.headroom() == 0 and bank.grant(5) == 0.0


# ------------------------------------------------------------------------------------------
# dynamics: stationarity, the automation path, the K-shape (ensembles)
# ------------------------------------------------------------------------------------------
STATIONARY = {**SMALL, "bank.enabled": False, "economy.automation": False, "run.ticks": 2700,
              "run.sample_every": 270}


def test_without_lending_and_automation_the_economy_is_stationary():
    rows = []
    for m in range(6):
        _, res, ds = run("ai_bau_fixed_equity", STATIONARY, seed=5, member=m)
        assert np.all(res.money_stock == res.money_stock[0])  # no money created or destroyed
        rows.append([ds[v].values[0, [4, -1]] for v in ("nominal_spending", "labour_share", "gini",
                                                         "top1_share_wealth", "unemployment")])
    a = np.array(rows)  # member, variable, (mid, end)
    diff = a[:, :, 1] - a[:, :, 0]
    se = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
    scale = np.abs(a[:, :, 1]).mean(axis=0)
    assert np.all(np.abs(diff.mean(axis=0)) <= 4 * se + 2e-3 * scale), (diff.mean(axis=0), se)


def test_labour_share_and_displacement_follow_the_automation_path():
    sc_over = {**SMALL, "bank.enabled": False, "run.ticks": 7200, "run.sample_every": 360}
    eng, _, ds = run("ai_bau_fixed_equity", sc_over)
    sc = eng.sc
    ticks = ds.tick.values[1:]
    settled = ticks - sc.run.period  # the sample shows the period settled last
    want = np.array([labour_share_at(sc, int(t)) for t in settled])
    np.testing.assert_allclose(ds.labour_share.values[0, 1:], want, atol=2e-3)
    assert want[0] == pytest.approx(0.54, abs=1e-3) and want[-1] == pytest.approx(0.40, abs=1e-3)
    routine = 1 - sc.economy.ai_complementary_share - sc.economy.unemployed_share
    s = np.array([automation_progress(sc, int(t)) for t in settled])
    np.testing.assert_allclose(ds.unemployment.values[0, 1:],
                               sc.economy.unemployed_share + routine * sc.economy.routine_displacement * s,
                               atol=0.02)


def test_automation_makes_the_economy_k_shaped():
    over = {**SMALL, "run.ticks": 3600, "run.sample_every": 360}
    gain = {}
    for auto in (True, False):
        rows = []
        for m in range(3):
            _, _, ds = run("ai_bau_fixed_equity", {**over, "economy.automation": auto}, seed=9, member=m)
            rows.append([ds.top1_share.values[0, -1] - ds.top1_share.values[0, 1],
                         ds.top1_share_wealth.values[0, -1] - ds.top1_share_wealth.values[0, 1],
                         ds.gini.values[0, -1] - ds.gini.values[0, 1]])
        gain[auto] = np.array(rows)
    assert np.all(gain[True][:, 0] > 0.01) and np.all(np.abs(gain[False][:, 0]) < 0.005)
    assert np.all(gain[True][:, 1] > 0) and np.all(gain[True][:, 1] > gain[False][:, 1])
    assert np.all(gain[True][:, 2] > 0.03)


@pytest.mark.parametrize("target", [0.32, 0.5])
def test_initial_wealth_is_calibrated_to_the_top1_target(target):
    _, _, ds = run("ai_bau_fixed_equity", {"population.households": 20000, "population.firms": 50, "run.ticks": 30,
                              "economy.initial_top1_wealth_share": target})
    assert ds.top1_share_wealth.values[0, 0] == pytest.approx(target, abs=0.01)


def test_lock_in_monitor_watches_net_wealth():
    _, _, ds = run("ai_bau_fixed_equity", {**SMALL, "run.ticks": 60, "run.lock_in_threshold": 0.3})
    assert ds.top1_share.values[0, 0] < 0.3 <= ds.top1_share_wealth.values[0, 0]
    assert ds.top1_cross_tick.values[0] == 0


# ------------------------------------------------------------------------------------------
# the SuMSy paper's comparison run
# ------------------------------------------------------------------------------------------
def test_replay_carries_the_sumsy_run_bit_for_bit():
    over = {"population.households": 500, "run.ticks": 1800}
    _, _, sumsy = run("sumsy", over, seed=4)
    eng, res, both = run("sumsy_vs_credit", over, seed=4)
    np.testing.assert_array_equal(both.sumsy_money_stock.values, sumsy.money_stock.values)
    for v in ("gini", "top1_share", "top10_share", "bottom50_share"):
        np.testing.assert_array_equal(both[f"sumsy_{v}"].values[:, 1:], sumsy[v].values[:, 1:])
    assert "gi" not in both.flow.values  # money enters the credit economy only as loans
    assert both.flows_created.sel(flow="credit").sum() > 0
    assert bank_of(eng).loans == int(eng.state.loans.sum())


def test_replay_makes_the_same_payments_when_credit_is_unlimited():
    """With no rationing every household pays exactly what it pays in the SuMSy run, so the money
    that moved between households is the same in both: each credit balance differs from the SuMSy
    balance only by its own bank flows and SuMSy flows."""
    over = {"population.households": 300, "run.ticks": 29, "run.sample_every": 29, "bank.initial_capital": 1e9,
            "bank.household_credit_limit": 1e9}
    eng, res, ds = run("bank_credit", over, seed=2)
    replay = eng.processes[0]
    shadow = replay.shadow
    # within the first period there is no interest, no instalment and no GI after tick 0
    gi = eng.sc.minor(2000.0)
    np.testing.assert_array_equal(eng.state.balance - eng.state.loans, shadow.balance - gi)


# ------------------------------------------------------------------------------------------
# kernels against slow oracles
# ------------------------------------------------------------------------------------------
def rng_case(seed, n, hi):
    r = np.random.default_rng(seed)
    return r.integers(0, hi, n).astype(np.int64)


@pytest.mark.parametrize("lend, grant", [(False, 1.0), (True, 1.0), (True, 0.37)])
def test_consume_matches_oracle(lend, grant):
    n, F, period, k = 3000, 7, 5, 3
    balance = rng_case(1, n, 1000)
    plan = rng_case(2, n, 4000)
    loans = np.zeros(n, np.int64)
    cdf = np.cumsum(np.arange(1, F + 1, dtype=float))
    cdf /= cdf[-1]
    skey = np.uint64(12345)
    partial = np.zeros((16, F), np.int64)
    b, l = balance.copy(), loans.copy()
    spent, borrowed = ek.consume(b, plan, l, k, period, lend, grant, cdf, ek.guide_table(cdf, 2 * F), skey, partial)
    wb, wl, rev = balance.copy(), loans.copy(), np.zeros(F, np.int64)
    for i in range(n):
        want = plan[i] * (k + 1) // period - plan[i] * k // period
        if want <= 0:
            continue
        if want > wb[i] and lend:
            short = want - wb[i]
            loan = short if grant >= 1 else math.floor(short * grant)
            wl[i] += loan
            wb[i] += loan
        pay = min(want, wb[i])
        wb[i] -= pay
        if pay:
            rev[np.searchsorted(cdf, draw_uniform(skey, i), side="right")] += pay
    np.testing.assert_array_equal(b, wb)
    np.testing.assert_array_equal(l, wl)
    np.testing.assert_array_equal(partial.sum(axis=0), rev)
    assert spent == rev.sum() and borrowed == (wl - loans).sum()
    # the slices of a plan add up to it exactly
    assert sum(ek.period_slice(np.int64(1234567), kk, 30) for kk in range(30)) == 1234567


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(1e-6, 1e3), min_size=1, max_size=60), st.integers(1, 200),
       st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=50))
def test_guided_firm_draw_is_the_bisection(weights, m, us):
    """The guide-table draw returns searchsorted(cdf, u, 'right') for every u, any table size, and
    at the CDF's own steps (where float rounding of floor(u m) / m matters)."""
    from spms_mc.mechanisms.economy import cumulative

    cdf = cumulative(np.array(weights))
    guide = ek.guide_table(cdf, m)
    for u in list(us) + [float(c) for c in cdf[:-1]] + [np.nextafter(float(c), 0.0) for c in cdf[:-1]]:
        assert ek.pick_firm_guided(cdf, guide, u) == np.searchsorted(cdf, u, side="right") == ek.pick_firm(cdf, u)


def test_service_loans_matches_oracle():
    n = 2000
    balance = rng_case(3, n, 3000)
    loans = rng_case(4, n, 20000) * (rng_case(5, n, 3) > 0)
    rate, m, limit = 0.01, 12, 15000
    b, l = balance.copy(), loans.copy()
    got = ek.service_loans(b, l, 100, 1900, rate, m, np.int64(limit), 0.0, np.uint64(0))
    wb, wl = balance.copy(), loans.copy()
    tot = np.zeros(6, np.int64)
    for i in range(100, 1900):
        L = wl[i]
        if L <= 0:
            continue
        it, pr = math.floor(rate * L), -(-L // m)
        due = it + pr
        if wb[i] >= due:
            wb[i] -= due
            wl[i] = L - pr
            tot[:2] += (it, pr)
        elif L - pr + due - wb[i] <= limit:
            tot[:3] += (it, pr, due - wb[i])
            wl[i] = L - pr + due - wb[i]
            wb[i] = 0
        else:
            tot[3:] += (wb[i], L, 1)
            wb[i] = wl[i] = 0
    np.testing.assert_array_equal(b, wb)
    np.testing.assert_array_equal(l, wl)
    assert list(got) == list(tot)


def test_pay_households_and_employment_match_oracle():
    n, F = 1500, 5
    r = np.random.default_rng(6)
    kind = r.integers(0, 3, n).astype(np.uint8)
    employer = r.integers(0, F, n).astype(np.int32)
    equity = r.integers(0, 10**6, n).astype(np.int64)
    balance = rng_case(7, n, 5000)
    skill = np.array([20, 10, 0], np.int64)
    factor = r.uniform(0, 2, F)
    skey = np.uint64(99)
    disp = 0.4
    partial = np.zeros((16, F), np.int64)
    jobless = ek.employment_weights(kind, employer, skill, disp, factor, skey, partial)
    works = np.array([kind[i] != 2 and not (kind[i] == 1 and draw_uniform(skey, i) < disp * factor[employer[i]])
                      for i in range(n)])
    S = np.zeros(F, np.int64)
    np.add.at(S, employer[works], skill[kind[works]])
    assert jobless == (~works).sum()
    np.testing.assert_array_equal(partial.sum(axis=0), S)
    W = np.array([10**7, 3 * 10**6, 12345, 0, 777], np.int64)
    pool = 5_432_109
    inv = ek.SHARE_MARGIN / equity.sum()
    b, plan = balance.copy(), np.zeros(n, np.int64)
    got = ek.pay_households(b, plan, kind, employer, equity, skill, disp, factor, skey, W, S, float(pool), inv,
                            0.15, 0.6, 0.4, np.int64(700))
    wage = np.where(works, W[employer] * skill[kind] // np.maximum(S[employer], 1), 0)
    div = np.array([math.floor(pool * (equity[i] * inv)) for i in range(n)])
    tax = np.array([math.floor(0.15 * (wage[i] + div[i])) for i in range(n)])
    income = wage + div - tax
    want_plan = np.array([max(math.floor(0.6 * income[i] + 0.4 * balance[i]), 700) for i in range(n)])
    np.testing.assert_array_equal(b, balance + income)
    np.testing.assert_array_equal(plan, want_plan)
    assert list(got) == [wage.sum(), div.sum(), tax.sum(), want_plan.sum()]
    assert div.sum() <= pool and all(wage[employer == f].sum() <= W[f] for f in range(F))


def test_debit_or_borrow_matches_oracle():
    n = 1000
    balance, debits = rng_case(8, n, 500), rng_case(9, n, 900)
    for lend, grant in ((True, 1.0), (True, 0.5), (False, 1.0)):
        b, l, d = balance.copy(), np.zeros(n, np.int64), debits.copy()
        paid, borrowed = ek.debit_or_borrow(b, l, d, lend, grant)
        short = np.maximum(debits - balance, 0)
        loan = (short if grant >= 1 else np.floor(short * grant).astype(np.int64)) if lend else 0 * short
        pay = np.minimum(debits, balance + loan)
        np.testing.assert_array_equal(l, loan)
        np.testing.assert_array_equal(d, pay)
        np.testing.assert_array_equal(b, balance + loan - pay)
        assert paid == pay.sum() and borrowed == loan.sum()


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("over, pattern", [
    ({"economy.labour_share_start": 1.2}, r"economy.labour_share_start = 1.2 is out of range; accepted: \[0, 1\]"),
    ({"economy.labour_share_end": -0.1}, r"economy.labour_share_end = -0.1 is out of range"),
    ({"bank.interest": -0.01}, r"bank.interest = -0.01 is out of range; accepted: \[0, 1\]"),
    ({"bank.capital_ratio": 0.0}, r"bank.capital_ratio = 0.0 is out of range; accepted: \(0, 1\]"),
    ({"bank.capital_ratio": -0.5}, r"bank.capital_ratio = -0.5 is out of range"),
    ({"population.firms": 3000}, r"population.firms = 3000 is more than population.households = 2000"),
    ({"population.firms": 0}, r"economy.enabled needs firms"),
    ({"economy.ai_complementary_share": 0.7, "economy.unemployed_share": 0.5}, r"exceeds 1"),
    ({"economy.initial_top1_wealth_share": 0.999}, r"economy.initial_top1_wealth_share = 0.999 cannot be reached"),
    ({"economy.enabled": False}, r"bank.enabled needs borrowers"),
    ({"government.enabled": True, "economy.enabled": False, "bank.enabled": False},
     r"government.enabled needs economy.enabled"),
    ({"bank.replay": "sumsy"}, r"bank.replay = 'sumsy' replays .* it needs sumsy.enabled = true"),
    ({"bank.maturity": 0}, r"bank.maturity = 0 is out of range"),
])
def test_bad_economy_input_is_refused_with_the_key_named(over, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        spms_mc.load_scenario("ai_bau_fixed_equity", {**SMALL, **over})


def test_bad_replay_input_is_refused():
    with pytest.raises(ScenarioError, match=r"exchange.rule = 'random_fraction'"):
        spms_mc.load_scenario("bank_credit", {"exchange.rule": "yard_sale"})
    with pytest.raises(ScenarioError, match=r"bank.report_sumsy needs bank.replay"):
        spms_mc.load_scenario("ai_bau_fixed_equity", {**SMALL, "bank.report_sumsy": True})


# ------------------------------------------------------------------------------------------
# ensembles and reports
# ------------------------------------------------------------------------------------------
def test_economy_ensemble_store_and_report(tmp_path):
    pytest.importorskip("matplotlib")
    from spms_mc.report.pages import report

    sc = spms_mc.load_scenario("ai_bau_fixed_equity", {**SMALL, "run.ticks": 360})
    ens = spms_mc.run_ensemble(sc, members=2, seed=3, store=tmp_path / "e.zarr", scheduler="sync")
    one = to_dataset(Engine(sc, 3, 1).run())
    for v in ("labour_share", "unemployment", "price_level", "loans_outstanding", "bank_capital", "defaults",
              "gini_wealth", "top1_share_wealth", "lorenz_wealth", "top1_cross_tick"):
        np.testing.assert_array_equal(ens[v].sel(member=1).values, one[v].isel(member=0).values)
    assert ens.unemployment.attrs["units"] == "1" and ens.bank_capital.attrs["units"] == "currency units"
    out = report(tmp_path / "e.zarr", tmp_path / "rep")
    assert (tmp_path / "rep" / "regime_variables.png").stat().st_size > 10_000
    assert "Regime variables" in (out if isinstance(out, str) else out.read_text())


def test_a_wage_bill_whose_split_would_overflow_is_a_clear_error():
    """pay_households computes wage_bill * skill_weight in int64: a bill too large for that product
    stops the run with MoneyOverflowError before the kernel, never a wrap."""
    from spms_mc.core.errors import MoneyOverflowError

    sc = spms_mc.load_scenario("ai_bau_fixed_equity", {"population.households": 200, "population.firms": 2, "run.ticks": 60})
    eng = Engine(sc, 0, 0)
    econ = next(p for p in eng.processes if p.name == "economy")
    econ.revenue[:] = 2**60  # as if a firm had sold that much in the period
    with pytest.raises(MoneyOverflowError, match="wage bill of .* times the skill weight 20 overflows int64 at tick 30"):
        econ.on_period_start(30)
