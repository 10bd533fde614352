"""The machine's own limits, measured by the benchmarks in the same run as the kernels.

* ``read_modify_write``: the in-place read-modify-write loop ``a[i] += 1`` over int64, 16 bytes
  per element, parallel like the kernels it is compared with.
* ``scatter_add``: ``b[j[i]] += a[i]`` over precomputed random indices, one per account, serial
  like the credit phase of random exchange.
"""
from numba import prange

from ._jit import kernel


@kernel(parallel=True)
def read_modify_write(a):
    for i in prange(a.shape[0]):
        a[i] += 1


@kernel
def scatter_add(b, j, a):
    for i in range(a.shape[0]):
        b[j[i]] += a[i]


@kernel(parallel=True)
def copy(dst, src):
    for i in prange(src.shape[0]):
        dst[i] = src[i]
