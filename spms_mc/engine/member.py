"""The tick loop of one member: runs the scenario's registered mechanisms in their order, checks the
ledger and every declared identity, takes samples.

The mechanisms come from :mod:`spms_mc.core.registry`; the engine names none of them. Order within
tick t (documented contract; the built-in mechanisms' ``order`` gives it):

1. period start, when ``t % run.period == 0``, every mechanism's ``on_period_start`` in order: the
   bank-credit cycle (``pk`` model: repayment, retained profit, new loans); SuMSy settlement -
   demurrage on the last period, then GI (the paper's atomic pair), then governance; the production
   economy's settlement; the replayed bank-credit run;
2. every mechanism's ``on_tick`` in order: events scheduled at t (injections, losses); SuMSy's period
   bookkeeping (the start-of-tick balances are added to each account's period sum, the
   time-weighted average of the paper's section 3.1.2); the economy's spending; exchange between
   households;
3. ledger check - the money stock measured from every balance, institutions included, against the
   ledger - and every identity the mechanisms declare (every tick with ``run.check_ledger =
   "tick"``, at the end of every period with ``"period"``), and a sample when ``t + 1`` is a
   sample tick.

Samples are taken at ticks ``0, s, 2s, ...`` and at the last tick, where the sample at tick c is the
state after c ticks (c = 0 is the initial state). Flows are summed over the interval that ends at
each sample. With ``run.burn_in`` those ticks run first, unreported (:func:`.loop.run_ticks`), and
the sample at tick c is the state after burn-in + c ticks.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numba
import numpy as np
from spms_mc_kernels import rng
from spms_mc_kernels.wealth import kth_of_runs

from ..core.backend import get_backend
from ..core.config import Scenario
from ..core.errors import IdentityError, LedgerError
from ..core.ledger import Ledger
from ..core.registry import Mechanism, build_mechanisms, flow_names
from ..core.state import SINK, State, allocate
from .loop import run_ticks

SEED_MAX = 2**64 - 1
# Below this many accounts a member runs its kernels on one thread: a parallel launch costs more
# than it saves there, and on a loaded machine waiting for a descheduled worker thread can make a
# small run many times slower. Results are bit-identical on any thread count, so this is safe.
PARALLEL_MIN_ACCOUNTS = 200_000


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= SEED_MAX:
        raise ValueError(f"seed must be an integer in [0, 2**64 - 1], got {seed!r}")
    return int(seed)


def sample_ticks(sc: Scenario) -> np.ndarray:
    s, T = sc.sample_every, sc.run.ticks
    ticks = list(range(0, T + 1, s))
    if ticks[-1] != T:
        ticks.append(T)
    return np.array(ticks, np.int64)


def quantile_grid(sc: Scenario) -> np.ndarray:
    return np.linspace(0.0, 1.0, sc.run.lorenz_points)


@dataclass
class RunResult:
    """Raw samples of one member (money in minor units); :mod:`spms_mc.engine.output` makes a Dataset."""

    scenario: Scenario
    seed: int
    member: int
    ticks: np.ndarray
    flows: list[str]
    money_stock: np.ndarray
    flows_created: np.ndarray
    flows_destroyed: np.ndarray
    stats: dict[str, np.ndarray]
    lorenz: np.ndarray
    tracked: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: np.ndarray | None = None  # (snapshot, account) balances at run.snapshot_ticks
    extra_units: dict[str, str] = field(default_factory=dict)  # non-money extras (others: minor units)
    stop_reason: str = ""  # why the run ended early ("" if it ran to the end)
    samples_taken: int = 0  # samples after a stop are NaN
    process_order: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    stats_wealth: dict[str, np.ndarray] = field(default_factory=dict)  # net wealth, where a regime has holdings
    lorenz_wealth: np.ndarray | None = None


STAT_NAMES = ("gini", "top1_share", "top10_share", "bottom50_share", "mean_balance", "median_balance")


class Engine:
    """One member of a scenario: ``Engine(sc, seed, member).run()``."""

    def __init__(self, sc: Scenario, seed: int = 0, member: int = 0):
        self.sc = sc
        self.seed = check_seed(seed)
        if isinstance(member, bool) or not isinstance(member, (int, np.integer)) or member < 0:
            raise ValueError(f"member must be a non-negative integer, got {member!r}")
        self.member = int(member)
        self.key = np.uint64(rng.member_key(np.uint64(self.seed), np.uint64(self.member)))
        self.backend = get_backend(sc.run.backend, parallel=sc.n_accounts >= PARALLEL_MIN_ACCOUNTS)
        self.state: State = allocate(sc, self.key)
        self.backend.adopt(self.state)  # the CUDA backend moves the per-account arrays to the device
        self.processes = build_mechanisms(sc, self.state, self.backend, self.key)
        self.ledger = Ledger(flow_names(self.processes), self.total_money(), sc.run.period)
        for p in self.processes:
            p.ledger = self.ledger
        self.identities = [i for p in self.processes for i in p.identities()]
        self.holders = [p for p in self.processes if type(p).holdings is not Mechanism.holdings]
        for p in self.processes:
            if p.uses_net_wealth:
                p.measure_net_wealth = self.net_wealth
        self.group_samplers = [p for p in self.processes
                               if type(p).sample_by_wealth is not Mechanism.sample_by_wealth]
        self._measured = (None, 0)  # (tick, money stock) of the last check, reused by a sample then

    def run(self, progress=None) -> RunResult:
        before = numba.get_num_threads()
        if self.state.n_accounts < PARALLEL_MIN_ACCOUNTS:
            numba.set_num_threads(1)
        try:
            return self._run(progress)
        finally:
            numba.set_num_threads(before)

    def _run(self, progress) -> RunResult:
        sc, st, ledger = self.sc, self.state, self.ledger
        ticks = sample_ticks(sc)
        grid = quantile_grid(sc)
        ns, nf = len(ticks), len(ledger.flows)
        track = np.array(sc.run.track, np.int64)
        out_money = np.zeros(ns, np.int64)
        out_created = np.zeros((ns, nf), np.int64)
        out_destroyed = np.zeros((ns, nf), np.int64)
        out_stats = {k: np.zeros(ns) for k in STAT_NAMES}
        out_lorenz = np.zeros((ns, len(grid)))
        out_tracked = np.zeros((ns, len(track)), np.int64)
        extra: dict[str, np.ndarray] = {"sink_balance": np.zeros(ns, np.int64)}
        wealth = bool(self.holders)
        stats_wealth = {k: np.zeros(ns) for k in STAT_NAMES} if wealth else {}
        lorenz_wealth = np.zeros((ns, len(grid))) if wealth else None
        units = {name: u for p in self.processes for name, u in p.output_units().items()}

        def sample(j, tick):
            c, d = ledger.take_interval()
            out_created[j], out_destroyed[j] = c, d
            out_money[j] = self.measured_money(tick)
            self._distribution(grid, out_stats, out_lorenz, j)
            if wealth:
                runs = self._distribution(grid, stats_wealth, lorenz_wealth, j, self.net_wealth)
                if self.group_samplers:
                    self._sample_by_wealth(runs, extra, ns, j)
            out_tracked[j] = self.backend.gather(st.balance, track)
            extra["sink_balance"][j] = st.institutions[SINK]
            for p in self.processes:
                for name, v in p.sample().items():
                    dtype = np.int64 if units.get(name, "currency units") == "currency units" else np.float64
                    extra.setdefault(name, np.zeros(ns, dtype))[j] = v

        snap_ticks = list(sc.run.snapshot_ticks)
        snapshots = np.zeros((len(snap_ticks), st.n_accounts), np.int64) if snap_ticks else None
        t0 = time.perf_counter()
        j, stop_reason = run_ticks(
            sc, ticks, on_period=[p.on_period_start for p in self.processes],
            on_tick=[p.on_tick for p in self.processes], check=self.check, sample=sample,
            snapshot=lambda k, t: self.backend.to_host(st.balance, snapshots[k]), progress=progress,
            end_burn_in=[self._end_burn_in])
        extra_units = {name: u for name, u in units.items() if u != "currency units"}
        return RunResult(scenario=sc, seed=self.seed, member=self.member, ticks=ticks, flows=ledger.flows,
                         money_stock=out_money, flows_created=out_created, flows_destroyed=out_destroyed,
                         stats=out_stats, lorenz=out_lorenz, tracked=out_tracked, extra=extra,
                         stats_wealth=stats_wealth, lorenz_wealth=lorenz_wealth,
                         snapshots=snapshots, extra_units=extra_units, stop_reason=stop_reason,
                         samples_taken=j,
                         process_order=[p.name for p in self.processes],
                         wall_seconds=time.perf_counter() - t0)

    def _end_burn_in(self) -> None:
        """The burn-in is over: its flows and interval outputs are dropped, each mechanism starts
        its reported run."""
        self.ledger.take_interval()
        for p in self.processes:
            p.sample()
        for p in self.processes:
            p.end_burn_in()

    def total_money(self) -> int:
        """Exact money stock measured from the state: every account plus the institutional accounts
        (Python int)."""
        return int(self.backend.sum_int64(self.state.balance)) + int(self.state.institutions.sum())

    def measured_money(self, tick: int) -> int:
        """The money stock after ``tick``, measured from the balances (that of the check after the
        same tick when there was one: nothing moves between a check and a sample)."""
        at, money = self._measured
        return money if at == tick else self.total_money()

    def net_wealth(self, out) -> None:
        """Each household's net wealth into the host array ``out``: money plus every holding a
        mechanism declares (assets add, liabilities subtract)."""
        st = self.state
        self.backend.to_host(st.balance[:st.n_households], out)
        for p in self.holders:
            p.holdings(out)

    def check(self, tick: int) -> None:
        """Exact stock-flow identity (measured money against the ledger), every identity the
        mechanisms declare, and non-negativity of every balance."""
        st = self.state
        money = self.total_money()
        self._measured = (tick, money)
        self.ledger.check(money, tick)
        for ident in self.identities:
            left, right = int(ident.left()), int(ident.right())
            if left != right:
                raise IdentityError(f"identity {ident.name!r} violated after tick {tick}: {ident.left_name} = "
                                    f"{left}, {ident.right_name} = {right} (difference {left - right})")
        if st.balance.shape[0] and self.backend.min_int64(st.balance) < 0:
            host = np.empty(st.balance.shape[0], np.int64)
            self.backend.to_host(st.balance, host)
            i = int(np.argmin(host))
            raise LedgerError(f"balance of account {i} is negative ({host[i]}) after tick {tick}")

    def _sample_by_wealth(self, runs, extra, ns, j) -> None:
        """Outputs of the mechanisms that group households by net wealth: the cutoffs come from the
        sorted runs the statistics used, then the buffer is filled with net wealth again, in
        household order."""
        a, b = runs
        H = a.shape[0] + b.shape[0]
        cutoffs = tuple(int(kth_of_runs(a, b, min((H * q) // 100, H - 1))) for q in (50, 90, 99)) if H else (0, 0, 0)
        buf = self.state.host_buffer[:self.state.n_households]
        self.net_wealth(buf)
        for p in self.group_samplers:
            for name, v in (p.sample_by_wealth(buf, cutoffs) or {}).items():
                extra.setdefault(name, np.full(ns, np.nan))[j] = v

    def _distribution(self, grid, out_stats, out_lorenz, j, fill=None):
        """Distribution statistics of household money, or of what ``fill(buffer)`` writes (net wealth).
        Returns the two ascending runs the values were sorted into (the second may be empty)."""
        st = self.state
        H = st.n_households
        buf = st.host_buffer[:H]
        if fill is None and hasattr(self.backend, "sorted_to_host"):  # sorted on the GPU
            self.backend.sorted_to_host(st.balance[:H], buf)
            res = self.backend.distribution_stats(buf, grid, out_lorenz[j])
            for k, name in enumerate(STAT_NAMES):
                out_stats[name][j] = res[k]
            return buf, buf[:0]
        if fill is None:
            self.backend.to_host(st.balance[:H], buf)
        else:
            fill(buf)
        # sorted in place (the metrics need no memory beyond the state); large populations sort two
        # halves on two threads (numpy releases the GIL) and the statistics merge them on the fly
        if self.backend.parallel and numba.get_num_threads() > 1 and H >= 2:
            half = H // 2
            sorter = threading.Thread(target=buf[:half].sort)
            sorter.start()
            buf[half:].sort()
            sorter.join()
            res = self.backend.distribution_stats_runs(buf[:half], buf[half:], grid, out_lorenz[j])
            runs = buf[:half], buf[half:]
        else:
            buf.sort()
            res = self.backend.distribution_stats(buf, grid, out_lorenz[j])
            runs = buf, buf[:0]
        for k, name in enumerate(STAT_NAMES):
            out_stats[name][j] = res[k]
        return runs
