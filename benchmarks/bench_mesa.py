"""spms_mc against two Mesa models, in agent-steps (account-ticks) per second.

Mesa is installed for this benchmark only (``pip install -r benchmarks/requirements.txt``); it is
not a dependency of spms_mc. The Mesa models are in ``benchmarks/mesa_boltzmann.py``:

* ``MoneyModel``: the tutorial model (no space: each agent with wealth gives one unit to a random
  agent), the receiver drawn from a list of the agents built once (``--literal-tutorial`` adds the
  tutorial's own draw from the AgentSet, O(N) per draw in Mesa 3, up to N = 10^4, for information);
* ``BoltzmannWealthGrid``: the Boltzmann wealth model with the rules of Mesa's example (a MultiGrid
  torus of about one cell per agent; move to a random Moore neighbour, then give one unit to a
  random cell-mate; a DataCollector of the Gini coefficient and every agent's wealth each step).

Mesa is timed two ways: ``agents only`` (``model.agents.shuffle_do("step")``: the agents' work, the
figure every ratio uses) and, for the grid model, ``with DataCollector`` (``model.step()``, as the
example runs, for information). Model construction is not timed. Each timed chunk is about
``MESA_AGENT_STEPS`` agent-steps (3 steps at N = 10^5).

spms_mc is timed as in ``spms-mc bench --matrix`` (:class:`spms_mc.face.bench.Marginal`): a long
and a short :func:`spms_mc.simulate` of the same scenario, rate = marginal ticks x N / time
difference, so construction, the output Dataset and the two samples cancel, as Mesa's construction
is left out. Two presets:

* ``sumsy``: each household pays a random fraction (up to 10 %) of its balance to a uniformly
  random other household every tick (the analogue of "give to a random agent"), plus guaranteed
  income and demurrage on the period's average balance: more work per account-tick than the Mesa
  models. Target >= 300x the tutorial MoneyModel (agents only) at N = 10^4 - 10^5;
* ``kinetic_exchange``: Dragulescu-Yakovenko pool-and-split between random pairs (keyed
  permutation), SuMSy off, fixed money stock: the same physics as the Boltzmann model. Target
  >= 100x the same.

Within each repeat every Mesa model is timed, then each spms_mc preset; a ratio is formed per
repeat against the Mesa figure of the same repeat and the median is reported.

    python benchmarks/bench_mesa.py [--sizes 1000,10000,100000] [--repeats 5] [--seconds 0.5]
                                    [--literal-tutorial] [--profile] [--json out.json]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TARGETS = {"sumsy": 300.0, "kinetic_exchange": 100.0}  # x the tutorial MoneyModel, agents only
TARGET_SIZES = (10_000, 100_000)
TARGET_MODEL = "money_model"
MESA_AGENT_STEPS = 300_000  # per timed chunk


def median(xs):
    return float(statistics.median(xs))


LITERAL_MAX_N = 10_000  # the tutorial's own draw: O(N^2) per step, 3 s per step at 10^4


def mesa_models(literal: bool = False) -> dict:
    """name -> (description, build(n, seed), time with the DataCollector too, agent-steps per chunk,
    largest N)."""
    import mesa
    from mesa_boltzmann import BoltzmannWealthGrid, MoneyModel

    v = mesa.__version__
    models = {
        "money_model": (f"Mesa {v} tutorial MoneyModel (no space; receiver from a list of the agents)",
                        lambda n, seed: MoneyModel(n, seed=seed), False, MESA_AGENT_STEPS, None),
        "boltzmann_grid": ((f"Mesa {v} Boltzmann wealth model on a MultiGrid torus (sqrt(N) x sqrt(N), Moore "
                            "moves, cell-mate gifts; benchmarks/mesa_boltzmann.py)"),
                           lambda n, seed: BoltzmannWealthGrid(n, seed=seed), True, MESA_AGENT_STEPS, None),
    }
    if literal:
        models["money_model_literal"] = ((f"Mesa {v} tutorial MoneyModel, receiver drawn from the AgentSet as "
                                          "the tutorial writes it (O(N) per draw)"),
                                         lambda n, seed: MoneyModel(n, seed=seed, literal=True), False,
                                         MESA_AGENT_STEPS // 100, LITERAL_MAX_N)
    return models


def mesa_steps_for(n: int, agent_steps: int = MESA_AGENT_STEPS) -> int:
    """Steps per timed chunk: about ``agent_steps`` agent-steps, at least one step."""
    return max(1, agent_steps // n)


def time_mesa(model, n: int, steps: int, collect: bool) -> float:
    """Agent-steps per second of ``steps`` steps: the agents only, or ``model.step()`` (DataCollector too)."""
    t0 = time.perf_counter()
    for _ in range(steps):
        if collect:
            model.step()
        else:
            model.agents.shuffle_do("step")
    return n * steps / (time.perf_counter() - t0)


def profile_spms(preset: str, n: int, ticks: int) -> str:
    """cProfile of one whole simulate() of ``ticks`` ticks, plus the per-kernel split of the tick loop."""
    from spms_mc.face import bench

    sc = bench.matrix_scenario(preset, n, ticks)
    pr = cProfile.Profile()
    pr.enable()
    bench._simulate(sc)
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(14)
    text = s.getvalue()
    period = sc.run.period
    eng = bench._engine(n, 6 * period, preset=preset)
    with bench.engine_threads(n) as threads:  # the thread count Engine.run uses at this size
        bench._run_period(eng, 0)
        bench._run_period(eng, 1)
        t_plain = min(bench._timed(bench._run_period, eng, k) for k in (2, 3)) / period
        timer = bench._KernelTimer(eng)
        t_total = (bench._timed(bench._run_period, eng, 4) + bench._timed(bench._run_period, eng, 5)) / (2 * period)
        timer.restore()
    lines = [(f"per-tick split of the engine hooks, {preset} at N={n:,}, {threads} thread(s) (hooks alone: "
              f"{t_plain * 1e6:.1f} us/tick; with timers: {t_total * 1e6:.1f} us/tick):")]
    kern = 0.0
    for name, sec in sorted(timer.seconds.items(), key=lambda kv: -kv[1]):
        per = sec / (2 * period)
        kern += per
        lines.append(f"    {name:<32} {per * 1e6:9.2f} us/tick  ({timer.calls[name] / (2 * period):.2f} calls/tick)")
    lines.append(f"    {'python (hooks, rng keys)':<32} {(t_total - kern) * 1e6:9.2f} us/tick")
    return text + "\n".join(lines)


# ---------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="N (Mesa at 10^6 takes minutes to build and "
                    "seconds per step)")
    ap.add_argument("--presets", default="sumsy,kinetic_exchange")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5, help="marginal time of each spms_mc timing")
    ap.add_argument("--literal-tutorial", action="store_true",
                    help="also time the tutorial's own receiver draw (from the AgentSet, O(N) per draw)")
    ap.add_argument("--profile", action="store_true", help="cProfile spms_mc sumsy at the smallest size")
    ap.add_argument("--json", help="write the results to this JSON file")
    a = ap.parse_args(argv)
    sizes = [int(float(x)) for x in a.sizes.split(",") if x]
    presets = [p for p in a.presets.split(",") if p]

    from spms_mc.face.bench import Marginal, machine_info

    models = mesa_models(a.literal_tutorial)
    for name, (desc, *_) in models.items():
        print(f"{name}: {desc}", flush=True)
    load_start = list(os.getloadavg())
    mesa, spms, paired, plans_ticks = {}, {}, {}, {}
    for n in sizes:
        here = {name: m for name, m in models.items() if m[4] is None or n <= m[4]}
        built = {}
        for name, (_, build, collect, agent_steps, _) in here.items():
            t0 = time.perf_counter()
            built[name] = build(n, 1)
            mesa[(name, n)] = {"steps": mesa_steps_for(n, agent_steps), "build_seconds": time.perf_counter() - t0,
                               "agents_only": [], "with_datacollector": [] if collect else None}
            time_mesa(built[name], n, 1, collect)  # warm-up
        plans = {p: Marginal(p, n, a.seconds) for p in presets}
        plans_ticks[n] = {p: (pl.short_ticks, pl.long_ticks) for p, pl in plans.items()}
        print(f"N={n:,}: Mesa {mesa[('money_model', n)]['steps']} steps per chunk; " + ", ".join(
            f"{p} {pl.short_ticks} and {pl.long_ticks} ticks" for p, pl in plans.items()), flush=True)
        for p in presets:
            spms[(p, n)] = {"rate": [], "us_per_tick": []}
            for name in here:
                paired[(p, name, n)] = []
        for _ in range(a.repeats):
            for name, (_, _, collect, _, _) in here.items():
                m = mesa[(name, n)]
                m["agents_only"].append(time_mesa(built[name], n, m["steps"], False))
                if collect:
                    m["with_datacollector"].append(time_mesa(built[name], n, m["steps"], True))
            for p, pl in plans.items():
                t_s, t_l = pl.time()
                rate = pl.rate(t_s, t_l)
                spms[(p, n)]["rate"].append(rate)
                spms[(p, n)]["us_per_tick"].append((t_l - t_s) / pl.marginal_ticks * 1e6)
                for name in here:
                    paired[(p, name, n)].append(rate / mesa[(name, n)]["agents_only"][-1])
        del built

    # ---- table ----
    info = machine_info()
    print()
    print(f"machine: {info['cpu']}, {info['logical_cpus']} logical CPUs, numba {info['numba']} "
          f"({info['numba_threads']} threads); load average {load_start[0]:.2f} at the start, "
          f"{info['loadavg_1_5_15min'][0]:.2f} at the end; {a.repeats} repeats")
    head = f"{'N':>9} {'Mesa model':<19} {'agents only':>12} {'with DC':>9}" + "".join(
        f" {p:>17} {'ratio':>8}" for p in presets)
    print(head)
    print("-" * len(head))
    rows = []
    for n in sizes:
        for name in [k for k in models if (k, n) in mesa]:
            m = mesa[(name, n)]
            mo = median(m["agents_only"])
            dc = f"{median(m['with_datacollector']) / 1e3:.0f} k/s" if m["with_datacollector"] else "-"
            line = f"{n:>9,} {name:<19} {mo / 1e3:>8.0f} k/s {dc:>9}"
            for p in presets:
                r = median(spms[(p, n)]["rate"])
                ratio = median(paired[(p, name, n)])
                line += f" {r / 1e6:>13.1f} M/s {ratio:>7.0f}x"
                judged = name == TARGET_MODEL and n in TARGET_SIZES and p in TARGETS
                rows.append({"n": n, "mesa_model": name, "preset": p, "spms_rate": r,
                             "spms_rates": spms[(p, n)]["rate"], "spms_us_per_tick": median(spms[(p, n)]["us_per_tick"]),
                             "spms_ticks_short_long": plans_ticks[n][p],
                             "mesa_agents_only": mo, "mesa_agents_only_all": m["agents_only"],
                             "mesa_with_datacollector": median(m["with_datacollector"]) if m["with_datacollector"]
                             else None, "mesa_steps": m["steps"], "mesa_build_seconds": m["build_seconds"],
                             "ratio": ratio, "ratio_all": paired[(p, name, n)],
                             "target": TARGETS[p] if judged else None,
                             "passed": (ratio >= TARGETS[p]) if judged else None})
            print(line)
    print("rates: Mesa agent-steps/s; spms_mc account-ticks/s of the marginal ticks of simulate(); "
          "ratio = spms_mc / Mesa agents only, median of paired repeats; DC = with the DataCollector")
    print("targets (x the tutorial MoneyModel, agents only, N = 10^4 - 10^5):")
    for row in rows:
        if row["target"] is not None:
            print(f"    {row['preset']:<17} N={row['n']:<8,} {row['ratio']:8.0f}x >= {row['target']:g}x  "
                  f"{'PASS' if row['passed'] else 'FAIL'}")

    prof = None
    if a.profile:
        n0 = min(sizes)
        ticks = plans_ticks[n0]["sumsy"][1] if "sumsy" in presets else 3000
        print(f"\n---- where the time goes: cProfile of simulate('sumsy') at N={n0:,}, {ticks} ticks ----")
        prof = profile_spms("sumsy", n0, ticks)
        print(prof)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": info, "loadavg_at_start": load_start,
                       "mesa_models": {k: v[0] for k, v in models.items()}, "repeats": a.repeats,
                       "seconds": a.seconds, "rows": rows, "profile": prof}, fh, indent=1)
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
