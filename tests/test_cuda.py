"""The CUDA backend, tested without a GPU through numba's CUDA simulator (small sizes): the same
seed gives the same bytes as the CPU backend, and asking for CUDA without one is a clear error."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_cuda_backend_is_bit_identical_to_cpu_under_the_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    r = subprocess.run([sys.executable, str(HERE / "cuda_sim_compare.py")], capture_output=True, text=True,
                       env=env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 8, r.stdout
    assert all(line.endswith("identical") for line in lines), r.stdout


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    probe = subprocess.run([sys.executable, "-c", "from numba import cuda; print(cuda.is_available())"],
                           capture_output=True, text=True, env=env)
    if probe.stdout.strip() == "True":
        pytest.skip("a GPU is present")
    r = subprocess.run([sys.executable, "-m", "spms_mc", "run", "sumsy", "--backend", "cuda", "--out",
                        str(tmp_path / "x.zarr")], capture_output=True, text=True, env=env)
    assert r.returncode == 2
    assert "needs an NVIDIA GPU" in r.stderr and "Traceback" not in r.stderr


def test_gpu_benchmark_runs_on_the_simulator(tmp_path):
    """benchmarks/bench_gpu.py is one command on a GPU; here it only has to run (simulator figures
    are meaningless)."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = tmp_path / "gpu.json"
    r = subprocess.run([sys.executable, str(HERE.parent / "benchmarks" / "bench_gpu.py"), "--size", "256",
                        "--repeats", "1", "--json", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "settle (GI + demurrage)" in r.stdout and "random exchange tick" in r.stdout
    import json

    data = json.loads(out.read_text())
    assert data["n"] == 256 and data["settle_ratio"] > 0 and data["device"] == "numba CUDA simulator"
