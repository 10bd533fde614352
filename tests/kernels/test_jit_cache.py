"""A parallel kernel and its serial twin never share an on-disk cache entry (numba keys the cache on
the qualified name, signature, CPU and bytecode, not on ``parallel``). In fresh processes with a fresh
cache directory, the twins are compiled in one order and loaded from the cache in the other; a probe
kernel compiled the same way shows the parallel kernel using every thread and the serial twin one."""
import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).with_name("thread_probe.py")


def threads_used(order: str, cache, *extra) -> dict[str, int]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "NUMBA_NUM_THREADS": "2", "SPMS_MC_NUMBA_CACHE": "1"}
    r = subprocess.run([sys.executable, str(PROBE), order, *extra], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return {name: int(n) for name, n in (line.split() for line in r.stdout.split("\n") if line.strip())}


def test_the_serial_twin_compiled_first_does_not_become_the_cached_parallel_kernel(tmp_path):
    first = threads_used("serial,parallel", tmp_path, "--warmup")  # compiles and caches both
    assert first == {"serial": 1, "parallel": 2}
    again = threads_used("parallel,serial", tmp_path)  # loads both from the cache
    assert again == {"parallel": 2, "serial": 1}
    names = sorted(p.name for p in tmp_path.rglob("*.nbi") if "thread_ids" in p.name)
    assert len(names) == 2 and any("__serial" in n for n in names) and any("__parallel" in n for n in names), names


def test_the_parallel_kernel_compiled_first_does_not_become_the_cached_serial_twin(tmp_path):
    assert threads_used("parallel,serial", tmp_path) == {"parallel": 2, "serial": 1}
    assert threads_used("parallel,serial", tmp_path) == {"parallel": 2, "serial": 1}
