"""One place for the JIT options of every kernel.

Money kernels must not use ``fastmath``: reassociation or contraction of float expressions would
make rounding depend on the compiler. Compiled kernels are cached on disk (next to the sources, or in ``NUMBA_CACHE_DIR``) so a run does
not pay several seconds of compilation each time. Concurrent cache *writers* in several worker
processes are a known source of crashes (numba#4807, numba#9348; sgkit-dev/sgkit#1156): the
ensemble layer compiles once before it fans out, and ``SPMS_MC_NUMBA_CACHE=0`` turns the cache off.
"""
import os

from numba import njit

CACHE = os.environ.get("SPMS_MC_NUMBA_CACHE", "1").lower() not in ("0", "false", "no")

JIT_FLAGS = dict(cache=CACHE, fastmath=False, error_model="numpy", nogil=True)


def kernel(fn=None, *, parallel=False):
    """``numba.njit`` with the project's flags; ``parallel=True`` for prange kernels."""

    def wrap(f):
        return njit(parallel=parallel, **JIT_FLAGS)(f)

    return wrap(fn) if fn is not None else wrap
