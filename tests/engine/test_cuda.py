"""The CUDA backend, tested without a GPU through numba's CUDA simulator (small sizes): the same
seed gives the same bytes as the CPU backend, and asking for CUDA without one is a clear error."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


BATCH_FIRST = ["sumsy", "kinetic_exchange", "yard_sale", "tiered_on_demand"]
BATCH_SECOND = ["subset_firms_events_fixed_rate", "transactional_subset_buffer_loans",
                "end_base_saving_demurrage_funded", "ensemble"]


@pytest.fixture(scope="module")
def simulator_runs(tmp_path_factory):
    """The simulator scripts, each single-threaded and minutes long, started together as soon as the
    first test of this module needs them, so they share the cores; each test waits for its own."""
    # no on-disk numba cache: processes that compile at once must not race to write it (numba#4807)
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "SPMS_MC_NUMBA_CACHE": "0"}
    out = tmp_path_factory.mktemp("gpu") / "gpu.json"
    commands = {
        "sim": [str(HERE / "cuda_sim_compare.py")],
        "batch_first": [str(HERE / "cuda_batch_compare.py"), *BATCH_FIRST],
        "batch_second": [str(HERE / "cuda_batch_compare.py"), *BATCH_SECOND],
        "bench": [str(HERE.parents[1] / "benchmarks" / "bench_gpu.py"), "--size", "256", "--repeats", "1",
                  "--batch-members", "2", "--batch-households", "16", "--batch-ticks", "31",
                  "--identity-households", "16", "--identity-ticks", "31", "--identity-members", "2",
                  "--json", str(out)],
    }
    procs = {k: subprocess.Popen([sys.executable, *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env) for k, c in commands.items()}
    results: dict = {}

    def result(name):
        if name not in results:
            stdout, stderr = procs[name].communicate(timeout=1800)
            results[name] = (procs[name].returncode, stdout, stderr)
        return results[name]

    result.bench_json = out
    yield result
    for p in procs.values():
        if p.poll() is None:
            p.kill()
            p.communicate()


def test_cuda_backend_is_bit_identical_to_cpu_under_the_simulator(simulator_runs):
    rc, stdout, stderr = simulator_runs("sim")
    assert rc == 0, stderr[-3000:]
    lines = stdout.strip().splitlines()
    assert len(lines) == 13, stdout  # every case of cuda_sim_compare.CASES
    assert all(line.endswith("identical") for line in lines), stdout


def test_batched_members_are_bit_identical_to_cpu_members_under_the_simulator(simulator_runs):
    """A batch of members (one launch per process for all of them, metrics on the device) gives
    each member's CPU dataset byte for byte: seven scenarios covering every batched process (SuMSy
    periodic and transactional, with buffer loans), and the ensemble layer (batches of 2 over a
    sweep of 2 points) against a CPU ensemble."""
    lines = []
    for half in ("batch_first", "batch_second"):
        rc, stdout, stderr = simulator_runs(half)
        assert rc == 0, stderr[-3000:]
        lines += stdout.strip().splitlines()
    assert len(lines) == 8, lines
    assert all(line.endswith("identical") for line in lines), lines


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
    assert len(lines) == 42, r.stdout  # cuda_ptx_check.py exits 1 when a kernel has no signature there
    assert all(": fma 0 loose 0 " in line for line in lines), r.stdout
    # the float kernels do multiply (so the count means something): demurrage, exchange, the metrics
    mul = {line.split(":")[0]: int(line.split()[-1]) for line in lines}
    assert mul["spms_mc_kernels.cuda_batch.distribution_stats"] > 0 and mul["spms_mc_kernels.cuda.settle_period"] > 0
    assert mul["spms_mc_kernels.cuda.pay_households"] > 0  # C = a1 YD + a2 H: two products, one sum
    assert mul["spms_mc_kernels.cuda_batch.accrue_accounts"] > 0  # the transactional pro-rata demurrage


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

@pytest.mark.parametrize("preset, over, problems", [
    ("sumsy_transactional", {"events": [{"kind": "loss", "tick": 3, "fraction": 0.1}]}, []),
    ("sumsy", {"sumsy.demurrage_free_buffer": 10.0, "sumsy.buffer_loans": [[0, 1, 10.0]]}, []),
    ("ai_bau_fixed_equity", {}, ["economy.enabled", "bank.enabled"]),
    ("gl_sim_lagged", {}, ["economy.enabled", "government.enabled"]),
    ("gl_sim", {}, ["sim.enabled"]),
])
def test_batch_problems_name_the_keys_without_batched_kernels(preset, over, problems):
    """Every SuMSy variant batches; the economy and credit processes are named, and a batch of
    such a scenario is refused with those keys before any device work."""
    import spms_mc
    from spms_mc.engine.batch import BatchEngine, batch_problems

    sc = spms_mc.load_scenario(preset, over)
    assert batch_problems(sc) == problems
    if problems:
        with pytest.raises(spms_mc.ScenarioError, match=r"\bhas no batched CUDA kernels") as err:
            BatchEngine(sc.with_overrides({"run.backend": "cuda"}), 1, [0, 1])
        assert all(k in str(err.value) for k in problems)



def test_gpu_benchmark_runs_on_the_simulator(simulator_runs):
    """benchmarks/bench_gpu.py is one command on a GPU; here it only has to run (simulator figures
    are meaningless), and its CPU-vs-GPU identity check must find the datasets identical."""
    rc, stdout, stderr = simulator_runs("bench")
    assert rc == 0, stderr[-2000:]
    assert "settle (GI + demurrage)" in stdout and "random exchange tick" in stdout
    assert "batch of 2 members x 16 households x 31 ticks of sumsy" in stdout
    import json

    data = json.loads(simulator_runs.bench_json.read_text())
    assert data["n"] == 256 and data["settle_ratio"] > 0 and data["device"] == "numba CUDA simulator"
    assert data["batch_seconds"] > 0 and data["batch_members"] == 2
    assert data["sample_seconds_device_sort"] > 0 and data["sample_seconds_host_sort"] > 0
    assert data["identity"] == {"sumsy, single member": "identical", "sumsy, batch of 2": "identical",
                                "kinetic_exchange, single member": "identical",
                                "kinetic_exchange, batch of 2": "identical"}


def test_batch_size_fits_half_the_free_memory_and_the_grid():
    """A batch holds every member when they fit in half the free device memory, else as many as
    fit, and never more than CUDA's grid limit; each member's bytes count its per-account arrays
    (balance, flags, the padded sort row, plus the period sums or last-touched ticks)."""
    import spms_mc
    from spms_mc.engine.batch import MAX_BATCH, auto_batch_size, member_bytes

    over = {"population.households": 1000, "exchange.rule": "none"}
    end = spms_mc.load_scenario("sumsy", {**over, "sumsy.demurrage_base": "end"})
    average = spms_mc.load_scenario("sumsy", over)
    transactional = spms_mc.load_scenario("sumsy_transactional", over)
    width = 1024  # the sort row, padded to a power of two
    assert member_bytes(end) == 1000 * (8 + 1) + 8 * width + 4096
    assert member_bytes(average) == member_bytes(end) + 8 * 1000
    assert member_bytes(transactional) == member_bytes(average)
    one = member_bytes(average)
    assert auto_batch_size(average, 10, free_bytes=2 * 10 * one) == 10
    assert auto_batch_size(average, 10, free_bytes=2 * 7 * one + one) == 7
    assert auto_batch_size(average, 10, free_bytes=0) == 1
    assert auto_batch_size(average, 10**6, free_bytes=2**50) == MAX_BATCH
