"""Run by tests/engine/test_cuda.py in a fresh process with NUMBA_ENABLE_CUDASIM=1: every case on the CPU
and on the CUDA backend (numba's simulator), same seed; prints one line per case."""
import sys

import numpy as np

sys.setswitchinterval(1e-5)  # the simulator's barriers poll threads under the GIL: switch often

import spms_mc

EVENTS = [{"kind": "injection", "tick": 30, "target": "all", "amount": 500.0},
          {"kind": "loss", "tick": 45, "target": "households", "fraction": 0.3, "share": 0.5},
          {"kind": "injection", "tick": 15, "every": 30, "target": "one", "account": 3, "amount": 50.0}]
CASES = {
    "sumsy": ("sumsy", {}),
    "kinetic_exchange": ("kinetic_exchange", {}),
    "yard_sale": ("yard_sale", {"exchange.chi": 0.01, "exchange.zeta": 0.5}),
    "transactional": ("sumsy_transactional", {"events": EVENTS}),
    "tiered_on_demand": ("sumsy_tiered", {"governance.funding": "on_demand", "governance.rate": 0.01,
                                          "governance.budget": 500.0}),
    "buffers_events_subset": ("sumsy", {"population.firms": 2, "population.active_share": 0.75,
                                        "population.eligible_share": 0.9, "sumsy.demurrage_free_buffer": 300.0,
                                        "sumsy.buffer_loans": [[0, 40, 300.0, 0, 30]], "events": EVENTS,
                                        "governance.funding": "fixed_rate", "governance.rate": 0.01,
                                        "governance.budget": 100.0, "run.track": [0, 40]}),
    "end_base_saving": ("sumsy", {"sumsy.demurrage_base": "end", "exchange.rule": "saving_propensity",
                                  "exchange.saving_propensity": 0.3}),
    "pk_endogenous": ("pk_endogenous", {"run.ticks": 30}),
    # the production economy with bank credit: automation under way, lending rationed by a small
    # capital, refinancing, defaults (capital goes negative) and bank dividends
    "ai_bau_fixed_equity": ("ai_bau_fixed_equity", {"population.firms": 4, "run.ticks": 150,
                                                    "population.initial_balance": 300.0,
                                                    "economy.automation_start_year": 0.0,
                                                    "economy.automation_years": 0.3, "bank.initial_capital": 1500.0,
                                                    "bank.household_credit_limit": 300.0, "bank.maturity": 3}),
    # the same with unemployment benefits, per-borrower credit limits and a burn-in
    "economy_benefits_limits": ("ai_bau_fixed_equity", {"population.firms": 4, "run.ticks": 150,
                                                        "population.initial_balance": 300.0,
                                                        "economy.automation_years": 0.3, "government.enabled": True,
                                                        "government.income_tax": 0.05,
                                                        "government.unemployment_benefit": 20.0,
                                                        "bank.initial_capital": 1500.0,
                                                        "bank.household_credit_limit": 300.0,
                                                        "bank.credit_limit_spread": 0.6, "bank.maturity": 3,
                                                        "run.burn_in": 60}),
    "gl_sim_lagged": ("gl_sim_lagged", {"run.ticks": 40, "run.sample_every": 10}),
    "gl_sim": ("gl_sim", {"run.ticks": 40, "run.sample_every": 10}),
    "sumsy_vs_credit": ("sumsy_vs_credit", {"bank.initial_capital": 5000.0, "bank.household_credit_limit": 3000.0}),
}

for name in sys.argv[1:] or CASES:
    preset, over = CASES[name]
    base = {"population.households": 40, "run.ticks": 60, "run.sample_every": 15, "run.lorenz_points": 11}
    if preset in ("pk_endogenous", "gl_sim", "gl_sim_lagged"):
        base = {"run.sample_every": 15}
    sc = spms_mc.load_scenario(preset, {**base, **over})
    cpu = spms_mc.simulate(sc, seed=3)
    gpu = spms_mc.simulate(sc.with_overrides({"run.backend": "cuda"}), seed=3)
    bad = [v for v in cpu.data_vars if not np.array_equal(cpu[v].values, gpu[v].values, equal_nan=True)]
    print(f"{name}: {'identical' if not bad else 'DIFFERENT ' + ','.join(bad)}", flush=True)
