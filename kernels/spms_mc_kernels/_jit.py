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
    """``numba.njit`` with the project's flags; ``parallel=True`` for prange kernels.

    A parallel kernel also gets a serial twin, ``kernel.serial`` (prange runs as range): the same
    integer results, without the ~1 us launch cost of a parallel region, for small populations.
    """

    def wrap(f):
        d = njit(parallel=parallel, **JIT_FLAGS)(f)
        d.serial = njit(parallel=False, **JIT_FLAGS)(f) if parallel else d
        return d

    return wrap(fn) if fn is not None else wrap
