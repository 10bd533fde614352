"""Batched members on one GPU: many members of a scenario advanced together (``run.backend = "cuda"``).

``BatchEngine(sc, seed, members).run()`` returns one :class:`~spms_mc.engine.member.RunResult` per member,
byte for byte the result of ``Engine(sc, seed, m).run()`` on the CPU: the same mechanisms in the same
order, the same tick loop (:mod:`.loop`), the same counter-based draws keyed by each member's own
key, the same integer rounding, the same ledger per member. What changes is where the work runs:
each mechanism's batched part (its ``batch_methods``, defined in its own module and applying the
mechanism's own rules) makes **one kernel launch for all members** (:mod:`spms_mc_kernels.cuda_batch`),
the distribution metrics are computed on the device, and only the sampled aggregates (totals,
statistics, Lorenz points, tracked balances) come back to the host. The per-member scalars (ledger,
institutional accounts, governance budgets) stay on the host as in the single-member engine: they
change a few times per period. This engine names no mechanism.

Batched today: SuMSy in all its variants (periodic on the average or end balance, or transactional;
flat or tiered; with a demurrage-free buffer, buffer loans and any governance funding), events, and
the three exchange rules, over any active or eligible share and with firms. Scenarios with other
mechanisms (the pk model, the production economy, government money, bank credit) run member by
member on the device or the CPU instead; :func:`batch_problems` names the keys that prevent
batching.
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
        if m.batch_methods is None:
            keys += [k for k in m.switches(sc) if k not in keys]
    return keys


def member_bytes(sc: Scenario) -> int:
    """Device memory of one member of a batch (bytes): balance, flags, the sort row padded to a power of
    two, the participants when not every household takes part, and each batched part's own arrays
    (``device_bytes(sc)`` of its ``batch_methods``: per member, and shared by the batch)."""
    N, H = sc.n_accounts, sc.population.households
    width = 1 << max(0, (H - 1).bit_length())
    per = (8 + 1) * N + 8 * width + (8 * sc.n_active if sc.n_active != H else 0)
    for m in registry.enabled(sc):
        if m.batch_methods is not None and hasattr(m.batch_methods, "device_bytes"):
            own, shared = m.batch_methods.device_bytes(sc)
            per += own + shared
    return per + 4096


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
            batched = ", ".join(m.name for m in registry.mechanisms() if m.batch_methods is not None)
            raise ScenarioError(f"{', '.join(problems)} has no batched CUDA kernels; a batch of members runs the "
                                f"mechanisms {batched} (run such a scenario member by member)")
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
        self.flows = flow_names(self.procs)
        self.ledgers = [Ledger(self.flows, int(s.balance.sum()), sc.run.period) for s in states]
        self.institutions = np.zeros((M, len(st0.institution_names)), np.int64)
        dev = cuda.to_device
        self.balance = dev(np.stack([s.balance for s in states]))
        self.flags = dev(np.stack([s.flags for s in states]))
        self.participants = dev(np.stack([s.participants for s in states]))  # (M, 0): every household
        self.no_participants = dev(np.zeros((M, 0), np.int64))
        self.period_sum = self.no_participants  # a mechanism that keeps period sums replaces it
        self.scratch = cuda.device_array((M, max(self.n_part, 1)), np.int64)
        self.member_keys = dev(self.keys)
        self.width = 1 << max(0, (self.H - 1).bit_length())
        self.sort_rows = cuda.device_array((M, self.width), np.int64)
        # each mechanism's batched part (Mechanism.batch_methods), in the regime's order
        self.parts = {}
        for p in self.procs:
            self.parts[p.name] = type(p).batch_methods(self, p)

    # -- launches ---------------------------------------------------------------------------------
    def launch(self, kernel, n, *args):
        """One launch of a batched kernel over n accounts of every member."""
        kernel[self.kb.grid(n, self.M)](*args)

    def totals(self, kernel, n, *args, columns=1):
        """A launch whose kernel adds per-member totals; returns them, (members, columns) int64."""
        t = self.cuda.to_device(np.zeros((self.M, columns), np.int64))
        self.launch(kernel, n, *args, t)
        return t.copy_to_host()

    def row_sums(self, values):
        """Each member's sum and minimum of ``values`` (members, accounts)."""
        sums = self.cuda.to_device(np.zeros(self.M, np.int64))
        mins = self.cuda.to_device(np.full(self.M, np.iinfo(np.int64).max, np.int64))
        self.launch(self.kb.row_sum_min, values.shape[1], values, sums, mins)
        return sums.copy_to_host(), mins.copy_to_host()

    def _hooks(self, name):
        return [getattr(part, name) for part in self.parts.values() if hasattr(part, name)]

    def book(self) -> None:
        """Every part books what it sums on the device (before checks and samples)."""
        for f in self._hooks("book"):
            f()

    # -- ledger, samples --------------------------------------------------------------------------
    def check(self, tick: int) -> None:
        """Each member's stock-flow identity - its money measured from its balances, institutions
        included, against its ledger - and non-negativity."""
        self.book()
        sums, mins = self.row_sums(self.balance)
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
        self.launch(kb.pad_rows, self.width, self.balance, self.H, self.sort_rows)
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
        units = {name: u for p in self.procs for name, u in p.output_units().items()}
        snap_ticks = list(sc.run.snapshot_ticks)
        snapshots = np.zeros((M, len(snap_ticks), self.N), np.int64) if snap_ticks else None

        def sample(j):
            self.book()
            sums, _ = self.row_sums(self.balance)
            for m, ledger in enumerate(self.ledgers):
                created[m, j], destroyed[m, j] = ledger.take_interval()
                money[m, j] = int(sums[m]) + int(self.institutions[m].sum())  # measured, as on the CPU
            st, values = self._distribution(points, order, ng)
            for k, name in enumerate(STAT_NAMES):
                stats[name][:, j] = st[:, k]
            lorenz[:, j] = values[:, :ng]
            if len(track):
                out = cuda.device_array((M, len(track)), np.int64)
                self.launch(self.kb.gather, len(track), self.balance, track_dev, out)
                tracked[:, j] = out.copy_to_host()
            extra["sink_balance"][:, j] = self.institutions[:, SINK]
            for f in self._hooks("sample"):
                for name, v in f().items():
                    dtype = np.int64 if units.get(name, "currency units") == "currency units" else np.float64
                    extra.setdefault(name, np.zeros((M, ns), dtype))[:, j] = v

        def snapshot(k, t):
            snapshots[:, k] = self.balance.copy_to_host()

        t0 = time.perf_counter()
        run_ticks(sc, ticks, on_period=self._hooks("on_period_start"), on_tick=self._hooks("on_tick"),
                  check=self.check, sample=lambda j, t: sample(j), snapshot=snapshot, progress=progress)
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
