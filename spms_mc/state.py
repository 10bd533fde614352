"""Struct-of-arrays state of one member, sized once at start (DESIGN.md "State").

Accounts ``0 .. H-1`` are households, ``H .. H+F-1`` firms (legal entities). Per-account arrays
exist only when the scenario needs them, which keeps a SuMSy run at 25 bytes per household:

=====================  =======  ==============================================================
array                  bytes    when
=====================  =======  ==============================================================
``balance``            8        always (int64 minor units)
``flags``              1        always (ELIGIBLE, ACTIVE bits)
``period_sum``         8        periodic SuMSy with demurrage on the average balance
``last_tick``          8        transactional SuMSy
``scratch``            8/H      always: exchange debits, then the sort buffer of the metrics
``buffer_by_account``  8        only when buffers are lent
``participants``       8        only when not every household is active
``kind``               1/H      production economy: AI-complementary, routine or unemployed
``employer``           4/H      production economy: firm index
``equity``             8/H      production economy: units of the equity index
``plan``               8/H      production economy: spending planned for the period
``loans``              8        bank credit: loan principal outstanding
=====================  =======  ==============================================================

Institutional accounts (the rounding sink, the governance account) are a few int64 scalars in
``institutions``; their balances are part of the money stock.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from spms_mc_kernels import rng
from spms_mc_kernels.sumsy import ACTIVE, ELIGIBLE

from .config import Scenario

SINK = 0
GOVERNANCE = 1
INSTITUTIONS = ("sink", "governance")
EMPTY = np.empty(0, np.int64)


@dataclass
class State:
    n_households: int
    n_firms: int
    balance: np.ndarray
    flags: np.ndarray
    period_sum: np.ndarray
    last_tick: np.ndarray
    scratch: np.ndarray
    buffer_by_account: np.ndarray
    participants: np.ndarray  # empty: every household takes part
    n_participants: int
    n_eligible: int
    institutions: np.ndarray
    host_buffer: np.ndarray | None = None  # host sort buffer of the metrics (the scratch on the CPU)
    kind: np.ndarray = field(default_factory=lambda: EMPTY)
    employer: np.ndarray = field(default_factory=lambda: EMPTY)
    equity: np.ndarray = field(default_factory=lambda: EMPTY)
    plan: np.ndarray = field(default_factory=lambda: EMPTY)
    loans: np.ndarray = field(default_factory=lambda: EMPTY)

    @property
    def n_accounts(self) -> int:
        return self.n_households + self.n_firms

    def nbytes(self) -> int:
        arrays = (self.balance, self.flags, self.period_sum, self.last_tick, self.scratch,
                  self.buffer_by_account, self.participants, self.institutions, self.kind, self.employer,
                  self.equity, self.plan, self.loans)
        return sum(a.nbytes for a in arrays)


def allocate(sc: Scenario, key: int) -> State:
    """Allocate and initialise the state of one member keyed by ``key`` (its member key)."""
    H, F = sc.population.households, sc.population.firms
    n = H + F
    s = sc.sumsy
    flags = np.zeros(n, np.uint8)
    n_eligible = sc.n_eligible
    if s.enabled:
        flags[:n_eligible] |= ELIGIBLE  # a prefix: kernels may rely on it (settle_period's eligible_prefix)
    n_active = sc.n_active
    if n_active == H:
        participants = EMPTY
        flags[:H] |= ACTIVE
    else:
        # a random subset of exactly n_active households: those the keyed permutation ranks first
        skey = np.uint64(rng.stream_key(key, 0, rng.STREAM_ACTIVITY))
        ranks = _permutation(skey, H)
        participants = np.sort(np.flatnonzero(ranks < n_active)).astype(np.int64)
        flags[participants] |= ACTIVE
    balance = np.zeros(n, np.int64)
    initial = sc.minor(sc.population.initial_balance)
    if initial:
        if sc.population.initial_distribution == "equal":
            balance[:H] = initial
        else:
            skey = np.uint64(rng.stream_key(key, 0, rng.STREAM_INITIAL))
            u = _uniforms(skey, H)
            balance[:H] = np.floor(-np.log1p(-u) * initial).astype(np.int64)
    period_sum = np.zeros(n, np.int64) if (s.enabled and s.mode == "period"
                                          and s.demurrage_base == "average") else EMPTY
    last_tick = np.zeros(n, np.int64) if (s.enabled and s.mode == "transactional") else EMPTY
    buffer_by_account = EMPTY
    if s.enabled and s.buffer_loans:
        buffer_by_account = np.zeros(n, np.int64)
        buffer_by_account[:n_eligible] = sc.minor(s.demurrage_free_buffer)
        # loans take effect at period starts (SumsyMoney applies them), including tick 0
    st = State(n_households=H, n_firms=F, balance=balance, flags=flags, period_sum=period_sum,
               last_tick=last_tick, scratch=np.zeros(H, np.int64),
               buffer_by_account=buffer_by_account, participants=participants,
               n_participants=n_active, n_eligible=n_eligible,
               institutions=np.zeros(len(INSTITUTIONS), np.int64))
    if sc.economy.enabled:
        from .economy import init_households

        st.kind, st.employer, st.equity = init_households(sc, key, H)
        st.plan = np.zeros(H, np.int64)
    if sc.bank.enabled:
        st.loans = np.zeros(n, np.int64)
    return st


def _permutation(skey, n):
    from .backend import permutation_array
    from spms_mc_kernels.rng import feistel_half_bits

    return permutation_array(skey, n, feistel_half_bits(n))


def _uniforms(skey, n):
    from .backend import uniform_array

    return uniform_array(skey, n)
