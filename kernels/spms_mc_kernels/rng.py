"""Counter-based random numbers: every draw is a pure function of its coordinates.

A draw is addressed by ``(member key, tick, stream, index)``; nothing is carried from one draw to
the next, so results do not depend on thread count, evaluation order, worker or device
(docs/design.md, "Randomness is counter-based"; numpy ``random/parallel.rst`` on counter-based streams).

Construction (frozen: changing it changes every result):

* ``mix64`` is the SplitMix64 output function (Steele, Lea & Flood 2014, "Fast splittable
  pseudorandom number generators", OOPSLA; constants of Stafford's "Mix13").
* ``member_key(root, member) = mix64(mix64(root + G) + (member + 1) * G)`` with G the golden-ratio
  increment 0x9E3779B97F4A7C15: member streams depend on ``(root seed, member)`` only.
* ``stream_key(key, tick, stream) = mix64(key ^ mix64((tick << 16 | stream) + G))`` keys one
  (tick, stream) pair.
* ``draw(skey, index) = mix64(skey + (index + 1) * G)``: the index-th output of a SplitMix64
  sequence seeded with ``skey``, a generator that passes BigCrush.
* Uniform doubles take the top 53 bits: ``(x >> 11) * 2**-53`` in [0, 1).
* ``permute(skey, x, bits, n)`` is a 4-round Feistel network on ``2*half`` bits with
  cycle-walking to ``[0, n)``: a keyed bijection used to pair accounts without collisions, so
  pairwise exchange runs in parallel with no atomics.
"""
import numpy as np

from ._jit import kernel

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S16 = np.uint64(16)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
INV_2_53 = 1.0 / 9007199254740992.0

# Stream ids: one per kind of draw, fixed forever. Distinct processes never share a stream, and
# regimes that share a mechanism share its stream (common random numbers across regimes).
STREAM_EXCHANGE_FRACTION = 1
STREAM_EXCHANGE_TARGET = 2
STREAM_PAIRING = 3
STREAM_PAIR_SHARE = 4
STREAM_PAIR_COIN = 5
STREAM_ACTIVITY = 6
STREAM_INITIAL = 7
STREAM_HOUSEHOLD_TYPE = 8
STREAM_EMPLOYER = 9
STREAM_AI_INTENSITY = 10
STREAM_DISPLACEMENT = 11
STREAM_FIRM_CHOICE = 12
STREAM_EQUITY_RANK = 13
STREAM_CREDIT_LIMIT = 14
STREAM_CETE_ORDER = 15
STREAM_EVENT_BASE = 1024  # event k draws on stream STREAM_EVENT_BASE + k


@kernel
def mix64(z):
    """SplitMix64 finaliser: a bijective avalanche of one uint64."""
    z = np.uint64(z)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@kernel
def member_key(root_seed, member):
    """The key of one ensemble member, from the root seed and the member index only."""
    return mix64(mix64(np.uint64(root_seed) + GOLDEN) + (np.uint64(member) + _ONE) * GOLDEN)


@kernel
def stream_key(key, tick, stream):
    """The key of the draws of one (tick, stream) pair of a member."""
    v = (np.uint64(tick) << _S16) | np.uint64(stream)
    return mix64(np.uint64(key) ^ mix64(v + GOLDEN))


@kernel
def stream_keys(key, tick0, streams, out):
    """Fill ``out[t, s] = stream_key(key, tick0 + t, streams[s])``: keys for a block of ticks at
    once, so the per-tick Python cost of the engine stays a table lookup."""
    for t in range(out.shape[0]):
        for s in range(streams.shape[0]):
            out[t, s] = stream_key(key, tick0 + t, streams[s])


@kernel
def draw_u64(skey, index):
    """Raw 64-bit draw number ``index`` under a stream key."""
    return mix64(skey + (np.uint64(index) + _ONE) * GOLDEN)


@kernel
def draw_uniform(skey, index):
    """Uniform double in [0, 1) for draw number ``index`` under a stream key."""
    return np.float64(draw_u64(skey, index) >> _S11) * INV_2_53


@kernel
def draw_other(skey, index, n):
    """Uniform integer in ``[0, n)`` other than ``index`` (requires n >= 2)."""
    j = np.int64(draw_uniform(skey, index) * (n - 1))
    if j >= index:
        j += 1
    return j


@kernel
def feistel_half_bits(n):
    """Half-width in bits of the smallest even-width Feistel domain covering ``[0, n)``."""
    bits = 1
    while (np.int64(1) << bits) < n:
        bits += 1
    return (bits + 1) // 2


@kernel
def _feistel(skey, x, half):
    mask = (_ONE << np.uint64(half)) - _ONE
    left = np.uint64(x) >> np.uint64(half)
    right = np.uint64(x) & mask
    for r in range(4):
        f = mix64(skey + (right + _ONE) * GOLDEN + np.uint64(r)) & mask
        left, right = right, left ^ f
    return np.int64((left << np.uint64(half)) | right)


@kernel
def permute(skey, x, half, n):
    """Keyed bijection of ``[0, n)``: Feistel network with cycle-walking.

    ``half`` is ``feistel_half_bits(n)``; the domain ``2**(2*half)`` is below ``4*n``, so the
    expected number of walks is below 4.
    """
    y = _feistel(skey, x, half)
    while y >= n:
        y = _feistel(skey, y, half)
    return y
