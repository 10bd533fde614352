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
    assert len(lines) == 11, r.stdout
    assert all(line.endswith("identical") for line in lines), r.stdout


def test_batched_members_are_bit_identical_to_cpu_members_under_the_simulator():
    """A batch of members (one launch per process for all of them, metrics on the device) gives
    each member's CPU dataset byte for byte: six scenarios covering every batched process, and the
    ensemble layer (batches of 2 over a sweep of 2 points) against a CPU ensemble."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    r = subprocess.run([sys.executable, str(HERE / "cuda_batch_compare.py")], capture_output=True, text=True,
                       env=env, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 7, r.stdout
    assert all(line.endswith("identical") for line in lines), r.stdout


def _nvvm_available() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import numpy as np; np.row_stack = np.vstack; "
                            "from numba.cuda.cudadrv import nvvm; nvvm.NVVM()"],
                           capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                                if k != "NUMBA_ENABLE_CUDASIM"})
    return probe.returncode == 0


def test_every_cuda_kernel_compiles_for_a_gpu_without_fused_multiply_add():
    """The simulator runs kernels as Python: this compiles each one for an H100 (PTX, sm_90) with
    numba-cuda and libNVVM (no GPU needed) and finds no fused multiply-add on doubles, which would
    round differently from the CPU kernels."""
    if not _nvvm_available():
        pytest.skip("numba-cuda with libNVVM is not installed (pip install 'spms_mc[test]' installs it)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    r = subprocess.run([sys.executable, str(HERE / "cuda_ptx_check.py")], capture_output=True, text=True, env=env,
                       timeout=1200)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 40, r.stdout
    assert all(": fma 0 loose 0 " in line for line in lines), r.stdout
    # the float kernels do multiply (so the count means something): demurrage, exchange, the metrics
    mul = {line.split(":")[0]: int(line.split()[-1]) for line in lines}
    assert mul["spms_mc_kernels.cuda_batch.distribution_stats"] > 0 and mul["spms_mc_kernels.cuda.settle_period"] > 0
    assert mul["spms_mc_kernels.cuda.pay_households"] > 0  # C = a1 YD + a2 H: two products, one sum


def test_no_fma_contraction_is_what_removes_them():
    """The check above can fail: with the NVVM option left at its default, the tiered demurrage sum
    and the Lorenz interpolation do compile to fused multiply-adds."""
    if not _nvvm_available():
        pytest.skip("numba-cuda with libNVVM is not installed")
    code = ("import numpy as np; np.row_stack = np.vstack\n"
            "import spms_mc_kernels.cuda\n"
            "from numba.cuda.cudadrv import nvvm\n"
            "nvvm.compile_ir = nvvm.compile_ir.__closure__[0].cell_contents\n"
            "import sys; sys.argv = ['x']\n"
            f"exec(open({str(HERE / 'cuda_ptx_check.py')!r}).read())\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    fused = [line for line in r.stdout.splitlines() if ": fma 0 loose 0 " not in line]
    assert any("cuda_batch.distribution_stats" in line for line in fused), r.stdout
    assert any("cuda.settle_period" in line for line in fused), r.stdout
    assert any("cuda.pay_households" in line for line in fused), r.stdout


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
    # a batched ensemble asks for the GPU before any work too
    r = subprocess.run([sys.executable, "-m", "spms_mc", "run", "sumsy", "--backend", "cuda", "--members", "3",
                        "--out", str(tmp_path / "y.zarr")], capture_output=True, text=True, env=env)
    assert r.returncode == 2
    assert "needs an NVIDIA GPU" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "y.zarr").exists()


def test_gpu_batch_without_cuda_is_refused(tmp_path):
    r = subprocess.run([sys.executable, "-m", "spms_mc", "run", "sumsy", "--members", "2", "--gpu-batch", "2",
                        "--out", str(tmp_path / "x.zarr")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "--gpu-batch applies to run.backend = 'cuda'" in r.stderr and "Traceback" not in r.stderr


def test_gpu_benchmark_runs_on_the_simulator(tmp_path):
    """benchmarks/bench_gpu.py is one command on a GPU; here it only has to run (simulator figures
    are meaningless), and its CPU-vs-GPU identity check must find the datasets identical."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    out = tmp_path / "gpu.json"
    r = subprocess.run([sys.executable, str(HERE.parent / "benchmarks" / "bench_gpu.py"), "--size", "256",
                        "--repeats", "1", "--batch-members", "2", "--batch-households", "16", "--batch-ticks", "31",
                        "--identity-households", "16", "--identity-ticks", "31", "--identity-members", "2",
                        "--json", str(out)], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "settle (GI + demurrage)" in r.stdout and "random exchange tick" in r.stdout
    assert "batch of 2 members x 16 households x 31 ticks of sumsy" in r.stdout
    import json

    data = json.loads(out.read_text())
    assert data["n"] == 256 and data["settle_ratio"] > 0 and data["device"] == "numba CUDA simulator"
    assert data["batch_seconds"] > 0 and data["batch_members"] == 2
    assert data["sample_seconds_device_sort"] > 0 and data["sample_seconds_host_sort"] > 0
    assert data["identity"] == {"sumsy, single member": "identical", "sumsy, batch of 2": "identical",
                                "kinetic_exchange, single member": "identical",
                                "kinetic_exchange, batch of 2": "identical"}
