"""The SuMSy paper's closed forms (the SuMSy paper, docs/sources.md, section 3.1.3 and 5.1).

Rounding makes the integer fixed points exact intervals: with every charge rounded down, an
inactive account settles in [GI/d, (GI + 1 minor)/d) and the money stock in
[n GI/d, n (GI/d + 1/d minor)); the tests assert those intervals plus the transient (1-d)^x.
"""
import numpy as np
import pytest

import spms_mc
from spms_mc.engine.member import Engine


def run_engine(sc, seed=1):
    eng = Engine(sc, seed)
    res = eng.run()
    return eng, res


@pytest.mark.parametrize("gi,d", [(2000.0, 0.01), (500.0, 0.05), (1000.0, 0.1)])
def test_inactive_account_follows_integer_recursion_to_gi_over_d(gi, d):
    periods = int(np.ceil(np.log(1e-9) / np.log(1 - d)))
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 4, "exchange.rule": "none", "sumsy.guaranteed_income": gi,
        "sumsy.demurrage": d, "run.ticks": 30 * periods, "run.track": [0], "run.check_ledger": "tick"})
    eng, res = run_engine(sc)
    # exact integer recursion b' = b - floor(d b) + GI (the period average of a constant balance is b)
    G = sc.minor(gi)
    b, expected = 0, [0]
    for _ in range(periods):
        b = b - int(np.floor(d * b)) + G
        expected.append(b)
    assert res.tracked[:, 0].tolist() == expected
    lo, hi = G / d, (G + 1) / d
    assert lo - 1 <= expected[-1] < hi + 1
    assert expected[-1] / 100 == pytest.approx(gi / d, rel=1e-6)


@pytest.mark.parametrize("exchange", ["none", "random_fraction"])
def test_one_tick_periods_on_the_average_balance(exchange):
    """GI + demurrage every tick on the period's average balance: alone, settlement reads the
    balance itself (no period sums kept); with exchange, the period sums (the start-of-tick
    balance). Against a slow NumPy oracle of the rule, and the ledger checked every tick."""
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 50, "exchange.rule": exchange, "run.period": 1, "run.ticks": 120,
        "run.sample_every": 1, "run.track": list(range(50)), "run.check_ledger": "tick",
        "sumsy.guaranteed_income": 20.0, "sumsy.demurrage": 0.03})
    eng = Engine(sc, 3)
    res = eng.run()
    sumsy = next(m for m in eng.processes if m.name == "sumsy")
    assert sumsy.average_is_balance == (exchange == "none")
    got = res.tracked.astype(np.int64)  # got[j]: every balance after j ticks
    G, d = sc.minor(20.0), 0.03
    # tick j settles on X[j-1], tick j-1's start-of-tick balance (the one-tick period's average):
    # X[j] = got[j] - floor(d X[j-1]) + G, X[0] = got[0] + G; the exchange then only moves money
    x = got[0] + G
    for j in range(1, got.shape[0] - 1):
        x = got[j] - np.floor(d * x).astype(np.int64) + G
        if exchange == "none":
            assert got[j + 1].tolist() == x.tolist()
        else:
            assert got[j + 1].sum() == x.sum()


def test_inactive_account_with_buffer_tends_to_buffer_plus_gi_over_d():
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 3, "exchange.rule": "none", "sumsy.demurrage": 0.1,
        "sumsy.demurrage_free_buffer": 5000.0, "run.ticks": 30 * 300, "run.track": [0]})
    _, res = run_engine(sc)
    assert res.tracked[-1, 0] / 100 == pytest.approx(5000 + 2000 / 0.1, rel=1e-6)


def test_non_eligible_inactive_account_tends_to_zero():
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 4, "population.eligible_share": 0.5, "exchange.rule": "none",
        "sumsy.demurrage": 0.2, "population.initial_balance": 1000.0, "run.ticks": 30 * 200,
        "run.track": [0, 3]})
    _, res = run_engine(sc)
    assert res.tracked[-1, 0] / 100 == pytest.approx(2000 / 0.2, rel=1e-6)
    # floor rounding stops demurrage below 1/d minor units
    assert 0 <= res.tracked[-1, 1] < 1 / 0.2


@pytest.mark.parametrize("gi,d,eligible", [(2000.0, 0.05, 1.0), (1000.0, 0.1, 0.6), (300.0, 0.03, 1.0)])
def test_money_stock_with_exchange_tends_to_eligible_times_gi_over_d(gi, d, eligible):
    n = 400
    periods = int(np.ceil(np.log(1e-7) / np.log(1 - d)))
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": n, "population.eligible_share": eligible, "sumsy.guaranteed_income": gi,
        "sumsy.demurrage": d, "run.ticks": 30 * periods, "run.check_ledger": "tick"})
    eng, res = run_engine(sc)
    n_elig = sc.n_eligible
    target = n_elig * sc.minor(gi) / d
    m = res.money_stock[-1]
    transient = (1 - d) ** periods * target
    assert target - transient - 1 <= m <= target + n / d + transient + 1
    # and money really moved between accounts: balances are unequal
    assert res.stats["gini"][-1] > 0.02


def test_money_stock_bounds_with_buffer_between_pooled_and_equal_cases():
    """Paper 5.1: with a buffer DF, n GI/d + DF <= M <= n GI/d + n DF."""
    n, d = 200, 0.1
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": n, "sumsy.demurrage": d, "sumsy.demurrage_free_buffer": 3000.0,
        "run.ticks": 30 * 250})
    _, res = run_engine(sc)
    m = res.money_stock[-1] / 100
    assert n * 2000 / d + 3000 <= m <= n * 2000 / d + n * 3000 + n / d


def test_account_balance_stays_within_paper_bounds():
    """Conclusion 4: with net income I_x in [I_min, I_max] per period, the balance tends into
    [(GI + I_min)/d, (GI + I_max)/d]. Account 0 gets 300 every period and 900 more every third."""
    d, gi = 0.05, 2000.0
    ev = [{"kind": "injection", "tick": 0, "every": 30, "target": "one", "account": 0, "amount": 300.0},
          {"kind": "injection", "tick": 0, "every": 90, "target": "one", "account": 0, "amount": 900.0}]
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 2, "exchange.rule": "none", "sumsy.demurrage": d, "run.ticks": 30 * 900,
        "run.track": [0], "events": ev, "run.check_ledger": "tick"})
    _, res = run_engine(sc)
    late = res.tracked[len(res.tracked) // 2:, 0] / 100
    lo, hi = (gi + 300) / d, (gi + 1200) / d
    assert late.min() >= lo - 1 and late.max() <= hi + 1
    assert late.mean() == pytest.approx((gi + 600) / d, rel=0.02)  # average income 600 per period
    # the bounds are tight: a constant income I gives exactly (GI + I)/d
    for amount in (300.0, 1200.0):
        const = sc.with_overrides({"events": [{**ev[0], "amount": amount}]})
        _, r = run_engine(const)
        assert r.tracked[-1, 0] / 100 == pytest.approx((gi + amount) / d, abs=0.2)


def test_transactional_variant_keeps_the_closed_forms():
    d = 0.05
    sc = spms_mc.load_scenario("sumsy_transactional", {
        "population.households": 300, "sumsy.demurrage": d, "run.ticks": 30 * 500,
        "run.track": [0], "run.check_ledger": "tick"})
    _, res = run_engine(sc)
    target = 300 * 2000 / d
    # pro-rata accrual rounds each touch down: the fixed point sits a little above target
    assert res.money_stock[-1] / 100 == pytest.approx(target, rel=2e-3)
    sc2 = sc.with_overrides({"exchange.rule": "none", "population.households": 2})
    _, res2 = run_engine(sc2)
    assert res2.tracked[-1, 0] / 100 == pytest.approx(2000 / d, rel=1e-3)


def test_governance_repurposed_demurrage_spends_budget_and_destroys_surplus():
    sc = spms_mc.load_scenario("sumsy_governance", {
        "population.households": 100, "sumsy.demurrage": 0.05, "governance.budget": 5000.0,
        "run.ticks": 30 * 300, "run.check_ledger": "tick"})
    eng, res = run_engine(sc)
    spend = res.extra["governance_spending"][1:] / 100
    assert np.all(spend[2:] == 5000.0)
    assert np.all(res.extra["governance_balance"] == 0)
    # only the surplus D - B is destroyed: M' = M - (dM - B) + n GI, so M tends to (n GI + B)/d
    assert res.money_stock[-1] / 100 == pytest.approx((100 * 2000 + 5000) / 0.05, rel=1e-4)
    surplus = res.flows_destroyed[:, res.flows.index("governance_surplus")]
    assert surplus[-1] > 0


@pytest.mark.parametrize("funding", ["fixed_rate", "on_demand"])
def test_governance_tax_variants(funding):
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 100, "sumsy.demurrage": 0.05, "governance.funding": funding,
        "governance.rate": 0.02, "governance.budget": 3000.0, "run.ticks": 30 * 200,
        "run.check_ledger": "tick"})
    _, res = run_engine(sc)
    spend = res.extra["governance_spending"][2:] / 100
    if funding == "on_demand":
        # F is sized for the budget; rounding each share down can only fall short by < n minor units
        assert np.all((spend <= 3000.0) & (spend > 3000.0 - 1.0))
        assert np.all(res.extra["governance_balance"] == 0)
    else:
        assert np.all(spend == 3000.0)
        gov = res.extra["governance_balance"][-1] / 100
        assert gov > 0  # keeps what it does not spend, and pays demurrage on it


def test_lent_buffer_keeps_firm_capital_demurrage_free():
    sc = spms_mc.load_scenario("sumsy_buffer", {"population.households": 20, "run.ticks": 30 * 300,
                                                "run.check_ledger": "tick",
                                                "sumsy.demurrage": 0.05,
                                                "sumsy.buffer_loans": [[0, 20, 5000.0], [1, 20, 5000.0],
                                                                       [2, 20, 2500.0], [3, 21, 5000.0]],
                                                "run.track": [0, 4, 20, 21, 22],
                                                "events": [{"kind": "injection", "tick": 300,
                                                            "target": "firms", "amount": 50000.0}]})
    _, res = run_engine(sc)
    final = res.tracked[-1] / 100
    # firms decay to exactly the buffer they borrowed (floor rounding: within 1/d minor units)
    assert final[2] == pytest.approx(12500.0, abs=0.2)
    assert final[3] == pytest.approx(5000.0, abs=0.2)
    assert final[4] == pytest.approx(0.0, abs=0.2)


def test_stress_injection_and_loss_return_to_the_fixed_point():
    base = {"population.households": 200, "sumsy.demurrage": 0.05, "run.ticks": 30 * 600,
            "run.check_ledger": "tick"}
    target = 200 * 2000 / 0.05
    for name, ev in (("sumsy_stress_injection", {"kind": "injection", "tick": 30 * 200, "target": "all",
                                                 "amount": 100000.0}),
                     ("sumsy_stress_loss", {"kind": "loss", "tick": 30 * 200, "target": "all", "fraction": 0.5})):
        sc = spms_mc.load_scenario(name, {**base, "events": [ev]})
        _, res = run_engine(sc)
        i = list(res.ticks).index(30 * 201)
        shock = res.money_stock[i] / 100
        assert abs(shock - target) > 0.2 * target
        assert res.money_stock[-1] / 100 == pytest.approx(target, rel=1e-3)


def test_lender_retracts_its_buffer():
    """Paper 5.1: lent buffer stays under the lender's control and can be retracted. Household 0
    lends its whole buffer to firm 4 until tick 7500; then the firm decays to 0 and household 0
    (inactive, eligible) returns to buffer + GI/d."""
    d = 0.05
    sc = spms_mc.load_scenario("sumsy", {
        "population.households": 4, "population.firms": 1, "exchange.rule": "none", "sumsy.demurrage": d,
        "sumsy.demurrage_free_buffer": 4000.0, "sumsy.buffer_loans": [[0, 4, 4000.0, 0, 7500]],
        "events": [{"kind": "injection", "tick": 0, "target": "firms", "amount": 20000.0}],
        "run.ticks": 15000, "run.track": [0, 1, 4], "run.check_ledger": "tick"})
    _, res = run_engine(sc)
    at = list(res.ticks).index(7500)
    lent = res.tracked[at] / 100
    assert lent[0] == pytest.approx(2000 / d, abs=1.0)          # no buffer while lent
    assert lent[1] == pytest.approx(4000 + 2000 / d, abs=1.0)   # an equal household keeps its own
    assert lent[2] == pytest.approx(4000.0, abs=0.2)            # the firm holds its borrowed buffer
    final = res.tracked[-1] / 100
    assert final[0] == pytest.approx(4000 + 2000 / d, abs=0.2)
    assert final[2] == pytest.approx(0.0, abs=0.2)
