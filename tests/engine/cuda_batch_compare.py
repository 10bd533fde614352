"""Run by tests/engine/test_cuda.py in a fresh process with NUMBA_ENABLE_CUDASIM=1: every case as one batch
of members on the CUDA simulator and member by member on the CPU, same seed; one line per case."""
import sys

import numpy as np

sys.setswitchinterval(1e-5)  # the simulator's barriers poll threads under the GIL: switch often

import spms_mc
from spms_mc.engine.batch import simulate_batch

EVENTS = [{"kind": "injection", "tick": 30, "target": "all", "amount": 500.0},
          {"kind": "loss", "tick": 45, "target": "households", "fraction": 0.3, "share": 0.5},
          {"kind": "injection", "tick": 15, "every": 30, "target": "one", "account": 3, "amount": 50.0}]
CASES = {
    "sumsy": ("sumsy", {}),
    "kinetic_exchange": ("kinetic_exchange", {}),
    "yard_sale": ("yard_sale", {"exchange.chi": 0.01, "exchange.zeta": 0.5}),
    "tiered_on_demand": ("sumsy_tiered", {"governance.funding": "on_demand", "governance.rate": 0.01,
                                          "governance.budget": 500.0}),
    "subset_firms_events_fixed_rate": ("sumsy", {"population.firms": 2, "population.active_share": 0.75,
                                                 "population.eligible_share": 0.9,
                                                 "sumsy.demurrage_free_buffer": 300.0,
                                                 "sumsy.buffer_loans": [[0, 40, 300.0, 0, 30], [2, 5, 100.0]],
                                                 "events": EVENTS,
                                                 "governance.funding": "fixed_rate", "governance.rate": 0.01,
                                                 "governance.budget": 100.0, "run.track": [0, 40],
                                                 "run.snapshot_ticks": [0, 45]}),
    "transactional_subset_buffer_loans": ("sumsy_transactional", {"population.firms": 2,
                                                                  "population.active_share": 0.75,
                                                                  "sumsy.demurrage_free_buffer": 200.0,
                                                                  "sumsy.buffer_loans": [[1, 7, 150.0, 0, 30]],
                                                                  "events": EVENTS, "run.track": [1, 7]}),
    "end_base_saving_demurrage_funded": ("sumsy", {"sumsy.demurrage_base": "end",
                                                   "exchange.rule": "saving_propensity",
                                                   "exchange.saving_propensity": 0.3,
                                                   "governance.funding": "demurrage", "governance.budget": 200.0}),
}
MEMBERS = [0, 1, 5]

for name in [c for c in sys.argv[1:] or CASES if c in CASES]:
    preset, over = CASES[name]
    base = {"population.households": 40, "run.ticks": 60, "run.sample_every": 15, "run.lorenz_points": 11,
            "run.check_ledger": "tick" if name == "sumsy" else "period"}
    sc = spms_mc.load_scenario(preset, {**base, **over})
    batch = simulate_batch(sc.with_overrides({"run.backend": "cuda"}), 3, MEMBERS)
    bad = []
    for m, got in zip(MEMBERS, batch):
        cpu = spms_mc.simulate(sc, seed=3, member=m)
        assert list(got.data_vars) == list(cpu.data_vars), (list(got.data_vars), list(cpu.data_vars))
        assert int(got["member"][0]) == m
        bad += [f"{v}[{m}]" for v in cpu.data_vars
                if not np.array_equal(cpu[v].values, got[v].values, equal_nan=True)
                or cpu[v].dtype != got[v].dtype]
    print(f"{name}: {'identical' if not bad else 'DIFFERENT ' + ','.join(bad)}", flush=True)

if not sys.argv[1:] or "ensemble" in sys.argv[1:]:
    # the ensemble layer with run.backend = cuda: batches of 2 (the last one of 1), a sweep of 2 points
    import tempfile

    over = {"population.households": 40, "run.ticks": 60, "run.sample_every": 30, "run.lorenz_points": 11,
            "sweep": {"sumsy.demurrage": [0.01, 0.05]}}
    sc = spms_mc.load_scenario("kinetic_exchange", {**over, "sumsy.enabled": True})
    with tempfile.TemporaryDirectory() as tmp:
        cpu = spms_mc.run_ensemble(sc, members=3, seed=9, store=f"{tmp}/cpu.zarr", scheduler="sync").load()
        gpu = spms_mc.run_ensemble(sc.with_overrides({"run.backend": "cuda"}), members=3, seed=9,
                                   store=f"{tmp}/gpu.zarr", scheduler="sync", gpu_batch=2).load()
        bad = [v for v in cpu.data_vars if not np.array_equal(cpu[v].values, gpu[v].values, equal_nan=True)]
        assert bool(gpu["done"].all()), gpu["done"].values
    print(f"ensemble: {'identical' if not bad else 'DIFFERENT ' + ','.join(bad)}", flush=True)
