"""One place for the JIT options of every kernel.

Money kernels must not use ``fastmath``: reassociation or contraction of float expressions would
make rounding depend on the compiler. On-disk caching is opt-in (``SPMS_MC_NUMBA_CACHE=1``)
because concurrent cache writers from several worker processes are a known source of crashes
(numba#4807, numba#9348; sgkit-dev/sgkit#1156).
"""
import os

from numba import njit

CACHE = os.environ.get("SPMS_MC_NUMBA_CACHE", "0").lower() in ("1", "true", "yes")

JIT_FLAGS = dict(cache=CACHE, fastmath=False, error_model="numpy", nogil=True)


def kernel(fn=None, *, parallel=False):
    """``numba.njit`` with the project's flags; ``parallel=True`` for prange kernels."""

    def wrap(f):
        return njit(parallel=parallel, **JIT_FLAGS)(f)

    return wrap(fn) if fn is not None else wrap
