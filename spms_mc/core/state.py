"""Struct-of-arrays state of one member, sized once at start (docs/design.md, "State").

Accounts ``0 .. H-1`` are households, ``H .. H+F-1`` firms (legal entities). The core allocates the
arrays every regime has; each mechanism allocates its own (:meth:`State.add_array`, declared in its
``arrays``) only when the scenario needs them, which keeps a SuMSy run at 25 bytes per household:

=====================  =======  ==============================================================
array                  bytes    owner: when
=====================  =======  ==============================================================
``balance``            8        core: always (int64 minor units)
``flags``              1        core: always (ELIGIBLE, ACTIVE bits)
``scratch``            8/H      core: exchange debits, then the sort buffer of the metrics
``participants``       8        core: only when not every household is active
``period_sum``         8        sumsy: periodic SuMSy with demurrage on the average balance
``last_tick``          8        sumsy: transactional SuMSy
``buffer_by_account``  8        sumsy: only when buffers are lent
``kind``               1/H      economy: AI-complementary, routine or unemployed
``employer``           4/H      economy: firm index
``equity``             8/H      economy: units of the equity index
``plan``               8/H      economy: spending planned for the period
``loans``              8        credit: loan principal outstanding
=====================  =======  ==============================================================

An array a registered mechanism declares but did not allocate reads as an empty int64 array.
Institutional accounts (the rounding sink, and those mechanisms declare, such as the governance
account) are int64 scalars in ``institutions``, named by ``institution_names``; their balances are
part of the money stock.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from spms_mc_kernels import rng
from spms_mc_kernels.sumsy import ACTIVE

from . import registry
from .config import Scenario

SINK = 0
EMPTY = np.empty(0, np.int64)


@dataclass
class State:
    n_households: int
    n_firms: int
    balance: np.ndarray
    flags: np.ndarray
    scratch: np.ndarray
    participants: np.ndarray  # empty: every household takes part
    n_participants: int
    n_eligible: int
    institutions: np.ndarray
    institution_names: tuple = ("sink",)
    host_buffer: np.ndarray | None = None  # host sort buffer of the metrics (the scratch on the CPU)
    arrays: dict = field(default_factory=dict)  # the mechanisms' per-account arrays, by name

    def __getattr__(self, name):
        arrays = self.__dict__.get("arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        if not name.startswith("_") and name in registry.declared_arrays():
            return EMPTY
        raise AttributeError(f"the state has no array {name!r}")

    def __setattr__(self, name, value):
        arrays = self.__dict__.get("arrays")
        if arrays is not None and (name in arrays or name in registry.declared_arrays()):
            arrays[name] = value
        else:
            object.__setattr__(self, name, value)

    def add_array(self, name: str, values: np.ndarray) -> None:
        """Add a mechanism's per-account array (declared in the mechanism's ``arrays``)."""
        if name not in registry.declared_arrays():
            raise ValueError(f"state array {name!r} is not declared by a registered mechanism "
                             f"(declared: {', '.join(registry.declared_arrays())})")
        self.arrays[name] = values

    def institution(self, name: str) -> int:
        """Index of an institutional account in ``institutions``."""
        return self.institution_names.index(name)

    @property
    def n_accounts(self) -> int:
        return self.n_households + self.n_firms

    def nbytes(self) -> int:
        core = (self.balance, self.flags, self.scratch, self.participants, self.institutions)
        return sum(a.nbytes for a in core) + sum(a.nbytes for a in self.arrays.values())


def allocate(sc: Scenario, key: int) -> State:
    """Allocate and initialise the state of one member keyed by ``key`` (its member key): the core
    arrays here, then each enabled mechanism's (:meth:`~spms_mc.core.registry.Mechanism.allocate`)."""
    H, F = sc.population.households, sc.population.firms
    n = H + F
    flags = np.zeros(n, np.uint8)
    n_active = sc.n_active
    if n_active == H:
        participants = EMPTY
        flags[:H] |= ACTIVE
    else:
        # a random subset of exactly n_active households: those the keyed permutation ranks first
        skey = np.uint64(rng.stream_key(key, 0, rng.STREAM_ACTIVITY))
        ranks = keyed_permutation(skey, H)
        participants = np.sort(np.flatnonzero(ranks < n_active)).astype(np.int64)
        flags[participants] |= ACTIVE
    balance = np.zeros(n, np.int64)
    initial = sc.minor(sc.population.initial_balance)
    if initial:
        if sc.population.initial_distribution == "equal":
            balance[:H] = initial
        else:
            skey = np.uint64(rng.stream_key(key, 0, rng.STREAM_INITIAL))
            u = keyed_uniforms(skey, H)
            balance[:H] = np.floor(-np.log1p(-u) * initial).astype(np.int64)
    names = registry.institutions()
    st = State(n_households=H, n_firms=F, balance=balance, flags=flags, scratch=np.zeros(H, np.int64),
               participants=participants, n_participants=n_active, n_eligible=sc.n_eligible,
               institutions=np.zeros(len(names), np.int64), institution_names=names)
    for m in registry.enabled(sc):
        m.allocate(sc, st, key)
    return st


def keyed_permutation(skey, n):
    """A keyed random permutation of 0 .. n-1 (the counter-based Feistel bijection)."""
    from spms_mc_kernels.rng import feistel_half_bits

    from .backend import permutation_array

    return permutation_array(skey, n, feistel_half_bits(n))


def keyed_uniforms(skey, n):
    """n keyed uniform draws in [0, 1)."""
    from .backend import uniform_array

    return uniform_array(skey, n)
