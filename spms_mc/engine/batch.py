"""Batched members on one GPU: many members of a scenario advanced together (``run.backend = "cuda"``).

``BatchEngine(sc, seed, members).run()`` returns one :class:`~spms_mc.engine.member.RunResult` per member,
byte for byte the result of ``Engine(sc, seed, m).run()`` on the CPU: the same processes in the same
order (:mod:`spms_mc.engine` documents the order within a tick), the same counter-based draws keyed
by each member's own key, the same integer rounding, the same ledger per member. What changes is
where the work runs: each process makes **one kernel launch for all members**
(:mod:`spms_mc_kernels.cuda_batch`), the distribution metrics are computed on the device, and only
the sampled aggregates (totals, statistics, Lorenz points, tracked balances) come back to the host.
The per-member scalars (ledger, institutional accounts, governance budgets) stay on the host as in
the single-member engine: they change a few times per period.

Batched processes: SuMSy in all its variants (periodic on the average or end balance, or
transactional; flat or tiered; with a demurrage-free buffer, buffer loans and any governance
funding), events, and the three exchange rules, over any active or eligible share and with firms.
Scenarios with other processes (the pk model, the production economy, government money, bank
credit) run member by member on the device or the CPU instead; :func:`batch_problems` names the
keys that prevent batching.
"""
from __future__ import annotations

import time

import numpy as np
from spms_mc_kernels import rng

from ..core import registry
from ..core.config import Scenario, ScenarioError
from ..core.errors import LedgerError
from ..core.ledger import Ledger
from ..core.registry import build_mechanisms, flow_names
from ..core.state import SINK, allocate
from .loop import run_ticks
from .member import STAT_NAMES, RunResult, check_seed, quantile_grid, sample_ticks


MAX_BATCH = 65_535  # members are the y dimension of the launch grid, which CUDA caps at 65 535


def batch_problems(sc: Scenario) -> list[str]:
    """The scenario keys that enable mechanisms without batched kernels (empty: the scenario batches)."""
    keys: list[str] = []
    for m in registry.enabled(sc):
        if not m.batched:
            keys += [k for k in m.switches(sc) if k not in keys]
    return keys


def member_bytes(sc: Scenario) -> int:
    """Device memory of one member of a batch (bytes), the sort buffer included."""
    N, H = sc.n_accounts, sc.population.households
    width = 1 << max(0, (H - 1).bit_length())
    per = 8 + 1 + 8 * width / max(N, 1)  # balance, flags, padded sort row
    if sc.sumsy.enabled and (sc.sumsy.mode == "transactional" or sc.sumsy.demurrage_base == "average"):
        per += 8  # last tick touched, or the period sum
    if sc.exchange.rule != "none":
        per += 8 * sc.n_active / max(N, 1)  # exchange scratch
    if sc.n_active != H:
        per += 8 * sc.n_active / max(N, 1)  # participants
    shared = 8 * N if sc.sumsy.enabled and sc.sumsy.buffer_loans else 0  # one buffer row for all members
    return int(per * N) + shared + 4096


def auto_batch_size(sc: Scenario, members: int, free_bytes: int | None = None) -> int:
    """Members per batch: all of them if they fit in half the device's free memory."""
    if free_bytes is None:
        from numba import cuda

        try:
            free_bytes = cuda.current_context().get_memory_info()[0]
        except Exception:  # the simulator has no memory info
            free_bytes = 2**30
    return int(max(1, min(members, MAX_BATCH, free_bytes // 2 // member_bytes(sc))))


class BatchEngine:
    """Members ``members`` of ``sc`` on one GPU (or numba's CUDA simulator), advanced together."""

    def __init__(self, sc: Scenario, seed: int, members):
        problems = batch_problems(sc)
        if problems:
            raise ScenarioError(f"{', '.join(problems)} has no batched CUDA kernels; a batch of members accepts "
                                f"SuMSy in all its variants, governance, events and the exchange rules "
                                f"(run such a scenario member by member)")
        from numba import cuda

        if not cuda.is_available():
            raise ValueError("run.backend = 'cuda' needs an NVIDIA GPU with a working CUDA driver and none was "
                             "found (install the extra: pip install 'spms_mc[cuda]'; for tests without a GPU "
                             "set NUMBA_ENABLE_CUDASIM=1 before starting Python); accepted here: cpu")
        from spms_mc_kernels import cuda_batch as kb

        self.cuda, self.kb = cuda, kb
        self.sc = sc
        self.seed = check_seed(seed)
        self.members = [int(m) for m in members]
        if not self.members or any(m < 0 for m in self.members):
            raise ValueError(f"members must be non-negative integers, got {members!r}")
        if len(self.members) > MAX_BATCH:
            raise ValueError(f"a batch holds at most {MAX_BATCH} members (got {len(self.members)}); "
                             f"lower gpu_batch")
        M = self.M = len(self.members)
        self.keys = np.array([rng.member_key(np.uint64(self.seed), np.uint64(m)) for m in self.members], np.uint64)
        # the initial state of every member is drawn on the host exactly as the single-member engine does
        states = [allocate(sc, k) for k in self.keys]
        st0 = states[0]
        self.H, self.F, self.N = st0.n_households, st0.n_firms, st0.n_accounts
        self.n_part, self.n_eligible = st0.n_participants, st0.n_eligible
        # the single-member processes, built once, give the flows, names, order and parameters
        self.procs = build_mechanisms(sc, st0, None, self.keys[0])
        by_name = {p.name: p for p in self.procs}
        self.sumsy, self.events, self.exchange = by_name.get("sumsy"), by_name.get("events"), by_name.get("exchange")
        self.fused = self.exchange is not None and self.exchange.fused is not None
        self.flows = flow_names(self.procs)
        self.ledgers = [Ledger(self.flows, int(s.balance.sum()), sc.run.period) for s in states]
        self.institutions = np.zeros((M, len(st0.institution_names)), np.int64)
        self.gov = st0.institution("governance")
        dev = cuda.to_device
        self.balance = dev(np.stack([s.balance for s in states]))
        self.flags = dev(np.stack([s.flags for s in states]))
        self.participants = dev(np.stack([s.participants for s in states]))  # (M, 0): every household
        # period sums and last-touched ticks start at 0, one row per member (no columns when unused)
        self.period_sum = dev(np.zeros((M, st0.period_sum.shape[0]), np.int64))
        self.last_tick = dev(np.zeros((M, st0.last_tick.shape[0]), np.int64))
        self.no_participants = dev(np.zeros((M, 0), np.int64))
        self.scratch = cuda.device_array((M, max(self.n_part, 1)), np.int64)
        self.member_keys = dev(self.keys)
        self.width = 1 << max(0, (self.H - 1).bit_length())
        self.sort_rows = cuda.device_array((M, self.width), np.int64)
        if self.sumsy is not None:
            self.tier_lower, self.tier_rate = dev(self.sumsy.tier_lower), dev(self.sumsy.tier_rate)
            # buffer loans are fixed by the scenario, so every member has the same per-account buffers:
            # one row, kept on the host by self.sumsy (whose state is st0) and copied up when it changes
            self.buffer_by_account = dev(st0.buffer_by_account)
            # transactional: (demurrage, gi) accrued per member since they were last booked, summed on
            # the device so that the accrual of every tick needs no copy back
            self.accrued = dev(np.zeros((M, 2), np.int64))
            self.collected = np.zeros(M, np.int64)
            self.spent = np.zeros(M, np.int64)
            self.gov_period_sum = np.zeros(M, np.int64)
        if self.events is not None:
            self.event_keys = [dev(np.array([rng.stream_key(k, 0, rng.STREAM_EVENT_BASE + j) for k in self.keys],
                                            np.uint64)) for j in range(len(sc.events))]

    # -- launches ---------------------------------------------------------------------------------
    def _launch(self, kernel, n, *args):
        kernel[self.kb.grid(n, self.M)](*args)

    def _totals(self, kernel, n, *args, columns=1):
        t = self.cuda.to_device(np.zeros((self.M, columns), np.int64))
        self._launch(kernel, n, *args, t)
        return t.copy_to_host()

    def _row_sums(self, values):
        sums = self.cuda.to_device(np.zeros(self.M, np.int64))
        mins = self.cuda.to_device(np.full(self.M, np.iinfo(np.int64).max, np.int64))
        self._launch(self.kb.row_sum_min, values.shape[1], values, sums, mins)
        return sums.copy_to_host(), mins.copy_to_host()

    # -- SuMSy (SumsyMoney) -----------------------------------------------------------------------
    def _sumsy_period_start(self, tick: int) -> None:
        s = self.sumsy
        self._book_accrual()  # before the guard: it bounds one period's GI from the booked stock
        if s.loan_changes:
            s._apply_loans(tick)
            self.buffer_by_account = self.cuda.to_device(s.state.buffer_by_account)
        for ledger in self.ledgers:
            ledger.guard(int(s.gi) * self.n_eligible, "guaranteed income")
        if s.transactional:
            self._accrue(self.no_participants, 0, self.N, tick)
            return
        charge = tick > 0
        bases = np.zeros(self.M)
        if charge and s.funding == "on_demand":
            sums, _ = self._row_sums(self.period_sum if s.use_average else self.balance)
            bases = [s.charge_base(int(total)) for total in sums]
        tax_rates = np.array([s.tax_rate(charge, base) for base in bases])
        t = self._totals(self.kb.settle_period, self.N, self.balance, self.period_sum, s.use_average, s.period,
                         self.flags, charge, s.gi, s.buffer, self.buffer_by_account, self.tier_lower, self.tier_rate,
                         self.cuda.to_device(tax_rates), columns=3)
        for m, ledger in enumerate(self.ledgers):
            dem, tax, gi = (int(x) for x in t[m])
            self.collected[m] += s.book_settlement(ledger, self.institutions[m], dem, tax, gi)
        if charge and s.funding != "none":
            self._govern()

    def _govern(self) -> None:
        """The mechanism's governance rule (SumsyMoney.govern) for every member; the equal shares go out
        in one launch."""
        s, n = self.sumsy, self.n_eligible
        each = np.zeros(self.M, np.int64)
        for m, ledger in enumerate(self.ledgers):
            each[m], collected, spent = s.govern(ledger, self.institutions[m], int(self.gov_period_sum[m]))
            self.collected[m] += collected
            self.spent[m] += spent
        self._launch(self.kb.credit_each, n, self.balance, self.no_participants, n, self.cuda.to_device(each))

    def _accrue(self, participants, lo: int, n: int, tick: int) -> None:
        """SumsyMoney.touch for every member: the transactional accrual of accounts lo .. lo+n-1
        (or of each member's first n participants), added to ``self.accrued`` on the device."""
        s = self.sumsy
        self._launch(self.kb.accrue_accounts, n, participants, lo, n, tick, self.balance, self.last_tick,
                     self.flags, s.period, s.gi, s.buffer, self.buffer_by_account, self.tier_lower, self.tier_rate,
                     self.accrued)

    def _book_accrual(self) -> None:
        """Book the transactional accruals summed since the last call in each member's ledger; called
        at every period start, ledger check and sample, so the totals of an interval are the CPU's."""
        if self.sumsy is None or not self.sumsy.transactional:
            return
        t = self.accrued.copy_to_host()
        if not t.any():
            return
        self.accrued = self.cuda.to_device(np.zeros_like(t))
        for m, ledger in enumerate(self.ledgers):
            self.collected[m] += self.sumsy.book_accrual(ledger, int(t[m, 0]), int(t[m, 1]))

    def _sumsy_tick(self, tick: int) -> None:
        s = self.sumsy
        if s.transactional:
            if self.exchange is not None:
                self._accrue(self.participants, 0, self.n_part, tick)
            return
        if s.use_average:
            first = tick % s.period == 0
            if not self.fused:
                self._launch(self.kb.accumulate_period, self.N, self.balance, self.period_sum, first)
            if s.funding == "fixed_rate":
                gov = self.institutions[:, self.gov]
                self.gov_period_sum = gov.copy() if first else self.gov_period_sum + gov

    # -- events (Events) --------------------------------------------------------------------------
    def _events_tick(self, tick: int) -> None:
        for j, (e, lo, hi, _) in enumerate(self.events.plan):
            if not self.events.due(e, tick):
                continue
            if self.sumsy is not None and self.sumsy.transactional:
                self._accrue(self.no_participants, lo, hi - lo, tick)
            if e.kind == "injection":
                amount = self.sc.minor(e.amount)
                for ledger in self.ledgers:
                    ledger.guard(amount * (hi - lo), f"injection at tick {tick}")
                t = self._totals(self.kb.inject, hi - lo, self.balance, lo, hi, np.int64(amount), e.share,
                                 self.event_keys[j])
                for m, ledger in enumerate(self.ledgers):
                    ledger.create("injection", int(t[m, 0]))
            else:
                t = self._totals(self.kb.lose, hi - lo, self.balance, lo, hi, e.fraction, e.share, self.event_keys[j])
                for m, ledger in enumerate(self.ledgers):
                    ledger.destroy("loss", int(t[m, 0]))

    # -- exchange (Exchange) ----------------------------------------------------------------------
    def _exchange_tick(self, tick: int) -> None:
        x, kb, n = self.sc.exchange, self.kb, self.n_part
        s1, s2 = (int(v) for v in self.exchange.streams)
        if x.rule == "random_fraction":
            first = self.fused and tick % self.sumsy.period == 0
            self._launch(kb.random_fraction_debit, n, self.balance, self.scratch, self.participants, n,
                         self.member_keys, tick, s1, x.fraction, self.period_sum, self.fused, first)
            self._launch(kb.random_fraction_credit, n, self.balance, self.scratch, self.participants, n,
                         self.member_keys, tick, s2)
        elif x.rule == "saving_propensity":
            self._launch(kb.saving_propensity_exchange, n // 2 + 1, self.balance, self.participants, n,
                         self.member_keys, tick, s1, s2, self.exchange.give, rng.feistel_half_bits(n))
        else:
            means = np.zeros(self.M)
            if x.zeta != 0.0:
                sums = self._totals(kb.sum_participants, n, self.balance, self.participants, n)[:, 0]
                means = np.array([int(v) / n for v in sums])  # Python int / int, as on the CPU
            self._launch(kb.yard_sale_exchange, n // 2 + 1, self.balance, self.participants, n, self.member_keys,
                         tick, s1, s2, x.fraction, x.zeta, self.cuda.to_device(means), rng.feistel_half_bits(n))
            if x.chi > 0.0:
                pool = self._totals(kb.collect_fraction, n, self.balance, self.participants, n, x.chi)[:, 0]
                each = pool // n
                self._launch(kb.credit_each, n, self.balance, self.participants, n, self.cuda.to_device(each))
                self.institutions[:, SINK] += pool - each * n

    # -- ledger, samples --------------------------------------------------------------------------
    def check(self, tick: int) -> None:
        self._book_accrual()
        sums, mins = self._row_sums(self.balance)
        for m, ledger in enumerate(self.ledgers):
            try:
                ledger.check(int(sums[m]) + int(self.institutions[m].sum()), tick)
            except LedgerError as err:
                raise LedgerError(f"member {self.members[m]}: {err}") from None
            if self.N and mins[m] < 0:
                host = self.balance.copy_to_host()[m]
                i = int(np.argmin(host))
                raise LedgerError(f"member {self.members[m]}: balance of account {i} is negative ({host[i]}) "
                                  f"after tick {tick}")

    def _distribution(self, points, order, n_grid):
        """(stats (M, 7), L at each point (M, points)) of household money, computed on the device."""
        kb, cuda = self.kb, self.cuda
        self._launch(kb.pad_rows, self.width, self.balance, self.H, self.sort_rows)
        kb.sort_rows(self.sort_rows)
        values = cuda.device_array((self.M, points.shape[0]))
        stats = cuda.device_array((self.M, 7))
        threads = kb.THREADS
        kb.distribution_stats[(self.M + threads - 1) // threads, threads](self.sort_rows, self.H, points, order,
                                                                         n_grid, values, stats)
        return stats.copy_to_host(), values.copy_to_host()

    def run(self, progress=None) -> list[RunResult]:
        sc, M, cuda = self.sc, self.M, self.cuda
        ticks = sample_ticks(sc)
        grid = quantile_grid(sc)
        ng = len(grid)
        pts = np.concatenate([grid, [0.99, 0.90, 0.50]])
        points, order = cuda.to_device(pts), cuda.to_device(np.argsort(pts, kind="mergesort").astype(np.int64))
        ns, nf = len(ticks), len(self.flows)
        track = np.array(sc.run.track, np.int64)
        track_dev = cuda.to_device(track)
        money = np.zeros((M, ns), np.int64)
        created = np.zeros((M, ns, nf), np.int64)
        destroyed = np.zeros((M, ns, nf), np.int64)
        stats = {k: np.zeros((M, ns)) for k in STAT_NAMES}
        lorenz = np.zeros((M, ns, ng))
        tracked = np.zeros((M, ns, len(track)), np.int64)
        extra = {"sink_balance": np.zeros((M, ns), np.int64)}
        governed = sc.governance.funding != "none"
        if self.sumsy is not None:  # in the order of SumsyMoney.sample
            extra["demurrage_collected"] = np.zeros((M, ns), np.int64)
            if governed:
                extra["governance_spending"] = np.zeros((M, ns), np.int64)
                extra["governance_balance"] = np.zeros((M, ns), np.int64)
        snap_ticks = list(sc.run.snapshot_ticks)
        snapshots = np.zeros((M, len(snap_ticks), self.N), np.int64) if snap_ticks else None

        def sample(j):
            self._book_accrual()
            for m, ledger in enumerate(self.ledgers):
                created[m, j], destroyed[m, j] = ledger.take_interval()
                money[m, j] = ledger.expected
            st, values = self._distribution(points, order, ng)
            for k, name in enumerate(STAT_NAMES):
                stats[name][:, j] = st[:, k]
            lorenz[:, j] = values[:, :ng]
            if len(track):
                out = cuda.device_array((M, len(track)), np.int64)
                self._launch(self.kb.gather, len(track), self.balance, track_dev, out)
                tracked[:, j] = out.copy_to_host()
            extra["sink_balance"][:, j] = self.institutions[:, SINK]
            if governed:
                extra["governance_balance"][:, j] = self.institutions[:, self.gov]
            if self.sumsy is not None:
                extra["demurrage_collected"][:, j] = self.collected
                self.collected[:] = 0
                if governed:
                    extra["governance_spending"][:, j] = self.spent
                    self.spent[:] = 0

        def snapshot(k, t):
            snapshots[:, k] = self.balance.copy_to_host()

        # each mechanism's batched hooks, in the regime's order (batch_problems refuses the others)
        hooks = {"sumsy": (self._sumsy_period_start, self._sumsy_tick), "events": (None, self._events_tick),
                 "exchange": (None, self._exchange_tick)}
        t0 = time.perf_counter()
        run_ticks(sc, ticks, on_period=[hooks[p.name][0] for p in self.procs if hooks[p.name][0]],
                  on_tick=[hooks[p.name][1] for p in self.procs], check=self.check, sample=lambda j, t: sample(j),
                  snapshot=snapshot, progress=progress)
        cuda.synchronize()
        wall = time.perf_counter() - t0
        return [RunResult(scenario=sc, seed=self.seed, member=member, ticks=ticks, flows=list(self.flows),
                          money_stock=money[m], flows_created=created[m], flows_destroyed=destroyed[m],
                          stats={k: v[m] for k, v in stats.items()}, lorenz=lorenz[m], tracked=tracked[m],
                          extra={k: v[m] for k, v in extra.items()},
                          snapshots=snapshots[m] if snapshots is not None else None,
                          extra_units={name: u for p in self.procs for name, u in p.output_units().items()
                                       if u != "currency units"},
                          samples_taken=len(ticks), process_order=[p.name for p in self.procs],
                          wall_seconds=wall)
                for m, member in enumerate(self.members)]


def simulate_batch(sc: Scenario, seed: int, members, progress=None):
    """Members ``members`` of ``sc`` as one batch on the GPU -> list of xarray Datasets (one per member)."""
    from .output import to_dataset

    return [to_dataset(r) for r in BatchEngine(sc, seed, members).run(progress)]
