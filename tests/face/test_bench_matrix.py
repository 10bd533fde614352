"""A smoke test of the benchmark matrix (spms_mc.face.bench.bench_matrix, ``spms-mc bench --matrix``):
at N = 1000, one repeat, two presets it returns the structure the README documents, and each rate
is the marginal rate of two real simulate() runs. The figures themselves are benchmarks/' business."""
import json
import math
import os

from click.testing import CliRunner

from spms_mc.face import bench
from spms_mc.face.cli import cli


def test_matrix_rates_come_from_a_long_and_a_short_run():
    mode = os.environ.get("SPMS_MC_CHECK_LEDGER")
    res = bench.bench_matrix(sizes=[1000], cases=["sumsy", "kinetic_exchange"], repeats=1, seconds=0.05, out=None)
    assert os.environ.get("SPMS_MC_CHECK_LEDGER") == mode  # restored after each run
    assert res["sizes"] == [1000] and res["repeats"] == 1 and res["cases"] == ["sumsy", "kinetic_exchange"]
    assert [(r["case"], r["n"]) for r in res["rows"]] == [("sumsy", 1000), ("kinetic_exchange", 1000)]
    for r in res["rows"]:
        assert r["ticks_long"] > r["ticks_short"] >= 1
        assert r["marginal_ticks"] == r["ticks_long"] - r["ticks_short"]
        if r["case"] == "sumsy":  # whole periods: the settlement at each period start amortised exactly
            assert r["marginal_ticks"] % 30 == 0
        (t_s,), (t_l,) = r["seconds_short"], r["seconds_long"]
        assert 0 < t_s < t_l  # two real runs, the long one longer
        assert math.isclose(r["rate"], r["marginal_ticks"] * 1000 / (t_l - t_s))
        assert math.isclose(r["us_per_tick"], (t_l - t_s) / r["marginal_ticks"] * 1e6)
        for key in ("rate", "rmw", "scatter", "ratio_rmw", "ratio_scatter", "us_per_tick"):
            assert math.isfinite(r[key]) and r[key] > 0, key
        assert math.isclose(r["ratio_rmw"], r["rate"] / r["rmw"])
        assert math.isclose(r["ratio_scatter"], r["rate"] / r["scatter"])
        assert r["rmw_kernel"] == "serial twin"  # as the engine's kernels at N = 1000
    names = [t["name"] for t in res["targets"]]
    assert "sumsy N=1,000 us per tick" in names and "kinetic_exchange N=1,000 / scatter-add" in names
    assert not any("read-modify-write" in n for n in names)  # the N = 10^7 cell was not run
    assert all(t["passed"] == (t["value"] >= t["target"] if t["op"] == ">=" else t["value"] <= t["target"])
               for t in res["targets"])
    text = bench.format_matrix(res)
    assert "sumsy" in text and "kinetic_exchange" in text and "/scatter" in text


def test_matrix_cases_cover_the_issue():
    assert set(bench.MATRIX_CASES) == {"sumsy", "sumsy_period1", "sumsy_gi_demurrage", "sumsy_transactional",
                                       "kinetic_exchange", "yard_sale", "ai_bau"}
    assert bench.MATRIX_CASES["sumsy_period1"].overrides == {"run.period": 1}
    assert bench.MATRIX_CASES["sumsy_gi_demurrage"].overrides == {"run.period": 1, "exchange.rule": "none"}
    assert bench.RMW_TARGET_CELL == ("sumsy_gi_demurrage", 10**7)
    assert bench.MATRIX_CASES["ai_bau"].max_n == 10**6
    assert bench.MATRIX_SIZES == (10**3, 10**4, 10**5, 10**6, 10**7)
    sc = bench.matrix_scenario("ai_bau", 10_000, 90)
    assert sc.population.households == 10_000 and sc.population.firms == 10 and sc.run.sample_every == 90
    assert bench.matrix_scenario("sumsy", 1000, 60, sample_every=30).run.sample_every == 30


def test_cli_matrix_writes_json(tmp_path):
    out = tmp_path / "m.json"
    r = CliRunner().invoke(cli, ["bench", "--matrix", "--quick", "--sizes", "1000", "--presets", "yard_sale",
                                 "--json", str(out)])
    assert r.exit_code == 0, r.output
    assert "yard_sale" in r.output and "targets:" in r.output
    res = json.loads(out.read_text())
    assert [(row["case"], row["n"]) for row in res["rows"]] == [("yard_sale", 1000)]
    assert len(res["rows"][0]["rate_samples"]) == bench.QUICK_REPEATS
    bad = CliRunner().invoke(cli, ["bench", "--matrix", "--presets", "nope"])
    assert bad.exit_code == 2 and "unknown matrix case" in bad.output
