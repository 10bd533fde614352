"""The published two-sector post-Keynesian model (Kuypers, Goorden & Delepierre 2021, JRFM 14, 335)
against its closed form D/M(t) = (p((1+p)/(1+g))^t - g)/(p - g) and its limits."""
import numpy as np
import pytest

import spms_mc
from spms_mc.core.config import ScenarioError


def run(**over):
    sc = spms_mc.load_scenario("pk_endogenous", {"pk.initial_money": 1e8, "run.check_ledger": "tick",
                                                 **{f"pk.{k}": v for k, v in over.items()}})
    return spms_mc.simulate(sc, seed=0)


def closed_form(p, g, t):
    if p == g:
        return 1.0 + t * p / (1.0 + p)
    return (p * ((1 + p) / (1 + g)) ** t - g) / (p - g)


@pytest.mark.parametrize("p,g", [(0.02, 0.03), (0.05, 0.03), (0.03, 0.03), (0.0, 0.03), (0.02, 0.0),
                                 (0.01, 0.08)])
@pytest.mark.parametrize("maturity", [1, 10, 30])
def test_debt_to_money_ratio_follows_the_closed_form(p, g, maturity):
    ds = run(retained_profit=p, growth=g, maturity=maturity)
    r = ds["debt_ratio"].values[0]
    t = ds["tick"].values
    ok = ~np.isnan(r)
    assert ok.all()
    # integer money rounds each cycle's profit and lending down: ~1e-9 relative over 200 cycles
    np.testing.assert_allclose(r[ok], closed_form(p, g, t[ok]), rtol=1e-7)


def test_bounded_only_when_p_below_g():
    sc = spms_mc.load_scenario("pk_endogenous", {"run.ticks": 400, "run.sample_every": 10,
                                                 "pk.initial_money": 100.0})
    low = spms_mc.simulate(sc.with_overrides({"pk.retained_profit": 0.01, "pk.growth": 0.05}))
    assert low.attrs["stop_reason"] == ""
    assert low["debt_ratio"].values[0, -1] == pytest.approx(0.05 / (0.05 - 0.01), rel=1e-6)
    high = run(retained_profit=0.05, growth=0.03)  # grows without bound, like ((1+p)/(1+g))^t
    r = high["debt_ratio"].values[0]
    assert high.attrs["stop_reason"] == "" and r[-1] > 40 and np.all(np.diff(r) > 0)


def test_stops_cleanly_when_the_money_stock_reaches_zero():
    ds = run(mode="loan_ratio", loan_ratio=0.05)  # lending falls behind the debt service
    assert "money stock reached zero at tick" in ds.attrs["stop_reason"]
    m = ds["money_stock"].values[0]
    stop = int(np.isnan(m).argmax())
    assert 0 < stop < ds.sizes["time"] and np.all(np.isnan(m[stop:])) and np.all(m[:stop] > 0)
    assert np.all(np.isnan(ds["debt_ratio"].values[0, stop:]))


def test_money_plus_bank_equity_equals_debt_and_the_ledger_is_exact():
    for over in ({}, {"mode": "loan_ratio", "loan_ratio": 0.2}, {"retained_profit": 0.07, "maturity": 3}):
        ds = run(**over)
        ok = ~np.isnan(ds["money_stock"].values[0])
        m = ds["money_stock"].values[0, ok]
        e = ds["bank_capital"].values[0, ok]
        d = ds["loans_outstanding"].values[0, ok]
        # exact in the engine (checked every tick); the float64 outputs round beyond 2**53 minor units
        np.testing.assert_allclose(m + e, d, rtol=1e-14)
        flows = dict(zip(ds["flow"].values, range(ds.sizes["flow"])))
        created = ds["flows_created"].values[0, ok][:, flows["credit"]]
        destroyed = ds["flows_destroyed"].values[0, ok][:, [flows["repayment"], flows["interest"]]].sum(axis=1)
        dm = np.round(np.diff(m) * 100).astype(np.int64)
        assert np.array_equal(dm, (created - destroyed)[1:])


def test_loan_ratio_mode_lends_a_share_of_the_money_after_lending():
    ds = spms_mc.simulate(spms_mc.load_scenario("pk_endogenous", {
        "pk.initial_money": 1e8, "pk.mode": "loan_ratio", "pk.loan_ratio": 0.5, "pk.maturity": 5,
        "pk.retained_profit": 0.01, "run.ticks": 5}))
    m = ds["money_stock"].values[0]
    lent = ds["new_lending"].values[0]
    # cycle 1: money 1e8 pays 1/5 principal and 1 % profit, then borrows so that the new loans are
    # half of the money after lending: L = 0.5 (left + L), so L = left and the money is 2 x left
    left = 1e8 - 0.2e8 - 0.01e8
    assert lent[1] == pytest.approx(left, abs=0.01)
    assert m[1] == pytest.approx(2 * left, abs=0.01)
    assert lent[1] == pytest.approx(0.5 * m[1], abs=0.01)


def _published(p, cycles):
    # 1000 currency units at the start: money grows about 10^10-fold in 500 cycles, within int64
    return spms_mc.load_scenario("pk_endogenous", {
        "pk.initial_money": 1000.0, "pk.mode": "loan_ratio", "pk.loan_ratio": 0.15, "pk.retained_profit": p,
        "pk.maturity": 20, "run.ticks": cycles})


def test_loan_ratio_reproduces_the_published_stable_case():
    """Kuypers, Goorden & Delepierre (2021), JRFM 14(7) 335: LR 15 %, p 0.8 %, m 20, 500 cycles is
    stable, with money growing 4.75 % per cycle and D/M = 120.25 % (the paper's printed digits)."""
    ds = spms_mc.simulate(_published(0.008, 500))
    assert ds.attrs["stop_reason"] == ""
    m = ds["money_stock"].values[0]
    assert round(100 * (m[-1] / m[-2] - 1), 2) == 4.75
    assert round(100 * ds["debt_ratio"].values[0, -1], 2) == 120.25


def test_loan_ratio_reproduces_the_published_collapse():
    """The same paper: with p = 0.9 % the money stock reaches zero after 193 cycles."""
    ds = spms_mc.simulate(_published(0.009, 500))
    assert "money stock reached zero at tick 193" in ds.attrs["stop_reason"]
    m = ds["money_stock"].values[0]
    assert np.all(m[:194] > 0) and np.all(np.isnan(m[194:]))


def test_money_beyond_int64_is_refused_not_wrapped():
    with pytest.raises(spms_mc.MoneyOverflowError, match="int64"):
        run(retained_profit=0.01, growth=0.5)
    # the stock still fits, but the lending summed over one sample interval does not
    sc = spms_mc.load_scenario("pk_endogenous", {"run.sample_every": 200, "pk.growth": 0.2,
                                                 "pk.initial_money": 9.0})
    with pytest.raises(spms_mc.MoneyOverflowError, match="flow 'credit' over one sample interval"):
        spms_mc.simulate(sc)


def test_bad_input():
    with pytest.raises(ScenarioError, match=r"pk.retained_profit = -0.01 is out of range"):
        spms_mc.load_scenario("pk_endogenous", {"pk.retained_profit": -0.01})
    with pytest.raises(ScenarioError, match="pk.growth"):
        spms_mc.load_scenario("pk_endogenous", {"pk.growth": -1.0})
    with pytest.raises(ScenarioError, match="population.households = 1"):
        spms_mc.load_scenario("pk_endogenous", {"population.households": 5})
    with pytest.raises(ScenarioError, match="sumsy.enabled"):
        spms_mc.load_scenario("pk_endogenous", {"sumsy.enabled": True})
