"""The report's sweep error bars and its histogram of balances against the analytic law: what the
figures draw is recomputed here from the store with numpy alone."""
import math

import numpy as np
import pytest
import xarray as xr

import spms_mc
from spms_mc.core.config import parse_sweeps
from spms_mc.report import pages as rep

pytest.importorskip("matplotlib")
from matplotlib.container import ErrorbarContainer

STATS = {"Gini": "gini", "top-1 % share": "top1_share", "bottom-50 % share": "bottom50_share"}


def raw(path) -> xr.Dataset:
    """The store as written, without the report's loading."""
    return xr.open_zarr(path, consolidated=False).load()


def swept(ds: xr.Dataset) -> list[str]:
    return [d for d in ds["gini"].dims if d not in ("member", "time")]


@pytest.fixture(scope="module")
def demurrage_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("laws") / "demurrage.zarr"
    sc = spms_mc.load_scenario("sumsy", {"population.households": 60, "run.ticks": 30 * 20,
                                         **parse_sweeps(["sumsy.demurrage=0.02,0.05,0.1"])})
    spms_mc.run_ensemble(sc, members=3, seed=4, store=path, scheduler="sync")
    return path


@pytest.fixture(scope="module")
def kinetic_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("laws") / "kinetic.zarr"
    sc = spms_mc.load_scenario("kinetic_exchange", {
        "population.households": 400, "run.ticks": 200, "run.snapshot_ticks": [0, 200],
        **parse_sweeps(["exchange.saving_propensity=0,0.5"])})
    spms_mc.run_ensemble(sc, members=2, seed=5, store=path, scheduler="sync")
    return path


def test_sweep_error_bars_are_the_5_95_quantiles_across_members(demurrage_store):
    ds, _ = rep.load(demurrage_store)
    plt = rep._plt()
    fig = rep.fig_sweep(ds, plt)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert sorted(c.get_label() for c in bars) == sorted(STATS)
    store = raw(demurrage_store)
    (dim,) = swept(store)
    d = store[dim].values
    widths = []
    for c in bars:
        final = store[STATS[c.get_label()]].isel(time=-1).transpose(dim, "member").values
        lo, med, hi = np.quantile(final, [0.05, 0.5, 0.95], axis=1)
        data_line, _, (segments,) = c.lines
        np.testing.assert_allclose(data_line.get_ydata(), med, rtol=1e-12)
        seg = np.array(segments.get_segments())  # (point, [bottom, top], [x, y])
        np.testing.assert_allclose(seg[:, 0, 1], lo, rtol=1e-12)
        np.testing.assert_allclose(seg[:, 1, 1], hi, rtol=1e-12)
        widths.append(hi - lo)
        # each point sits beside its swept value, within a fifth of the gap to the next one
        assert np.all(np.abs(seg[:, 0, 0] - d) < 0.2 * np.min(np.diff(d)))
    assert np.max(widths) > 0  # the members differ: the bands are no zero-width decoration
    # points of different series at the same swept value are not drawn at the same x
    xs = np.array([c.lines[0].get_xdata() for c in bars])  # (series, point)
    for j in range(d.size):
        assert len(set(xs[:, j].tolist())) == len(bars)
    assert "sumsy.demurrage" in ax.get_xlabel() and "5-95 %" in ax.get_title()
    plt.close(fig)


def test_sweep_of_one_member_says_it_has_no_band(demurrage_store):
    ds, _ = rep.load(demurrage_store)
    plt = rep._plt()
    fig = rep.fig_sweep(ds.isel(member=[0]), plt)
    for ax in fig.axes:
        assert "1 member: no band" in ax.get_title()
        assert not [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert ax.get_lines()  # the values are still drawn
    plt.close(fig)


def closed_form_density(x, m, lam):
    """exp(-x/m)/m at lambda = 0, else the gamma density of shape n = 1 + 3 lambda/(1 - lambda),
    scale m/n, written out here independently of the report."""
    if lam == 0:
        return np.exp(-x / m) / m
    n = 1 + 3 * lam / (1 - lam)
    theta = m / n
    return x ** (n - 1) * np.exp(-x / theta) / (math.gamma(n) * theta ** n)


def closed_form_cdf(x, m, lam):
    if lam == 0:
        return 1 - np.exp(-x / m)
    n = 1 + 3 * lam / (1 - lam)
    assert n == int(n)  # lambda = 0.5: n = 4, the Erlang distribution function in closed form
    z = x / (m / n)
    return 1 - np.exp(-z) * sum(z ** k / math.factorial(k) for k in range(int(n)))


def test_law_png_draws_the_closed_form_density_of_each_lambda(kinetic_store, tmp_path):
    page = rep.report(kinetic_store, tmp_path / "out").read_text()
    law = tmp_path / "out" / "law.png"
    assert law.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and law.stat().st_size > 10_000
    assert "Balances against the stationary law" in page and "Kolmogorov-Smirnov" in page
    assert page.count("data:image/png;base64,") == 5  # money stock, fan charts, Lorenz, sweep, law

    store = raw(kinetic_store)
    (dim,) = swept(store)
    ds, _ = rep.load(kinetic_store)
    cases, skipped = rep.law_cases(ds, [store.attrs["scenario"]])
    assert not skipped and len(cases) == 2
    plt = rep._plt()
    fig = rep.fig_law(cases, plt)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    for ax, lam, case in zip(axes, store[dim].values, cases):
        assert f"lambda = {lam:g}" in ax.get_title()
        assert ax.get_yscale() == "log"
        last = store["balances"].sel({dim: lam}).isel(snapshot=-1).values.ravel()  # households only: no firms
        assert last.size == 2 * 400
        m = last.mean()
        (curve,) = [line for line in ax.get_lines() if line.get_label().startswith("analytic")]
        x, y = np.asarray(curve.get_xdata(), float), np.asarray(curve.get_ydata(), float)
        assert x.min() == 0 and x.max() >= np.percentile(last, 99)
        np.testing.assert_allclose(y, closed_form_density(x, m, lam), rtol=1e-10, atol=1e-300)
        # the histogram is a density of the same balances
        heights = np.array([p.get_height() for p in ax.patches])
        widths = np.array([p.get_width() for p in ax.patches])
        assert np.sum(heights * widths) == pytest.approx(1.0)
        # Kolmogorov-Smirnov distance from the closed-form distribution function
        s = np.sort(last)
        f = closed_form_cdf(s, m, lam)
        i = np.arange(1, s.size + 1)
        ks = max(np.max(i / s.size - f), np.max(f - (i - 1) / s.size))
        assert case["ks"] == pytest.approx(ks, abs=1e-6)
        assert f"{case['ks']:.3g}" in ax.get_title()
        # 200 exchanges per household are enough to reach the law: the sample fits it
        assert ks < 3 * 1.36 / math.sqrt(s.size)
        # and it tells the laws apart: the other lambda's law is far off
        other = closed_form_cdf(s, m, 0.5 if lam == 0 else 0.0)
        assert max(np.max(i / s.size - other), np.max(other - (i - 1) / s.size)) > 3 * ks
    plt.close(fig)


def test_no_law_for_sumsy(tmp_path):
    path = tmp_path / "sumsy.zarr"
    sc = spms_mc.load_scenario("sumsy", {"population.households": 50, "run.ticks": 120, "run.snapshot_ticks": [120],
                                         "population.initial_balance": 100.0, "exchange.rule": "saving_propensity"})
    spms_mc.run_ensemble(sc, members=1, seed=0, store=path, scheduler="sync")
    out = tmp_path / "out"
    out.mkdir()
    (out / "law.png").write_bytes(b"stale")  # the report's own file from an earlier report: removed
    page = rep.report(path, out).read_text()
    assert not (out / "law.png").exists()
    assert "No analytic stationary law is drawn for:</p><ul><li>all members: the exchange runs with sumsy" in page


@pytest.mark.parametrize("preset, over, expect", [
    ("kinetic_exchange", {}, ("exponential", 1.0)),
    ("kinetic_exchange", {"exchange.saving_propensity": 0.3}, ("gamma", 1 + 3 * 0.3 / 0.7)),
    ("kinetic_exchange", {"exchange.rule": "random_fraction"}, "no closed-form"),
    ("kinetic_exchange", {"population.active_share": 0.5}, "only part of the households"),
    ("kinetic_exchange", {"events": [{"kind": "injection", "tick": 10, "amount": 5.0}]}, "events"),
    ("kinetic_exchange", {"sumsy.enabled": True}, "sumsy"),
    ("yard_sale", {}, "condenses"),
])
def test_stationary_law_applies_only_to_the_saving_propensity_exchange_alone(preset, over, expect):
    sc = spms_mc.load_scenario(preset, {"population.households": 100, **over})
    law = rep.stationary_law(sc)
    if isinstance(expect, tuple):
        assert law[0] == expect[0] and law[1] == pytest.approx(expect[1])
    else:
        assert isinstance(law, str) and expect in law


def test_law_cdf_integrates_the_density():
    x = np.linspace(0, 600, 7)
    np.testing.assert_allclose(rep.law_cdf(x, 100.0, 4.0), closed_form_cdf(x, 100.0, 0.5), atol=1e-7)
    np.testing.assert_allclose(rep.law_cdf(x, 100.0, 1.0), closed_form_cdf(x, 100.0, 0.0), atol=1e-15)
