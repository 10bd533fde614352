"""One place for the JIT options of every kernel.

Money kernels must not use ``fastmath``: reassociation or contraction of float expressions would
make rounding depend on the compiler. Compiled kernels are cached on disk (next to the sources, or in ``NUMBA_CACHE_DIR``) so a run does
not pay several seconds of compilation each time. Concurrent cache *writers* in several worker
processes are a known source of crashes (numba#4807, numba#9348; sgkit-dev/sgkit#1156): the
ensemble layer compiles once before it fans out, and ``SPMS_MC_NUMBA_CACHE=0`` turns the cache off.
"""
import os
import types

from numba import njit

CACHE = os.environ.get("SPMS_MC_NUMBA_CACHE", "1").lower() not in ("0", "false", "no")

JIT_FLAGS = dict(cache=CACHE, fastmath=False, error_model="numpy", nogil=True)


def renamed_copy(f, suffix: str):
    """``f`` as a new function object named ``<name><suffix>`` (same code, globals and defaults)."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__, f.__closure__)
    g.__qualname__ = f.__qualname__ + suffix
    g.__module__ = f.__module__
    g.__doc__ = f.__doc__
    g.__kwdefaults__ = f.__kwdefaults__
    return g


def kernel(fn=None, *, parallel=False):
    """``numba.njit`` with the project's flags; ``parallel=True`` for prange kernels.

    A parallel kernel also gets a serial twin, ``kernel.serial`` (prange runs as range): the same
    integer results, without the ~1 us launch cost of a parallel region, for small populations.

    Each twin is compiled from a copy of the function under its own qualified name (``name__parallel``,
    ``name__serial``). numba's on-disk cache keys an entry on the qualified name, the signature, the
    CPU and the bytecode, not on ``parallel``: compiled from the same function, the twins would share
    one entry, and whichever was compiled first would be loaded for the other (a "parallel" kernel
    running serially, or a serial one running parallel code). New names also leave behind the
    entries such a shared cache already holds.
    """

    def wrap(f):
        if not parallel:
            d = njit(**JIT_FLAGS)(f)
            d.serial = d
            return d
        d = njit(parallel=True, **JIT_FLAGS)(renamed_copy(f, "__parallel"))
        d.serial = njit(parallel=False, **JIT_FLAGS)(renamed_copy(f, "__serial"))
        return d

    return wrap(fn) if fn is not None else wrap
