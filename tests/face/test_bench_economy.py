"""A smoke test of the economy-tick benchmark (spms_mc.face.bench.bench_economy): it runs at a tiny size
and returns sane figures. The figures themselves are checked by benchmarks/, not here."""
import math
import os

from spms_mc.face import bench


def test_economy_benchmark_runs_at_a_tiny_size():
    mode = os.environ.get("SPMS_MC_CHECK_LEDGER")
    res, details = bench.bench_economy(2000, 20, repeats=2, period=5)
    assert os.environ.get("SPMS_MC_CHECK_LEDGER") == mode  # the cross-check restores it
    assert res["name"] == "economy_tick" and res["unit"] == "household-ticks/s"
    assert res["limit_name"] == "sumsy_tick" and res["judged_on"] == "measured"
    for key in ("measured", "limit", "ratio"):
        assert math.isfinite(res[key]) and res[key] > 0, key
    for key in ("samples", "limit_samples", "ratio_samples"):
        assert len(res[key]) == 2 and all(math.isfinite(x) and x > 0 for x in res[key]), key
    assert res["passed"] == (res["measured"] >= bench.TARGET_ECONOMY)
    assert details["households"] == 2000 and details["firms"] == 20 and details["period"] == 5
    # the kernels of the economy were attributed (the serial twins of a small engine too)
    assert {"consume", "pay_and_save", "execute_orders", "employment_weights"} <= set(details["tick_breakdown"])
    assert all(d["seconds_per_tick"] >= 0 for k, d in details["tick_breakdown"].items() if k != "python_overhead")
    assert details["sample_seconds"] > 0
    run = details["engine_run"]
    assert run["ticks"] == (bench.ECONOMY_WARMUP_PERIODS + 1) * 5
    assert math.isfinite(run["household_ticks_per_s"]) and run["household_ticks_per_s"] > 0
    assert "economy_tick" in bench.format_table([res])


def test_regime_benchmark_pairs_the_regime_with_its_baseline():
    res = bench.bench_regime(2000, 20, repeats=2, period=5, preset="cete")
    assert res["name"] == "cete_tick" and res["limit_name"] == "ai_bau_tick"
    for key in ("measured", "limit", "ratio"):
        assert math.isfinite(res[key]) and res[key] > 0, key
    assert len(res["ratio_samples"]) == 2
    assert res["passed"] == (res["ratio"] >= bench.TARGET_REGIME)
    assert "cete_tick" in bench.format_table([res])
