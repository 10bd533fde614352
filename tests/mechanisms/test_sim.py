"""Godley & Lavoie's model SIM and SIMEX (Monetary Economics, 2007, ch. 3) against the book's printed
values and an independent float recursion of its equations."""
import numpy as np
import pytest

import spms_mc
from spms_mc.core.config import ScenarioError


def book_sim(G, theta, a1, a2, periods, expectations=False):
    """The book's equations 3.1-3.11 in floats: SIM solved within the period, SIMEX with YD^e = YD_-1."""
    H = YD = 0.0
    out = []
    for _ in range(periods):
        if expectations:
            C = a1 * YD + a2 * H
            Y = C + G
        else:
            Y = (G + a2 * H) / (1 - a1 * (1 - theta))
            C = Y - G
        T = theta * Y
        YD = Y - T
        H = H + YD - C
        out.append((Y, C, YD, T, H))
    return np.array(out)


def test_sim_reproduces_the_books_path_to_its_printed_digits():
    ds = spms_mc.simulate("gl_sim")
    y = ds["income"].values[0]
    # the book (Table 3.4) and the SFC packages: Y = 38.462, 47.929, 55.940, 62.718, 68.454 ...
    assert [round(v, 3) for v in y[1:6]] == [38.462, 47.929, 55.940, 62.718, 68.454]
    assert round(ds["taxes"].values[0, 1], 3) == 7.692
    assert round(ds["disposable_income"].values[0, 1], 3) == 30.769
    assert round(ds["consumption"].values[0, 1], 3) == 18.462
    assert round(ds["money_stock"].values[0, 1], 3) == 12.308


def test_sim_and_simex_follow_the_book_equations_to_the_minor_unit_and_reach_the_steady_state():
    for preset, expectations in (("gl_sim", False), ("gl_simex", True)):
        ds = spms_mc.simulate(preset)
        book = book_sim(20.0, 0.2, 0.6, 0.4, ds.sizes["time"] - 1, expectations)
        got = np.stack([ds[v].values[0, 1:] for v in ("income", "consumption", "disposable_income", "taxes",
                                                      "money_stock")], axis=1)
        # rounding down to a millionth each period: the paths stay within a few millionths
        np.testing.assert_allclose(got, book, atol=1e-5)
        # steady state Y* = G/theta = 100, YD* = C* = 80, H* = 80 (a1 + a2 H/YD = 1 there)
        assert got[-1] == pytest.approx([100.0, 80.0, 80.0, 20.0, 80.0], abs=1e-4)


def test_simex_starts_from_what_households_expect():
    ds = spms_mc.simulate("gl_simex")
    assert [round(v, 3) for v in ds["income"].values[0, 1:5]] == [20.0, 36.0, 48.8, 59.04]


def test_the_money_stock_is_government_spending_less_taxes_exactly():
    sc = spms_mc.load_scenario("gl_sim", {"run.check_ledger": "tick"})
    ds = spms_mc.simulate(sc)
    flows = list(ds["flow"].values)
    created = ds["flows_created"].values[0, :, flows.index("government_spending")]
    destroyed = ds["flows_destroyed"].values[0, :, flows.index("tax")]
    assert np.all(created[1:] == 20_000_000)
    assert np.all(destroyed[1:] == np.round(ds["taxes"].values[0, 1:] * 1e6).astype(np.int64))
    money = np.round(ds["money_stock"].values[0] * 1e6).astype(np.int64)  # measured from the balances
    assert np.array_equal(np.diff(money), (created - destroyed)[1:])


def test_sim_runs_alone():
    with pytest.raises(ScenarioError, match=r"sim.enabled is model SIM alone.*population.households = 1"):
        spms_mc.load_scenario("gl_sim", {"population.households": 2})
    with pytest.raises(ScenarioError, match=r"enabled here: sumsy.enabled"):
        spms_mc.load_scenario("gl_sim", {"sumsy.enabled": True})
