"""SPMS mechanisms (docs/model.md section 5): the wealth fund's payout rules against hand
calculations on synthetic fund paths, the Sahm-type trigger on synthetic unemployment series, the
anchor's target path, per-capita equality of the fund's dividend, the fund's growth, the anchor's
tracking, exact accounting of whole runs, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

import spms_mc
from spms_mc.core.config import ScenarioError
from spms_mc.engine.member import Engine
from spms_mc.engine.output import to_dataset
from spms_mc.mechanisms.anchor import target_path
from spms_mc.mechanisms.countercyclical import sahm_indicator, trigger_states
from spms_mc.mechanisms.fund import (
    pomv_payout,
    realised_income_payout,
    smoothing_payout,
    start_of_year_payout,
)

SMALL = {"population.households": 2000, "population.firms": 20}


def run(over, seed=1, member=0, name="ai_bau"):
    eng = Engine(spms_mc.load_scenario(name, over), seed, member)
    return eng, to_dataset(eng.run())


# ------------------------------------------------------------------------------------------
# payout rules on synthetic paths (hand calculations)
# ------------------------------------------------------------------------------------------
def test_pomv_on_constant_linear_and_stepped_paths():
    # Alaska: 5 % of the mean of the first five of the preceding six year-ends (lags 2 .. 6)
    constant = [100.0] * 10
    assert pomv_payout(constant, 100.0, 8, 0.05, 2, 6) == pytest.approx(5.0)
    linear = [100.0 + 10 * k for k in range(10)]  # year-end k: 100, 110, 120, ...
    # year 8: year-ends 2 .. 6 = 120, 130, 140, 150, 160, mean 140
    assert pomv_payout(linear, 90.0, 8, 0.05, 2, 6) == pytest.approx(0.05 * 140)
    stepped = [100.0] * 4 + [200.0] * 6  # a step at year-end 4
    # year 7: year-ends 1 .. 5 = 100, 100, 100, 200, 200 -> mean 140
    assert pomv_payout(stepped, 100.0, 7, 0.05, 2, 6) == pytest.approx(0.05 * 140)


def test_pomv_edge_years_use_what_the_window_has():
    ends = [110.0, 120.0, 130.0]
    start = 100.0  # year-end -1
    # year 0: the window is year-ends -6 .. -2, none exists: the start value alone
    assert pomv_payout([], start, 0, 0.05, 2, 6) == pytest.approx(5.0)
    # year 1: window -5 .. -1: only the start
    assert pomv_payout(ends[:1], start, 1, 0.05, 2, 6) == pytest.approx(5.0)
    # year 3: window -3 .. 1: the start, year-ends 0 and 1 -> mean(100, 110, 120) = 110
    assert pomv_payout(ends, start, 3, 0.05, 2, 6) == pytest.approx(5.5)
    # lags 1 .. 1: last year's end
    assert pomv_payout(ends, start, 3, 0.05, 1, 1) == pytest.approx(6.5)


def test_start_of_year_and_smoothing_by_hand():
    assert start_of_year_payout(1000.0, 0.03) == pytest.approx(30.0)
    s0 = smoothing_payout(None, 0.0, 1000.0, 0.05, 0.7)
    assert s0 == pytest.approx(50.0)
    s1 = smoothing_payout(s0, 0.02, 1200.0, 0.05, 0.7)
    assert s1 == pytest.approx(0.7 * 50 * 1.02 + 0.3 * 0.05 * 1200)  # 35.7 + 18 = 53.7
    # on a constant value with no inflation it stays at rate x value
    s = None
    for _ in range(30):
        s = smoothing_payout(s, 0.0, 1000.0, 0.05, 0.7)
    assert s == pytest.approx(50.0)


def test_realised_income_rule_by_hand():
    # 21 % of the last five years' income, half paid
    incomes = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    payout, available = realised_income_payout(incomes, 1000.0, 0.21, 5, 0.5)
    assert available == pytest.approx(0.21 * 200) and payout == pytest.approx(21.0)
    # capped at the last year's income plus the reserve
    payout, available = realised_income_payout([100.0] * 5, 0.0, 0.21, 5, 0.5)
    assert available == pytest.approx(100.0) and payout == pytest.approx(50.0)  # 21 % of 500 = 105 > 100 + 0
    assert realised_income_payout([], 0.0, 0.21, 5, 0.5) == (0.0, 0.0)  # no year has ended yet
    # the first years: fewer than five in the sum
    payout, available = realised_income_payout([40.0, 60.0], 0.0, 0.21, 5, 0.5)
    assert available == pytest.approx(min(21.0, 60.0)) and payout == pytest.approx(10.5)


# ------------------------------------------------------------------------------------------
# the trigger on synthetic unemployment series
# ------------------------------------------------------------------------------------------
def test_sahm_trigger_fires_when_the_definition_says():
    flat = np.full(60, 0.05)
    assert not trigger_states(flat, 3, 12, 0.005, 0.0025).any()
    rates = np.full(40, 0.05)
    rates[20:] = 0.06  # a 1 pp step in period 20
    r = sahm_indicator(rates, 3, 12)
    # averages: period 20 -> (0.05 + 0.05 + 0.06)/3 = 0.05333, 21 -> 0.05667, 22 -> 0.06; the minimum
    # of the previous 12 averages is 0.05
    assert r[20] == pytest.approx(0.0033333, abs=1e-6)
    assert r[21] == pytest.approx(0.0066667, abs=1e-6)
    on = trigger_states(rates, 3, 12, 0.005, 0.0025)
    assert not on[:21].any() and on[21]  # fires in period 21, the first with a rise >= 0.5 pp
    # the rise stays 1 pp until the minimum's window has passed the step: averages from period 22 are
    # 0.06; the minimum over the previous 12 averages reaches 0.06 in period 35 (averages 23 .. 34)
    assert on[21:34].all()
    assert not on[35:].any()
    assert np.isnan(r[:3]).all()  # no earlier average yet: no signal


def test_the_continue_threshold_keeps_payments_on():
    rates = np.concatenate([np.full(20, 0.05), np.full(3, 0.06), np.full(30, 0.0545)])
    r = sahm_indicator(rates, 3, 12)
    strict = trigger_states(rates, 3, 12, 0.005, 0.005)
    lenient = trigger_states(rates, 3, 12, 0.005, 0.004)
    t = np.flatnonzero(r >= 0.005)[0]
    assert strict[t] and lenient[t]
    later = (r >= 0.004) & (r < 0.005)
    assert later.any() and lenient[later & (np.arange(len(r)) > t)].all()
    assert not strict[later & (np.arange(len(r)) > t)].any()


def test_target_path_discretisation():
    # 4 % a year, 12 periods a year: compound gives (1.04)^(1/12) per period, linear 1 + 0.04 / 12
    assert target_path(100.0, 0.04, 12, 12, "compound") == pytest.approx(104.0)
    assert target_path(100.0, 0.04, 3, 12, "compound") == pytest.approx(100 * 1.04 ** 0.25)
    assert target_path(100.0, 0.04, 3, 12, "linear") == pytest.approx(101.0)


# ------------------------------------------------------------------------------------------
# whole runs
# ------------------------------------------------------------------------------------------
FUND = {**SMALL, "fund.enabled": True, "fund.windfall_tax": 0.5, "fund.scrip_rate": 0.01, "run.ticks": 2880,
        "run.sample_every": 360, "fund.pomv_first_lag": 1, "fund.pomv_last_lag": 3}


def test_fund_dividend_is_equal_per_capita():
    eng, _ = run({**FUND, "run.ticks": 1080})
    fund = eng.processes[[p.name for p in eng.processes].index("fund")]
    st = eng.state
    fund.year_payout, fund.year_paid, fund.period_in_year = 10**9, 0, 0
    fund.state.institutions[fund.index] += 10**9  # money for it
    before = st.balance.copy()
    fund._pay_period()
    delta = st.balance[:st.n_households] - before[:st.n_households]
    n = eng.sc.n_eligible
    each = (math.floor(fund.cfg.dividend_share * 10**9 // fund.periods_per_year)) // n
    assert np.all(delta[:n] == each) and np.all(delta[n:] == 0) and each > 0


def test_fund_grows_while_inflows_exceed_payouts():
    _, ds = run({**FUND, "fund.payout_rule": "none"})
    share = ds.fund_ownership_share.values[0, 1:]
    assert np.all(np.diff(share) > 0) and share[-1] > 0.05
    assert np.all(ds.fund_payout.values[0] == 0)


def test_fund_ownership_is_stationary_when_payouts_balance_inflows():
    """A fund holding 20 % at the start with no inflows but its dividends, paying out each year what
    it earned the year before (realised_income with share 1 over 1 year, all paid), in an economy
    where nobody else buys or sells equity: its ownership share stays put after its first year
    (whose dividends it invests, having no payout yet); the same fund paying nothing grows."""
    base = {**SMALL, "fund.enabled": True, "fund.initial_ownership": 0.2, "run.ticks": 3600,
            "run.sample_every": 360, "economy.automation": False, "economy.ai_output_growth": 0.0,
            "wealth.saving_rate_top": 0.0, "wealth.saving_rate_bottom": 0.0, "government.unemployment_benefit": 0.0,
            "economy.unemployed_share": 0.0, "fund.payout_rule": "realised_income", "fund.realised_share": 1.0,
            "fund.realised_years": 1, "fund.realised_payout_share": 1.0}
    _, ds = run(base)
    share = ds.fund_ownership_share.values[0, 1:]
    assert share[0] == pytest.approx(0.2, abs=0.01)
    assert np.abs(share - share[0]).max() < 0.002
    _, grow = run({**base, "fund.payout_rule": "none"})
    assert grow.fund_ownership_share.values[0, -1] > share[-1] + 0.02


def test_a_spms_run_keeps_every_identity(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    _, ds = run({**FUND, "rail.enabled": True, "rail.targeted": 100.0, "countercyclical.enabled": True,
                 "anchor.enabled": True, "fund.dividend_share": 0.6, "fund.services_share": 0.3,
                 "fund.retention_share": 0.1})
    assert ds.dividend_per_capita.values[0, 1:].sum() > 0
    assert ds.services_per_capita.values[0, 1:].sum() > 0
    assert ds.rail_transfers.values[0, 1:].sum() > 0
    flows = list(ds.flow.values)
    assert {"rail_transfer", "rail_withdrawal", "resource_rent"} <= set(flows)


def test_rail_holdings_earn_the_first_tier_and_cost_the_bank(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")  # the bank's identity counts the funding costs
    over = {**SMALL, "rail.enabled": True, "run.ticks": 1440, "run.sample_every": 360}
    eng, ds = run({**over, "rail.holding_cap": 2000.0, "rail.holding_interest": 0.02, "rail.bank_funding_spread": 0.01})
    _, plain = run(over)
    held = ds.rail_holdings.values[0, -1]
    assert 0 < held <= 2000.0 * eng.state.n_households
    # a year's interest is about 2 % of the holdings, the bank's cost about 1 %
    assert ds.rail_interest.values[0, -1] == pytest.approx(0.02 * held, rel=0.1)
    assert ds.bank_funding_cost.values[0, -1] == pytest.approx(0.01 * held, rel=0.1)
    lost = ds.bank_funding_cost.values[0, 1:].sum()
    assert ds.bank_capital.values[0, -1] < plain.bank_capital.values[0, -1]
    assert lost > 0


def test_citizen_pool_funds_shortfalls_by_profit_shares_and_holds_equity(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")  # pool shares, pool units, the bank, the ledger
    over = {**SMALL, "riskshare.enabled": True, "economy.investment": 0.3, "run.ticks": 1800,
            "run.sample_every": 360, "riskshare.pool_share": 0.3}
    eng, ds = run({**over, "riskshare.finance_mix": 1.0})
    _, bank_only = run({**over, "riskshare.finance_mix": 0.0})
    assert ds.pool_subscriptions.values[0, 1:].sum() > 0
    assert ds.pool_financing.values[0, 1:].sum() > 0 and ds.pool_contracts.values[0, -1] > 0
    # without contracts the pool's money buys equity instead
    assert bank_only.pool_units.values[0, -1] > 0 and bank_only.pool_contracts.values[0, -1] == 0
    assert ds.pool_income.values[0, 1:].sum() > 0
    # the firms borrow less from the bank when the pool funds their shortfalls
    assert ds.new_lending.values[0, 1:].sum() < bank_only.new_lending.values[0, 1:].sum()
    pool = eng.processes[[p.name for p in eng.processes].index("riskshare")]
    assert int(eng.state.pool_shares.sum()) == pool.shares > 0


def test_cap_at_earnings_keeps_payouts_within_what_the_fund_earned():
    eng, ds = run({**FUND, "fund.payout_rate": 0.5, "fund.cap_at_earnings": True, "fund.windfall_tax": 0.0})
    fund = eng.processes[[p.name for p in eng.processes].index("fund")]
    assert 0 < fund.paid <= fund.earned
    _, uncapped = run({**FUND, "fund.payout_rate": 0.5, "fund.windfall_tax": 0.0})
    assert uncapped.fund_payout.values[0, 1:].sum() > ds.fund_payout.values[0, 1:].sum()


def test_dividend_topup_raises_the_payout_after_the_trigger_fires():
    """Automation drives unemployment up: in dividend_topup mode the years that start with the
    trigger on pay more than the same fund without the rule (same members)."""
    over = {**FUND, "run.ticks": 7200, "fund.payout_rule": "start_of_year"}
    _, topped = run({**over, "countercyclical.enabled": True, "countercyclical.mode": "dividend_topup",
                     "countercyclical.topup": 0.5})
    _, plain = run(over)
    assert topped.trigger_on.values[0].max() == 1
    assert topped.fund_payout.values[0, 1:].sum() > 1.1 * plain.fund_payout.values[0, 1:].sum()


def test_the_anchor_s_distributional_term_pays_the_bottom_half():
    over = {**SMALL, "rail.enabled": True, "anchor.enabled": True, "run.ticks": 1440, "run.sample_every": 360}
    _, with_floor = run({**over, "anchor.bottom50_floor": 0.5, "anchor.bottom50_transfer": 0.01})
    _, without = run(over)
    extra = with_floor.rail_transfers.values[0, 2:].sum() - without.rail_transfers.values[0, 2:].sum()
    assert extra > 0


def test_the_anchor_tracks_its_ngdp_path():
    """Rail and anchor on the baseline: within 1 % of the path after 2 years (4 %/yr, PI rule)."""
    _, ds = run({**SMALL, "rail.enabled": True, "anchor.enabled": True, "run.ticks": 2880, "run.sample_every": 30})
    gap = ds.anchor_gap.values[0]
    after = ds.tick.values >= 720
    assert np.nanmax(np.abs(gap[after])) < 0.01


@pytest.mark.parametrize("over, key", [
    ({"fund.dividend_share": 0.5, "fund.services_share": 0.3, "fund.retention_share": 0.1}, "must add up to 1"),
    ({"fund.pomv_first_lag": 4, "fund.pomv_last_lag": 2}, "fund.pomv_first_lag"),
    ({"fund.pomv_last_lag": 40}, "longer than the run"),
    ({"fund.pomv_first_lag": -1}, "fund.pomv_first_lag"),
    ({"fund.payout_rate": 1.5}, "fund.payout_rate"),
    ({"countercyclical.enabled": True, "rail.enabled": True, "countercyclical.threshold": 0.0},
     "countercyclical.threshold"),
    ({"anchor.enabled": True}, "rail.enabled"),
    ({"rail.enabled": True, "rail.holding_cap": -1.0}, "rail.holding_cap"),
    ({"riskshare.enabled": True, "riskshare.pool_share": 1.5}, "riskshare.pool_share"),
    ({"rail.enabled": True, "rail.holding_interest": 1.5}, "rail.holding_interest"),
])
def test_bad_spms_input_is_refused_naming_the_key(over, key):
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        spms_mc.load_scenario("ai_bau", {"fund.enabled": True, **over})
