"""CETE (docs/model.md section 7): the purchase kernel with tokens against a slow Python oracle of
the same purchases (draws, payments, token accrual in exact integers), the step schedule's bonus by
hand, the adoption path against its formula, M / F and the threshold crossing from the outputs,
exact accounting of whole runs, the bad input the issue names."""
from __future__ import annotations

import math

import numpy as np
import pytest
from spms_mc_kernels import cete as kernels
from spms_mc_kernels.economy import guide_table
from spms_mc_kernels.rng import draw_uniform

import spms_mc
from spms_mc.core.config import ScenarioError
from spms_mc.engine.member import Engine
from spms_mc.engine.output import to_dataset
from spms_mc.mechanisms.economy import logistic_progress

SMALL = {"population.households": 2000, "population.firms": 20, "run.ticks": 2160, "run.sample_every": 30}


def run(over, seed=1, name="cete"):
    eng = Engine(spms_mc.load_scenario(name, {**SMALL, **over}), seed, 0)
    return eng, to_dataset(eng.run())


def oracle_purchases(balance, plan, k, period, cdf, skey, participating, equity, accrued, alpha_ppm, price_micro):
    """One tick of household purchases without credit, household by household in Python ints."""
    balance, equity, accrued = balance.copy(), equity.copy(), accrued.copy()
    sales = np.zeros(cdf.shape[0], np.int64)
    backed = tokens = value = 0
    for i in range(balance.shape[0]):
        want = (int(plan[i]) * (k + 1)) // period - (int(plan[i]) * k) // period
        if want <= 0:
            continue
        pay = min(want, int(balance[i]))
        balance[i] -= pay
        if pay <= 0:
            continue
        f = int(np.searchsorted(cdf, draw_uniform(skey, i), side="right"))
        sales[f] += pay
        if participating[f]:
            backed += pay
            a = int(accrued[i]) + alpha_ppm * pay
            u = a // price_micro
            accrued[i] = a - u * price_micro
            equity[i] += u
            tokens += u
            value += u * price_micro
    return balance, equity, accrued, sales, backed, tokens, value


@pytest.mark.parametrize("alpha_ppm, price_micro", [(50_000, 1_000_000), (123_457, 3_333_337), (1, 7)])
def test_tokens_in_the_purchase_kernel_match_a_python_oracle(alpha_ppm, price_micro):
    rng = np.random.default_rng(5)
    H, F, period = 5000, 13, 30
    balance = rng.integers(0, 50_000, H).astype(np.int64)
    plan = rng.integers(0, 60_000, H).astype(np.int64)
    equity = rng.integers(0, 10**6, H).astype(np.int64)
    accrued = rng.integers(0, price_micro, H).astype(np.int64)
    w = 1.0 / np.arange(1, F + 1)
    cdf = np.cumsum(w) / w.sum()
    cdf[-1] = 1.0
    participating = (rng.random(F) < 0.5).astype(np.uint8)
    skey = np.uint64(987654321)
    k = 7
    want = oracle_purchases(balance, plan, k, period, cdf, skey, participating, equity, accrued, alpha_ppm,
                            price_micro)
    partial = np.zeros((16, F), np.int64)
    b, e, a = balance.copy(), equity.copy(), accrued.copy()
    spent, borrowed, backed, tokens, value = kernels.consume_cete(
        b, plan, np.zeros(0, np.int64), k, period, False, 1.0, cdf, guide_table(cdf, 2 * F), skey, partial,
        participating, e, a, np.zeros(0, np.int64), np.int64(alpha_ppm), np.int64(price_micro), False)
    assert np.array_equal(b, want[0]) and np.array_equal(e, want[1]) and np.array_equal(a, want[2])
    assert np.array_equal(partial.sum(axis=0), want[3])
    assert (backed, tokens, value) == want[4:]
    assert borrowed == 0 and spent == int(want[3].sum())
    # the token identity: what accrued + the value issued = alpha x participating purchases
    assert int(a.sum()) - int(accrued.sum()) + value == alpha_ppm * backed


def test_step_schedule_pays_the_step_rate_on_the_whole_period_by_hand():
    thresholds = np.array([1000, 5000], np.int64)
    rates = np.array([80_000, 100_000], np.int64)  # 8 % from 1000, 10 % from 5000; alpha 5 %
    purchases = np.array([0, 999, 1000, 4999, 5000, 20000], np.int64)
    accrued = np.zeros(6, np.int64)
    equity = np.zeros(6, np.int64)
    price_micro = np.int64(1_000_000)  # a unit per minor unit
    tokens, value, earned = kernels.cete_bonus(purchases, accrued, equity, thresholds, rates, np.int64(50_000),
                                               price_micro)
    extra_rate = np.array([0, 0, 30_000, 30_000, 50_000, 50_000])  # step rate - alpha
    extra = extra_rate * np.array([0, 999, 1000, 4999, 5000, 20000])
    assert np.array_equal(equity, extra // 1_000_000) and np.array_equal(accrued, extra % 1_000_000)
    assert earned == extra.sum() and value == int((extra // 1_000_000).sum()) * 1_000_000
    assert tokens == int(equity.sum()) and not purchases.any()  # the period's purchases are reset


def test_a_cete_run_keeps_every_identity_and_reports_m_over_f(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({"cete.alpha_steps": [3000.0], "cete.alpha_step_rates": [0.08]})
    cete = eng.processes[[p.name for p in eng.processes].index("cete")]
    # the identity from the state: accrued value + value issued = alpha x purchases + bonuses
    assert int(eng.state.token_accrued.sum()) + cete.value_issued == cete.earned > 0
    backed = ds.cete_backed_purchases.values[0, 1:]
    assert backed.sum() > 0 and ds.cete_tokens_total.values[0, -1] > 0
    # M / F from the outputs: the money stock over the backed purchases per year
    per_year = backed * eng.sc.economy.ticks_per_year / 30
    mf = ds.cete_money_over_backed.values[0, 1:]
    ok = per_year > 0
    assert np.allclose(mf[ok], ds.money_stock.values[0, 1:][ok] / per_year[ok], rtol=1e-9)
    # the first crossing of the threshold, from the series
    share = ds.cete_backed_share.values[0]
    above = np.flatnonzero(share >= eng.sc.cete.threshold)
    cross = ds.cete_cross_tick.values[0]
    assert (math.isnan(cross) and above.size == 0) or cross == ds.tick.values[above[0]]


def test_participation_follows_the_logistic_path():
    eng, ds = run({"cete.adoption_start": 0.1, "cete.adoption_end": 0.9, "cete.adoption_years": 4.0,
                   "run.ticks": 1800, "run.sample_every": 360})
    F, tpy = eng.state.n_firms, eng.sc.economy.ticks_per_year
    assert ds.tick.values[0] == 0 and ds.cete_participation.values[0, 0] == 0  # before the first period start
    for tick, seen in zip(ds.tick.values[1:], ds.cete_participation.values[0, 1:]):
        start = tick - 30  # the last period start before the sample (ticks completed: tick)
        x = 0.1 + 0.8 * logistic_progress(start / tpy / 4.0, eng.sc.cete.adoption_steepness)
        assert seen == math.floor(x * F + 1e-9) / F


def test_endogenous_adoption_grows_only_when_consumers_favour_participants():
    over = {"cete.adoption": "endogenous", "cete.adoption_start": 0.2, "run.ticks": 3600, "run.sample_every": 360}
    _, tilted = run({**over, "cete.demand_tilt": 0.5})
    _, flat = run({**over, "cete.demand_tilt": 0.0})
    assert tilted.cete_participation.values[0, -1] > 0.3
    # without a preference, the participants' sales share is about their size share: hardly any growth
    assert flat.cete_participation.values[0, -1] < tilted.cete_participation.values[0, -1]


def test_tokens_dilute_and_the_units_identity_holds(monkeypatch):
    monkeypatch.setenv("SPMS_MC_CHECK_LEDGER", "tick")
    eng, ds = run({})
    market = eng.processes[[p.name for p in eng.processes].index("wealth")]
    assert market.received["cete"] == round(ds.cete_tokens_total.values[0, -1] * 1_000_000)
    assert int(eng.state.equity.sum()) == market.units


@pytest.mark.parametrize("over, key", [
    ({"cete.alpha": -0.1}, "cete.alpha"),
    ({"cete.alpha": 0.0500001}, "cete.alpha"),  # not a whole millionth: refused, never rounded
    ({"cete.adoption_end": 1.2}, "cete.adoption_end"),
    ({"cete.adoption_start": -0.1}, "cete.adoption_start"),
    ({"cete.alpha_steps": [100.0], "cete.alpha_step_rates": []}, "cete.alpha_step_rates"),
    ({"cete.alpha_steps": [100.0], "cete.alpha_step_rates": [0.01]}, "cete.alpha_step_rates"),
    ({"cete.threshold": 1.5}, "cete.threshold"),
])
def test_bad_cete_input_is_refused_naming_the_key(over, key):
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.")):
        spms_mc.load_scenario("cete", over)
