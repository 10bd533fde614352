"""Performance benchmarks, measured as ratios to the machine's own limits (DESIGN.md "Performance
is measured as ratios").

Absolute times on shared machines are noise, so every figure here is a kernel or engine rate
divided by a limit rate measured **in the same run, in the same repeat** (the two timings are
taken back to back and their ratio is formed per repeat; the table shows medians over repeats).
Within a repeat the limit loop runs ``INNER`` = 3 times and its fastest call counts (for the
settlement kernel too), which rejects one-off stalls of the parallel loops when other work shares
the cores; the engine's period is timed once per repeat. Every kernel is called once before it is
timed (compilation, page faults). The engine's hooks run on the thread count
:meth:`Engine.run` would use for that many accounts.

``sumsy_settle_average`` / ``sumsy_settle_end``
    :func:`spms_mc_kernels.sumsy.settle_period` (demurrage on the average / end balance, flat rate
    1 %, every account GI-eligible) in accounts/s, over the in-place read-modify-write rate
    (:func:`spms_mc_kernels.bandwidth.read_modify_write`, ``a[i] += 1`` on int64, 16 B per
    element) in elements/s. Target >= 0.50.
``sumsy_tick``
    The engine's real per-tick work for the ``sumsy`` preset (GI + demurrage, period bookkeeping,
    random-fraction exchange): the processes' hooks called the way :meth:`Engine.run` calls them,
    over whole periods, without ledger checks or sampling, in account-ticks/s, over the random
    scatter-add rate (:func:`spms_mc_kernels.bandwidth.scatter_add`, one ``b[j[i]] += a[i]`` per
    account over precomputed random indices) in accounts/s. Target >= 0.40. The cost of one
    sample (:meth:`Engine._distribution`) is reported separately.
``memory_per_household``
    Peak traced bytes (``tracemalloc``; numpy reports its buffers to it) during a whole
    :func:`spms_mc.simulate` of the ``sumsy`` preset, minus the baseline, per household; and the
    state's own ``nbytes() / N``. Target <= 32 B/household.

Entry point: :func:`run` (``spms-mc bench``); ``benchmarks/bench_core.py`` runs it at full size
and writes JSON.
"""
from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager

import numpy as np

TARGET_SETTLE = 0.50
TARGET_TICK = 0.40
TARGET_BYTES = 32.0
QUICK_SIZE = 100_000
QUICK_REPEATS = 2
MEMORY_SIZE = 1_000_000
MEMORY_TICKS = 60
_STDOUT_AT_IMPORT = sys.stdout
INNER = 3  # limit (and kernel) calls per repeat; the fastest counts

_GI = np.int64(200_000)  # 2000.00 in minor units, as in the sumsy preset
_PERIOD = 30


def _now() -> float:
    return time.perf_counter()


def _timed(fn, *args) -> float:
    t0 = _now()
    fn(*args)
    return _now() - t0


def _median(xs) -> float:
    return float(statistics.median(xs))


def machine_info() -> dict:
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = "not yet initialised"
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
            "numba_threading_layer": layer, "numba": numba.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_1_5_15min": list(os.getloadavg())}


# ---------------------------------------------------------------------------------------------
# 1. GI + demurrage settlement vs in-place read-modify-write
# ---------------------------------------------------------------------------------------------
def _settle_arrays(n: int):
    """Exponential balances (mean 1000.00), period sums near 30 x balance: realistic branches."""
    gen = np.random.default_rng(2024)
    balance = np.floor(gen.exponential(100_000.0, n)).astype(np.int64)
    period_sum = balance * _PERIOD + gen.integers(0, 100_000 * _PERIOD, n)
    flags = np.full(n, 3, np.uint8)  # ELIGIBLE | ACTIVE
    return balance, period_sum, flags


def _settle_args(balance, period_sum, flags, use_average):
    empty = np.empty(0, np.int64)
    # every account eligible, as the engine tells the kernel (eligibility is a prefix of the state)
    return (balance, period_sum, use_average, _PERIOD, flags, True, _GI, np.int64(0), empty,
            np.array([0.0]), np.array([0.01]), 0.0, balance.shape[0])


def bench_settle(n: int, repeats: int) -> list[dict]:
    """settle_period (average and end base) over read_modify_write, paired per repeat."""
    from spms_mc_kernels.bandwidth import read_modify_write
    from spms_mc_kernels.sumsy import settle_period

    rmw = np.zeros(n, np.int64)
    balance, period_sum, flags = _settle_arrays(n)
    args = {True: _settle_args(balance, period_sum, flags, True),
            False: _settle_args(balance, period_sum, flags, False)}
    read_modify_write(rmw)  # warm-up: compile and fault the pages in
    for a in args.values():
        settle_period(*a)
    out = []
    for use_average, name in ((True, "sumsy_settle_average"), (False, "sumsy_settle_end")):
        limit, rate, ratio = [], [], []
        for _ in range(repeats):
            t_lim, t_k = math.inf, math.inf
            for _ in range(INNER):  # back to back, best of INNER each: rejects one-off stalls
                t_lim = min(t_lim, _timed(read_modify_write, rmw))
                t_k = min(t_k, _timed(settle_period, *args[use_average]))
            limit.append(n / t_lim)
            rate.append(n / t_k)
            ratio.append(t_lim / t_k)
        base = "average" if use_average else "end"
        out.append(_result(
            name, f"GI + demurrage settle_period ({base} balance, flat 1 %), N={n:,}",
            "accounts/s", rate, "read_modify_write", "elements/s", limit, ratio, TARGET_SETTLE, ">="))
    return out


# ---------------------------------------------------------------------------------------------
# 2. a full SuMSy tick with random exchange vs random scatter-add
# ---------------------------------------------------------------------------------------------
def _engine(n: int, ticks: int, preset: str = "sumsy", seed: int = 1, overrides: dict | None = None):
    from .config import load_scenario
    from .engine import Engine

    sc = load_scenario(preset).with_overrides({"population.households": n, "run.ticks": ticks,
                                               "run.check_ledger": "off", "run.sample_every": ticks,
                                               **(overrides or {})})
    return Engine(sc, seed=seed)


def _run_period(eng, k: int) -> None:
    """Ticks ``k*period .. (k+1)*period - 1`` exactly as Engine.run calls the hooks (no checks,
    no sampling)."""
    period = eng.sc.run.period
    on_period = [p.on_period_start for p in eng.processes]
    on_tick = [p.on_tick for p in eng.processes]
    for t in range(k * period, (k + 1) * period):
        if t % period == 0:
            for f in on_period:
                f(t)
        for f in on_tick:
            f(t)


@contextmanager
def engine_threads(n_accounts: int):
    """The thread count :meth:`Engine.run` uses for a member of this size (one thread below
    ``spms_mc.engine.PARALLEL_MIN_ACCOUNTS``), restored afterwards."""
    import numba

    from . import engine

    before = numba.get_num_threads()
    if n_accounts < getattr(engine, "PARALLEL_MIN_ACCOUNTS", 0):
        numba.set_num_threads(1)
    try:
        yield numba.get_num_threads()
    finally:
        numba.set_num_threads(before)


class _KernelTimer:
    """Wraps the backend's kernels on one engine instance to attribute tick time to kernels."""

    def __init__(self, eng):
        self.eng = eng
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.wrapped: list[str] = []
        names = [k for k in dir(type(eng.backend)) if not k.startswith("_") and k != "name"]
        for name in names:
            fn = getattr(eng.backend, name)
            if callable(fn) and name not in vars(eng.backend):
                setattr(eng.backend, name, self._wrap(name, fn))
                self.wrapped.append(name)

    def _wrap(self, name, fn):
        def timed(*args):
            t0 = _now()
            r = fn(*args)
            self.seconds[name] = self.seconds.get(name, 0.0) + _now() - t0
            self.calls[name] = self.calls.get(name, 0) + 1
            return r

        return timed

    def restore(self):
        for name in self.wrapped:
            delattr(self.eng.backend, name)
        self.wrapped = []


def bench_tick(n: int, repeats: int) -> tuple[dict, dict]:
    """Engine hooks over whole periods at N accounts over scatter_add, paired per repeat.

    Returns the result and the details (per-kernel breakdown of one extra period, sample cost).
    """
    from spms_mc_kernels.bandwidth import scatter_add

    from .engine import quantile_grid, STAT_NAMES

    # compile every kernel of the sumsy preset on a tiny engine first
    small = _engine(1000, 3 * _PERIOD)
    for k in range(2):
        _run_period(small, k)
    grid = quantile_grid(small.sc)
    small._distribution(grid, {s: np.zeros(1) for s in STAT_NAMES}, np.zeros((1, len(grid))), 0)
    del small

    periods = repeats + 2  # period 0 (GI only) as warm-up, `repeats` timed, one for the breakdown
    eng = _engine(n, periods * _PERIOD)
    period = eng.sc.run.period
    gen = np.random.default_rng(12345)
    j = gen.integers(0, n, n, dtype=np.int64)
    a = np.ones(n, np.int64)
    b = np.zeros(n, np.int64)
    scatter_add(b, j, a)  # compile + fault in
    limit, rate, ratio = [], [], []
    with engine_threads(eng.state.n_accounts) as threads:
        _run_period(eng, 0)
        for k in range(1, repeats + 1):
            t_lim = min(_timed(scatter_add, b, j, a) for _ in range(INNER))
            t_k = _timed(_run_period, eng, k)
            per_tick = t_k / period
            limit.append(n / t_lim)
            rate.append(n / per_tick)
            ratio.append(t_lim / per_tick)
        del j, a, b
        # where the time goes: one more period with every kernel call timed
        timer = _KernelTimer(eng)
        t_total = _timed(_run_period, eng, repeats + 1)
        timer.restore()
    breakdown = {name: {"seconds_per_tick": s / period, "calls": timer.calls[name]}
                 for name, s in sorted(timer.seconds.items(), key=lambda kv: -kv[1])}
    kernel_s = sum(timer.seconds.values())
    breakdown["python_overhead"] = {"seconds_per_tick": (t_total - kernel_s) / period, "calls": 0}
    # the cost of one sample (sort + distribution statistics), outside the tick loop
    stats = {s: np.zeros(1) for s in STAT_NAMES}
    lorenz = np.zeros((1, len(grid)))
    sample_s = [_timed(eng._distribution, grid, stats, lorenz, 0) for _ in range(max(2, min(repeats, 5)))]
    del eng
    gc.collect()
    res = _result("sumsy_tick", f"SuMSy tick (GI+demurrage+random_fraction exchange), engine hooks, N={n:,}",
                  "account-ticks/s", rate, "scatter_add", "accounts/s", limit, ratio, TARGET_TICK, ">=")
    per_tick_med = n / res["measured"]
    details = {"tick_breakdown": breakdown, "engine_threads": threads,
               "sample_seconds": _median(sample_s), "sample_seconds_all": sample_s,
               "sample_in_ticks": _median(sample_s) / per_tick_med}
    res["details"] = details
    return res, details


# ---------------------------------------------------------------------------------------------
# 3. memory per household
# ---------------------------------------------------------------------------------------------
def bench_memory(n: int, ticks: int = MEMORY_TICKS) -> dict:
    """Peak traced bytes of a whole simulate() of the sumsy preset, per household."""
    from . import simulate
    from .config import load_scenario
    from .engine import Engine

    small = load_scenario("sumsy").with_overrides({"population.households": 1000, "run.ticks": ticks})
    simulate(small, seed=1)  # compile and import everything first, outside the trace
    sc = load_scenario("sumsy").with_overrides({"population.households": n, "run.ticks": ticks})
    state_bytes = Engine(sc, seed=1).state.nbytes()
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        ds = simulate(sc, seed=1)
        _, peak = tracemalloc.get_traced_memory()
        del ds
    finally:
        if not was_tracing:
            tracemalloc.stop()
    gc.collect()
    per_hh = (peak - base) / n
    return {"name": "memory_per_household",
            "what": f"peak traced bytes of simulate('sumsy'), N={n:,}, {ticks} ticks",
            "unit": "B/household", "measured": per_hh, "limit_name": "state.nbytes()/N",
            "limit_unit": "B/household", "limit": state_bytes / n, "ratio": per_hh,
            "target": TARGET_BYTES, "op": "<=", "passed": bool(per_hh <= TARGET_BYTES),
            "samples": [per_hh], "limit_samples": [state_bytes / n], "ratio_samples": [per_hh],
            "details": {"peak_bytes": peak - base, "state_bytes": state_bytes, "ticks": ticks}}


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------
def _result(name, what, unit, rate, limit_name, limit_unit, limit, ratio, target, op) -> dict:
    r = _median(ratio)
    return {"name": name, "what": what, "unit": unit, "measured": _median(rate), "limit_name": limit_name,
            "limit_unit": limit_unit, "limit": _median(limit), "ratio": r, "target": target, "op": op,
            "passed": bool(r >= target if op == ">=" else r <= target),
            "samples": rate, "limit_samples": limit, "ratio_samples": ratio}


def _fmt_rate(x: float) -> str:
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{suf} "
    return f"{x:.3g} "


def format_table(results: list[dict]) -> str:
    head = f"{'benchmark':<22} {'measured':>24} {'machine limit':>36} {'ratio':>7} {'target':>8}  result"
    lines = [head, "-" * len(head)]
    for r in results:
        if r["op"] == "<=":  # memory: the "ratio" is bytes per household
            meas = f"{r['measured']:.1f} {r['unit']}"
            lim = f"state {r['limit']:.1f} B/hh"
            ratio = f"{r['ratio']:.1f}"
        else:
            meas = f"{_fmt_rate(r['measured'])}{r['unit']}"
            lim = f"{_fmt_rate(r['limit'])}{r['limit_unit']} ({r['limit_name']})"
            ratio = f"{r['ratio']:.3f}"
        tgt = f"{r['op']} {r['target']:g}"
        lines.append(f"{r['name']:<22} {meas:>24} {lim:>36} {ratio:>7} {tgt:>8}  "
                     f"{'PASS' if r['passed'] else 'FAIL'}")
    return "\n".join(lines)


def run(size: int = 10_000_000, repeats: int = 5, quick: bool = False, out=sys.stdout) -> dict:
    """Run the core benchmarks (settlement, full tick, memory) and print a table to ``out``.

    ``quick=True`` runs at N = 10^5 with 2 repeats (a smoke test). Ratios are medians over
    ``repeats`` paired measurements, each after a warm-up call that compiles. The memory figure
    uses ``min(size, 10**6)`` households. ``out=None`` prints nothing.
    Returns ``{"machine", "size", "repeats", "results": [...], "details", "all_passed"}``.
    """
    if out is _STDOUT_AT_IMPORT:  # the default: whatever sys.stdout is now (captured in tests)
        out = sys.stdout
    if quick:
        size, repeats = QUICK_SIZE, QUICK_REPEATS
    size, repeats = int(size), int(repeats)
    if size < 1000:
        raise ValueError(f"size must be at least 1000, got {size}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    mem_size = min(size, MEMORY_SIZE)

    def say(msg):
        if out is not None:
            print(msg, file=out, flush=True)

    t0 = _now()
    load_start = list(os.getloadavg())
    say(f"spms_mc bench: N = {size:,}, {repeats} repeats (medians of paired ratios; "
        f"limits measured in the same run)")
    results = []
    say("  [1/3] GI + demurrage settlement vs read-modify-write ...")
    results += bench_settle(size, repeats)
    gc.collect()
    say("  [2/3] full SuMSy tick vs random scatter-add ...")
    tick, details = bench_tick(size, repeats)
    results.append(tick)
    say(f"  [3/3] memory of simulate('sumsy') at N = {mem_size:,} ...")
    results.append(bench_memory(mem_size))
    info = machine_info()
    say("")
    say(f"machine: {info['cpu']}, {info['logical_cpus']} logical CPUs, numba {info['numba']} "
        f"({info['numba_threads']} threads, {info['numba_threading_layer']}), load average "
        f"{info['loadavg_1_5_15min'][0]:.2f} (other work on the machine slows the parallel kernels)")
    say(format_table(results))
    n_ticks_s = size / tick["measured"]
    bd_total = sum(d["seconds_per_tick"] for d in details["tick_breakdown"].values())
    say("")
    say(f"(full tick: the engine's hooks on {details['engine_threads']} thread(s), as Engine.run "
        f"runs a member of {size:,} accounts)")
    say(f"sampling (Engine._distribution: copy + sort + statistics) at N = {size:,}: "
        f"{details['sample_seconds']:.3g} s per sample = {details['sample_in_ticks']:.1f} ticks "
        f"({n_ticks_s * 1e3:.3g} ms per tick)")
    say(f"tick breakdown (one extra period, every kernel call timed: {bd_total * 1e3:.3g} ms per tick):")
    for name, d in details["tick_breakdown"].items():
        share = d["seconds_per_tick"] / bd_total
        say(f"    {name:<28} {d['seconds_per_tick'] * 1e3:9.3f} ms/tick  ({share:6.1%})")
    say(f"total {_now() - t0:.1f} s")
    return {"machine": info, "size": size, "repeats": repeats, "memory_size": mem_size,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "loadavg_at_start": load_start,
            "seconds": _now() - t0, "results": results, "details": details,
            "all_passed": all(r["passed"] for r in results)}
