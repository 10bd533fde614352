"""Kinetic exchange between households: random-fraction giving (Dragulescu & Yakovenko 2000), pairwise
exchange with a saving propensity (Chakraborti & Chakrabarti 2000) and the yard-sale model with
redistribution and wealth-attained advantage (Boghosian et al. 2017); docs/model.md section 2.

This module owns the ``[exchange]`` section; money only moves here, so it books no flow. Its
kernels are :mod:`spms_mc_kernels.exchange` (CPU) and their CUDA twins; its random streams are
``STREAMS`` (:mod:`spms_mc_kernels.rng`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import exchange as kernels
from spms_mc_kernels import rng

from ..core.config import Choice, Float, ScenarioError, key
from ..core.registry import Mechanism
from ..core.state import SINK


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeConfig:
    rule: str = key("none", Choice("none", "random_fraction", "saving_propensity", "yard_sale"),
                    "exchange rule between active households each tick")
    fraction: float = key(0.1, Float(0, 1, lo_open=True),
                          "random_fraction: largest share of its balance an account pays; yard_sale: stake share")
    saving_propensity: float = key(0.0, Float(0, 1, hi_open=True), "saving_propensity: lambda, the share each party keeps")
    chi: float = key(0.0, Float(0, 1), "yard_sale: redistribution toward the mean per tick")
    zeta: float = key(0.0, Float(0), "yard_sale: wealth-attained advantage of the richer party")


class ExchangeCUDA:
    """The CUDA wrappers of the exchange's kernels (:mod:`spms_mc_kernels.cuda`), mixed into
    :class:`~spms_mc.core.backend.CUDABackend`: same names and results as the CPU kernels."""

    def random_fraction_debit(self, balance, scratch, participants, n, skey, fraction):
        return int(self._run(self.k.random_fraction_debit, n, balance, scratch, self.dev(participants), n, skey,
                             fraction, self._empty, False, False, totals=1)[0])

    def random_fraction_debit_accumulate(self, balance, scratch, period_sum, first, skey, fraction):
        n = balance.shape[0]
        return int(self._run(self.k.random_fraction_debit, n, balance, scratch, self._empty, n, skey, fraction,
                             period_sum, True, first, totals=1)[0])

    def random_fraction_credit(self, balance, scratch, participants, n, skey):
        self._run(self.k.random_fraction_credit, n, balance, scratch, self.dev(participants), n, skey)

    def saving_propensity_exchange(self, balance, participants, n, skey_pair, skey_share, give):
        self._run(self.k.saving_propensity_exchange, n // 2 + 1, balance, self.dev(participants), n, skey_pair,
                  skey_share, give, self.k.feistel_half_bits(n))

    def yard_sale_exchange(self, balance, participants, n, skey_pair, skey_coin, fraction, zeta, mean):
        self._run(self.k.yard_sale_exchange, n // 2 + 1, balance, self.dev(participants), n, skey_pair,
                  skey_coin, fraction, zeta, mean, self.k.feistel_half_bits(n))

    def collect_fraction(self, balance, participants, n, rate):
        return int(self._run(self.k.collect_fraction, n, balance, self.dev(participants), n, rate, totals=1)[0])

    def sum_participants(self, balance, participants, n):
        return int(self._run(self.k.sum_participants, n, balance, self.dev(participants), n, totals=1)[0])


class ExchangeBatch:
    """The exchange for a batch of members on one GPU: the rules of :class:`Exchange` (its streams,
    :meth:`Exchange.mean_balance`, :meth:`Exchange.split_pool`), one launch per phase for all members,
    each member's pairs and targets drawn on the device from its own key."""

    @staticmethod
    def device_bytes(sc) -> tuple[int, int]:
        """(bytes per member, shared): the debits of the random-fraction exchange."""
        return 8 * sc.n_active, 0

    def __init__(self, engine, mechanism: Exchange):
        self.e, self.x = engine, mechanism

    def on_tick(self, tick: int) -> None:
        e, xm = self.e, self.x
        x, kb, n = e.sc.exchange, e.kb, e.n_part
        s1, s2 = (int(v) for v in xm.streams)
        if x.rule == "random_fraction":
            fused = xm.fused is not None
            first = fused and tick % xm.fused.period == 0
            e.launch(kb.random_fraction_debit, n, e.balance, e.scratch, e.participants, n, e.member_keys, tick, s1,
                     x.fraction, e.period_sum, fused, first)
            e.launch(kb.random_fraction_credit, n, e.balance, e.scratch, e.participants, n, e.member_keys, tick, s2)
        elif x.rule == "saving_propensity":
            e.launch(kb.saving_propensity_exchange, n // 2 + 1, e.balance, e.participants, n, e.member_keys, tick,
                     s1, s2, xm.give, rng.feistel_half_bits(n))
        else:
            means = np.zeros(e.M)
            if x.zeta != 0.0:
                sums = e.totals(kb.sum_participants, n, e.balance, e.participants, n)[:, 0]
                means = np.array([xm.mean_balance(int(v)) for v in sums])
            e.launch(kb.yard_sale_exchange, n // 2 + 1, e.balance, e.participants, n, e.member_keys, tick, s1, s2,
                     x.fraction, x.zeta, e.cuda.to_device(means), rng.feistel_half_bits(n))
            if x.chi > 0.0:
                pool = e.totals(kb.collect_fraction, n, e.balance, e.participants, n, x.chi)[:, 0]
                each = np.array([xm.split_pool(int(total), e.institutions[m]) for m, total in enumerate(pool)],
                                np.int64)
                e.launch(kb.credit_each, n, e.balance, e.participants, n, e.cuda.to_device(each))


class Exchange(Mechanism):
    """Kinetic exchange between active households; money moves, none is created or destroyed
    (the yard-sale redistribution's pooled remainder goes to the rounding sink)."""

    name = "exchange"
    order = 50
    sections = {"exchange": ExchangeConfig}
    cpu_kernels = {name: getattr(kernels, name) for name in (
        "random_fraction_debit", "random_fraction_debit_accumulate", "random_fraction_credit",
        "saving_propensity_exchange", "yard_sale_exchange", "collect_fraction", "sum_participants")}
    cuda_methods = ExchangeCUDA
    batch_methods = ExchangeBatch

    @classmethod
    def enabled(cls, sc) -> bool:
        return sc.exchange.rule != "none"

    @classmethod
    def switches(cls, sc) -> list[str]:
        return ["exchange.rule"]

    @classmethod
    def check_scenario(cls, sc) -> None:
        x = sc.exchange
        if x.rule != "none" and sc.n_active < 2:
            raise ScenarioError(f"exchange.rule = {x.rule!r} needs at least 2 active households; "
                                f"population.households * population.active_share = {sc.n_active}")
    KEY_BLOCK = 1024  # ticks of stream keys computed per kernel call
    STREAMS = {"random_fraction": (rng.STREAM_EXCHANGE_FRACTION, rng.STREAM_EXCHANGE_TARGET),
               "saving_propensity": (rng.STREAM_PAIRING, rng.STREAM_PAIR_SHARE),
               "yard_sale": (rng.STREAM_PAIRING, rng.STREAM_PAIR_COIN)}

    def __init__(self, *a):
        super().__init__(*a)
        x = self.x = self.sc.exchange  # held: this hook runs every tick
        self.rule = x.rule
        self.give = 1.0 - x.saving_propensity
        self.streams = np.array(self.STREAMS[x.rule], np.int64)
        self.keys = np.zeros((self.KEY_BLOCK, len(self.streams)), np.uint64)
        self.keys_from = -self.KEY_BLOCK
        st = self.state
        # bound once: this hook runs every tick, and at small N its Python cost is the tick's cost
        self.args = (st.balance, st.participants, st.n_participants)
        self.kernel = {"random_fraction": self._random_fraction, "saving_propensity": self._saving_propensity,
                       "yard_sale": self._yard_sale}[x.rule]

    def bind(self, others) -> None:
        if "sumsy" in others:
            self.take_over_period_sums(others["sumsy"])

    def on_tick(self, tick: int) -> None:
        row = tick - self.keys_from
        if row >= self.KEY_BLOCK:
            self.keys_from, row = tick, 0
            rng.stream_keys(self.key, tick, self.streams, self.keys)
        k1, k2 = self.keys[row]
        self.tick = tick
        self.last_keys = (k1, k2)  # a replay of this tick's payments (bank.replay) draws the same targets
        self.kernel(k1, k2)

    def take_over_period_sums(self, sumsy) -> bool:
        """Fuse SuMSy's period bookkeeping into the debit pass when the two passes cover the same
        accounts (every account is an active household) - one pass over the balances fewer."""
        st = self.state
        if (self.rule != "random_fraction" or not sumsy.use_average or sumsy.transactional
                or st.participants.shape[0] or st.n_accounts != st.n_participants):
            return False
        self.fused = sumsy
        sumsy.accumulate_here = False
        return True

    fused = None

    def _random_fraction(self, k_fraction, k_target) -> None:
        balance, part, n = self.args
        st = self.state
        if self.fused is not None:
            self.backend.random_fraction_debit_accumulate(balance, st.scratch, st.period_sum,
                                                          self.tick % self.fused.period == 0, k_fraction,
                                                          self.x.fraction)
        else:
            self.backend.random_fraction_debit(balance, st.scratch, part, n, k_fraction, self.x.fraction)
        self.backend.random_fraction_credit(balance, st.scratch, part, n, k_target)

    def _saving_propensity(self, k_pair, k_share) -> None:
        balance, part, n = self.args
        self.backend.saving_propensity_exchange(balance, part, n, k_pair, k_share, self.give)

    def _yard_sale(self, k_pair, k_coin) -> None:
        balance, part, n = self.args
        b, x, st = self.backend, self.x, self.state
        mean = self.mean_balance(b.sum_participants(balance, part, n)) if x.zeta != 0.0 else 0.0
        b.yard_sale_exchange(balance, part, n, k_pair, k_coin, x.fraction, x.zeta, mean)
        if x.chi > 0.0:
            each = self.split_pool(int(b.collect_fraction(st.balance, part, n, x.chi)), st.institutions)
            b.credit_each(st.balance, part, n, np.int64(each))

    # -- the yard sale's rules, shared with the batched engine ------------------------------------
    def mean_balance(self, total: int) -> float:
        """The participants' mean balance that the wealth-attained advantage (zeta) compares with
        (the sum converted to float64 first, then divided: the same bits on every engine)."""
        return float(total) / self.state.n_participants

    def split_pool(self, pool: int, institutions) -> int:
        """Redistribution (chi): the pooled stakes go back in equal shares, rounded down, the
        remainder to the rounding sink of ``institutions``; returns each participant's share."""
        n = self.state.n_participants
        each = pool // n
        institutions[SINK] += pool - each * n
        return each
