"""The lock-in window study: its shape, and the lock-in rule it sweeps."""
import numpy as np
import pytest

from spms_mc.report.studies import lock_in_window_study, plot_lock_in_window

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def window():
    # 0.33 lies between the start's 0.324 and the share a few years of ai_bau reach (about 0.34 at
    # year 5), so the reform due at year 5 finds the top 1 % past the threshold: blocked in every member
    return lock_in_window_study(start_years=(0, 5), automation_years=(5, 20), households=400, members=2, seed=3,
                                scheduler="sync", overrides={"run.lock_in_threshold": 0.33})


def test_lock_in_window_shapes(window):
    assert window.sizes == {"start_year": 2, "automation_years": 2, "member": 2, "quantile": 3}
    assert window["start_year"].values.tolist() == [0.0, 5.0]
    assert window["automation_years"].values.tolist() == [5.0, 20.0]
    for v in ("final_top1_quantile", "lock_in_year_quantile"):
        assert window[v].dims == ("start_year", "automation_years", "quantile")
    for v in ("never", "blocked_share"):
        assert window[v].dims == ("start_year", "automation_years")
    q = window["final_top1_quantile"].values
    assert np.all((q > 0) & (q < 1)) and np.all(np.diff(q, axis=-1) >= 0)


def test_reform_at_year_0_is_never_blocked_and_late_one_is(window):
    thr = window.attrs["threshold"]
    start = window["start_top1"]
    np.testing.assert_allclose(start.sel(start_year=0.0).values, 0.324, atol=1e-4)  # the DFA's 2019Q2 share
    assert not window["blocked"].sel(start_year=0.0).any()
    assert window["blocked_share"].sel(start_year=0.0).values.tolist() == [0.0, 0.0]
    # the reform due at year 5 starts after the top-1 % share crossed the threshold: blocked
    late = window.sel(start_year=5.0)
    assert np.all(late["lock_in_year"].values < 5.0)
    assert late["blocked"].all()
    # the rule, member by member: blocked exactly when the share at the start is at or above the threshold
    np.testing.assert_array_equal(window["blocked"].values, window["start_top1"].values >= thr)


def test_plot_lock_in_window(window, tmp_path):
    path = tmp_path / "window.png"
    plot_lock_in_window(window, path)
    assert path.stat().st_size > 10_000
