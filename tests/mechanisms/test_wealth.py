"""Wealth dynamics (spms_mc.mechanisms.wealth, docs/model.md section 3a): the kernels against slow
NumPy oracles, the initial distribution against the DFA group shares it must hit, exact accounting
of units and money in whole runs (identities computed from the state), stationarity without
automation, the K-shape with it, the calibrated historical preset at small N, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spms_mc_kernels import wealth as wk
from spms_mc_kernels.economy import SHARE_MARGIN
from spms_mc_kernels.rng import draw_uniform

import spms_mc
from spms_mc.core.config import ScenarioError
from spms_mc.engine.member import Engine
from spms_mc.engine.output import to_dataset
from spms_mc.mechanisms.wealth import (
    UNITS_PER_SHARE,
    group_bounds,
    take_from,
    wealth_by_rank,
    wealth_profile,
)

DFA_1989 = (0.239, 0.370, 0.354, 0.037)
DFA_2019 = (0.324, 0.370, 0.287, 0.019)
SMALL = {"population.households": 2000, "population.firms": 20}


def run(name, over=None, seed=1, member=0):
    eng = Engine(spms_mc.load_scenario(name, over or {}), seed, member)
    res = eng.run()
    return eng, res, to_dataset(res)


def measured_shares(w: np.ndarray) -> list[float]:
    """Top 1 %, next 9 %, next 40 %, bottom 50 % of ``w`` by sorting (groups cut as the statistics do)."""
    s = np.sort(w)
    return [s[lo:hi].sum() / s.sum() for lo, hi in group_bounds(len(s))]


# ------------------------------------------------------------------------------------------
# the initial distribution
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shares", [DFA_1989, DFA_2019])
@pytest.mark.parametrize("H", [1000, 10_000, 123_457])
def test_wealth_by_rank_hits_the_dfa_shares_and_rises_with_rank(shares, H):
    w = wealth_by_rank(shares, 1.5, H)
    assert np.all(np.diff(w) > 0)  # a profile, so the rank groups are the wealth groups
    np.testing.assert_allclose(measured_shares(w), shares, atol=1e-12)
    v0, v50, v90, v99 = wealth_profile(shares, 1.5)
    assert 0 < v0 < v50 < v90 < v99


def test_log_linear_segments_have_the_group_means():
    shares = DFA_1989
    v0, v50, v90, v99 = wealth_profile(shares, 1.5)
    t = (np.arange(200_000) + 0.5) / 200_000
    for (a, b), mean in (((v90, v99), shares[1] / 0.09), ((v50, v90), shares[2] / 0.40), ((v0, v50), shares[3] / 0.5)):
        assert np.mean(a * (b / a) ** t) == pytest.approx(mean, rel=1e-6)
    assert v99 * 1.5 / 0.5 == pytest.approx(shares[0] / 0.01)  # the Pareto tail's mean


@pytest.mark.parametrize("shares, key", [
    ((0.30, 0.30, 0.30, 0.05), "sum"),             # adds up to 0.95
    ((0.05, 0.20, 0.40, 0.35), "initial_share_"),  # the top 1 % poorer per head than the next 9 %
    ((0.24, 0.37, 0.0, 0.39), "positive"),
])
def test_unreachable_initial_shares_are_refused_naming_the_keys(shares, key):
    over = {"wealth.enabled": True, **{f"wealth.initial_share_{g}": v
                                       for g, v in zip(("top1", "next9", "next40", "bottom50"), shares)}}
    with pytest.raises(ScenarioError, match=key):
        spms_mc.load_scenario("ai_bau", over)


@pytest.mark.parametrize("key, value", [("wealth.saving_rate_top", 1.2), ("wealth.saving_rate_bottom", -0.1),
                                        ("wealth.owner_share_of_ai_profits", 1.5),
                                        ("wealth.return_wealth_elasticity", -0.1), ("economy.discount_rate", -0.05),
                                        ("wealth.capital_depreciation", 2.0)])
def test_rates_and_shares_outside_their_range_are_refused(key, value):
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        spms_mc.load_scenario("ai_bau", {key: value})


def test_cross_checks_name_their_keys():
    with pytest.raises(ScenarioError, match="saving_rate_bottom"):
        spms_mc.load_scenario("ai_bau", {"wealth.saving_rate_bottom": 0.5, "wealth.saving_rate_top": 0.2})
    with pytest.raises(ScenarioError, match="economy.enabled"):
        spms_mc.load_scenario("sumsy", {"wealth.enabled": True})
    with pytest.raises(ScenarioError, match="run.burn_in"):
        spms_mc.load_scenario("ai_bau", {"run.burn_in": 45})


def test_a_member_starts_at_the_requested_shares():
    _, _, ds = run("ai_bau", {**SMALL, "run.ticks": 30, "run.burn_in": 0})
    start = [float(ds[v].values[0, 0]) for v in ("top1_share_wealth", "next9_share_wealth", "next40_share_wealth",
                                                  "bottom50_share_wealth")]
    np.testing.assert_allclose(start, DFA_2019, atol=2e-4)  # floors of money and units only


def test_after_the_burn_in_the_shares_are_laid_out_again():
    _, _, ds = run("ai_bau", {**SMALL, "run.ticks": 60, "run.burn_in": 360})
    start = [float(ds[v].values[0, 0]) for v in ("top1_share_wealth", "next9_share_wealth", "next40_share_wealth",
                                                  "bottom50_share_wealth")]
    np.testing.assert_allclose(start, DFA_2019, atol=5e-4)
    assert ds.flows_created.values[0, 0].sum() == 0  # the burn-in's flows are not reported
    assert ds.wages.values[0, 0] == 0


# ------------------------------------------------------------------------------------------
# kernels against oracles
# ------------------------------------------------------------------------------------------
def test_pay_and_save_matches_oracle():
    n, F = 1500, 5
    r = np.random.default_rng(11)
    kind = r.integers(0, 3, n).astype(np.uint8)
    employer = r.integers(0, F, n).astype(np.int32)
    equity = r.integers(0, 10**6, n).astype(np.int64) * (r.random(n) < 0.8)
    balance = r.integers(0, 50_000, n).astype(np.int64)
    loans = r.integers(0, 30_000, n).astype(np.int64) * (r.random(n) < 0.2)
    skill = np.array([20, 10, 0], np.int64)
    factor = r.uniform(0, 2, F)
    skey, disp = np.uint64(5), 0.3
    W = np.array([10**7, 3 * 10**6, 12345, 0, 777], np.int64)
    S = np.zeros(F, np.int64)
    works = np.array([kind[i] != 2 and not (kind[i] == 1 and draw_uniform(skey, i) < disp * factor[employer[i]])
                      for i in range(n)])
    np.add.at(S, employer[works], skill[kind[works]])
    price, pool, flat, h, s_lo, s_hi, x_half, a1, a2, sub, theta = 0.37, 4_321_987.0, 17, 0.15, 0.02, 0.4, 3.0, \
        0.6, 0.4, np.int64(900), 0.1
    net = balance + np.floor(equity * price).astype(np.int64) - loans
    inv_mean = n / net.sum()
    x = np.maximum(net, 0) * inv_mean
    omega = (1 + x) ** h
    partial = np.zeros(16)
    wk.weighted_units(balance, equity, loans, price, inv_mean, h, partial)
    assert partial.sum() == pytest.approx((equity * omega).sum(), rel=1e-12)
    inv_w = SHARE_MARGIN / partial.sum()
    b, plan, order, inc, dv = balance.copy(), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64), \
        np.zeros(n, np.int64)
    got = wk.pay_and_save(b, plan, order, inc, dv, kind, employer, equity, loans, skill, disp, factor, skey, W, S,
                          pool, inv_w, np.int64(flat), theta, a1, a2, sub, price, inv_mean, h, s_lo, s_hi, x_half)
    wage = np.where(works, W[employer] * skill[kind] // np.maximum(S[employer], 1), 0)
    div = np.array([flat + (math.floor(pool * (equity[i] * omega[i] * inv_w)) if equity[i] > 0 else 0)
                    for i in range(n)])
    tax = np.floor(theta * (wage + div)).astype(np.int64)
    income = wage + div - tax
    rate = s_lo + (s_hi - s_lo) * x / (x + x_half)
    save = np.floor(rate * income).astype(np.int64)
    want = np.maximum(np.floor(a1 * (income - save) + a2 * balance).astype(np.int64), sub)
    room = balance + income - want
    want_order = np.where(room >= 0, np.minimum(save, room), -np.minimum(-room, np.floor(equity * price)))
    np.testing.assert_array_equal(b, balance + income)
    np.testing.assert_array_equal(plan, want)
    np.testing.assert_array_equal(order, want_order.astype(np.int64))
    np.testing.assert_array_equal(inc, income)
    np.testing.assert_array_equal(dv, div)
    assert (div - flat).sum() <= pool  # the weighted floors never pay more than the pool
    buys, sells = want_order[want_order > 0].sum(), -want_order[want_order < 0].sum()
    assert list(got) == [wage.sum(), div.sum(), tax.sum(), want.sum(), buys, sells, (want_order < 0).sum()]


@pytest.mark.parametrize("price, grant", [(0.37, 1.0), (3.1e-3, 1.0), (123.456, 0.6), (1.0, 0.0)])
def test_execute_orders_moves_exactly_price_times_units(price, grant):
    n = 3000
    r = np.random.default_rng(12)
    balance = r.integers(0, 10**7, n).astype(np.int64)
    equity = r.integers(0, 10**9, n).astype(np.int64)
    order = r.integers(-10**6, 10**6, n).astype(np.int64) * (r.random(n) < 0.7)
    b, e, o = balance.copy(), equity.copy(), order.copy()
    cost, proceeds, bought, sold = wk.execute_orders(b, e, o, price, grant)
    du, dm = e - equity, b - balance
    buy, sale = order > 0, order < 0
    # units from the rule, money from the units: a buy pays ceil(u P) <= its order, a sale gets floor(u P)
    amount = np.minimum(order, balance)
    want_u = np.array([math.floor(a / price) for a in amount])
    want_u = np.array([u - 1 if u > 0 and math.ceil(u * price) > a else u for u, a in zip(want_u, amount)])
    assert np.array_equal(du[buy], want_u[buy])
    assert np.array_equal(-dm[buy], [math.ceil(u * price) for u in du[buy]])
    assert np.all(-dm[buy] <= amount[buy])
    value = np.array([v if grant >= 1 else math.floor(v * grant) for v in -order])
    want_sold = np.minimum(equity, [math.ceil(v / price) for v in value])
    assert np.array_equal(-du[sale], want_sold[sale])
    assert np.array_equal(dm[sale], [math.floor(u * price) for u in -du[sale]])
    assert np.all(du[~(buy | sale)] == 0) and np.all(dm[~(buy | sale)] == 0)
    assert cost == -dm[buy].sum() and proceeds == dm[sale].sum()
    assert bought == du[buy].sum() and sold == -du[sale].sum()
    assert np.all(b >= 0) and np.all(e >= 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6), max_size=40), st.lists(st.integers(-10**6, 10**6), max_size=40),
       st.data())
def test_kth_of_two_runs_is_the_kth_of_their_union(a, b, data):
    if not a and not b:
        return
    k = data.draw(st.integers(0, len(a) + len(b) - 1))
    a, b = np.sort(np.array(a, np.int64)), np.sort(np.array(b, np.int64))
    assert wk.kth_of_runs(a, b, k) == np.sort(np.concatenate([a, b]))[k]


def test_wealth_group_sums_match_numpy():
    n = 5000
    r = np.random.default_rng(13)
    w = r.integers(-1000, 10**6, n).astype(np.int64)
    income, plan, div, units = (r.integers(0, 10**5, n).astype(np.int64) for _ in range(4))
    cuts = tuple(int(np.sort(w)[n * q // 100]) for q in (50, 90, 99))
    partial = np.zeros((16, wk.GROUPS, wk.G_FIELDS), np.int64)
    wk.wealth_group_sums(w, *cuts, income, plan, div, units, partial)
    sums = partial.sum(axis=0)
    group = np.select([w >= cuts[2], w >= cuts[1], w >= cuts[0]], [wk.TOP1, wk.NEXT9, wk.NEXT40], wk.BOTTOM50)
    for g in range(4):
        m = group == g
        assert list(sums[g]) == [m.sum(), income[m].sum(), (income - plan)[m].sum(), div[m].sum(), units[m].sum()]


def test_take_from_is_exact_and_never_overdraws():
    r = np.random.default_rng(14)
    for _ in range(200):
        have = r.integers(0, 10**6, r.integers(1, 40)).astype(np.int64)
        if have.sum() <= len(have):
            continue
        amount = int(r.integers(0, have.sum() - len(have) + 1))
        part = take_from(have, amount)
        assert part.sum() == amount and np.all(part >= 0) and np.all(part <= have)


# ------------------------------------------------------------------------------------------
# whole runs: exact accounting, stationarity, the K-shape, the calibration
# ------------------------------------------------------------------------------------------
def test_units_and_money_are_exact_in_a_run():
    """Every tick the engine checks the ledger and the units identity (SPMS_MC_CHECK_LEDGER=tick in
    the suite); here the outputs are checked against the state after the run, independently."""
    # without benefits the unemployed sell equity before they borrow: the market trades both ways
    eng, _, ds = run("us_1989_2019", {**SMALL, "run.ticks": 3600, "run.burn_in": 360,
                                        "government.unemployment_benefit": 0.0})
    st, market = eng.state, eng.processes[[p.name for p in eng.processes].index("wealth")]
    held = int(st.equity.sum())
    issued = ds.shares_issued.values[0, 1:].sum() * UNITS_PER_SHARE
    bought_back = ds.shares_bought_back.values[0, 1:].sum() * UNITS_PER_SHARE
    start = ds.shares_outstanding.values[0, 0] * UNITS_PER_SHARE
    assert held == pytest.approx(start + issued - bought_back, abs=1e-3 * 50)
    assert issued > 0 and bought_back > 0  # the market traded both ways
    assert held == market.units
    # the money stock from every balance against the ledger's flows, from the dataset
    money = ds.money_stock.values[0] * 100
    flows = (ds.flows_created - ds.flows_destroyed).values[0].sum(axis=-1)
    np.testing.assert_allclose(np.diff(money), flows[1:], atol=1e-6)
    # net wealth of the state: money + units x price - loans adds up to the mean reported
    H = st.n_households
    net = st.balance[:H] + np.floor(st.equity * market.price).astype(np.int64) - st.loans[:H]
    assert ds.mean_balance_wealth.values[0, -1] == pytest.approx(net.mean() / 100, rel=1e-12)


STATIONARY = {**SMALL, "economy.automation": False, "economy.ai_output_growth": 0.0, "wealth.saving_rate_top": 0.0,
              "wealth.saving_rate_bottom": 0.0, "wealth.return_wealth_elasticity": 0.0, "run.ticks": 3600,
              "run.sample_every": 360}


def test_without_automation_growth_and_issuance_the_wealth_shares_do_not_drift():
    rows = []
    for m in range(6):
        _, _, ds = run("us_1989_2019", STATIONARY, seed=5, member=m)
        assert np.all(ds.shares_issued.values[0, 1:] == 0)  # nobody saves into equity: no issuance
        rows.append([ds[v].values[0, [2, -1]] for v in ("top1_share_wealth", "next9_share_wealth",
                                                         "next40_share_wealth", "bottom50_share_wealth")])
    a = np.array(rows)
    diff = a[:, :, 1] - a[:, :, 0]
    se = diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
    scale = np.abs(a[:, :, 1]).mean(axis=0)
    assert np.all(np.abs(diff.mean(axis=0)) <= 4 * se + 5e-3 * scale), (diff.mean(axis=0), se)


def test_automation_makes_the_k_shape():
    """The top-1 % share of net wealth rises by several points in 20 years, more than without
    automation (8 members each, common random numbers)."""
    over = {**SMALL, "run.ticks": 7200, "run.sample_every": 720}
    rise = {True: [], False: []}
    for automation in (True, False):
        for m in range(8):
            _, _, ds = run("ai_bau", {**over, "economy.automation": automation}, seed=3, member=m)
            top = ds.top1_share_wealth.values[0]
            rise[automation].append(top[-1] - top[0])
    with_ai, without = np.array(rise[True]), np.array(rise[False])
    assert with_ai.mean() > 0.03
    assert (with_ai - without).mean() > 4 * (with_ai - without).std(ddof=1) / np.sqrt(8)


def test_the_calibrated_history_lands_near_the_dfa_2019_shares():
    """A small-N version of benchmarks/calibrate_us.py with the preset's fitted parameters."""
    ends = []
    for m in range(3):
        _, _, ds = run("us_1989_2019", SMALL, seed=1989, member=m)
        ends.append([ds[v].values[0, -1] for v in ("top1_share_wealth", "next9_share_wealth", "next40_share_wealth",
                                                    "bottom50_share_wealth")])
    median = np.median(np.array(ends), axis=0)
    np.testing.assert_allclose(median, DFA_2019, atol=0.04)
