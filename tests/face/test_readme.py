"""The README's set-up commands are the ones CI runs, and its example is real."""
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"\n{ci}\n" in readme
    assert 'python -m pip install . && spms-mc run sumsy --out sumsy.zarr' in readme


def test_readme_python_example_output():
    import spms_mc

    sc = spms_mc.load_scenario("sumsy", {"population.households": 100_000, "sumsy.demurrage": 0.02,
                                         "run.ticks": 9000})
    ds = spms_mc.simulate(sc, seed=7)
    readme = (ROOT / "README.md").read_text()
    assert f"{ds.gini.isel(time=-1).item():.4f}" in readme
    assert f"{ds.median_balance.isel(time=-1).item():.2f}" in readme


def test_readme_main_job_output(tmp_path):
    """The worked example's `spms-mc run sumsy` line is what the command prints (timing aside)."""
    import re
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "spms_mc", "run", "sumsy", "--out", str(tmp_path / "s.zarr")],
                       capture_output=True, text=True, check=True)
    line = r.stdout.strip().splitlines()[-1]
    stable = re.sub(r"in [0-9.]+ s \([0-9.e+]+ account-ticks/s\) -> \S+", "", line)
    readme = (ROOT / "README.md").read_text()
    shown = next(x for x in readme.splitlines() if x.startswith("sumsy: 1 member(s)"))
    assert re.sub(r"in [0-9.]+ s \([0-9.e+]+ account-ticks/s\) -> \S+", "", shown) == stable
