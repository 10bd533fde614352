"""A kernel that records which thread ran each iteration, compiled like every project kernel (with its
serial twin), for tests/kernels/test_jit_cache.py. Run as a script:
``python thread_probe.py ORDER`` calls the twins in ORDER (``serial,parallel`` or ``parallel,serial``)
and prints how many distinct threads each used."""
import sys

import numba
import numpy as np
from numba import prange

from spms_mc_kernels._jit import kernel


@kernel(parallel=True)
def thread_ids(out):
    for i in prange(out.shape[0]):
        out[i] = numba.get_thread_id()


if __name__ == "__main__":
    if "--warmup" in sys.argv:  # the engine's warm-up first: small populations run the serial twins
        import spms_mc
        from spms_mc.engine.warmup import warmup

        warmup(spms_mc.load_scenario("sumsy"))
    out = np.zeros(400_000, np.int64)
    for which in sys.argv[1].split(","):
        out[:] = -1
        (thread_ids if which == "parallel" else thread_ids.serial)(out)
        print(f"{which} {len(set(out.tolist()))}")
