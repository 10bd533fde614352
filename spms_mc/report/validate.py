"""``spms-mc validate``: every published value and closed form the project claims, run and compared.

Each reference names its source (paper, table or equation), the published or closed-form value, the
value this code computes, their difference and whether it is within the stated tolerance. The
references (docs/sources.md has the sources):

* the SuMSy paper's closed forms (sections 3.1.3, 5.1, 5.3): the money stock n GI/d, an inactive
  account's GI/d, with a buffer B + GI/d, with tiers the balance whose tiered charge is GI, with
  governance (n GI + B)/d;
* Kuypers, Goorden & Delepierre (2021): the debt-to-money closed form of growth mode, and the
  published loan-ratio cases (growth 4.75 %, D/M 120.25 %; collapse after 193 cycles);
* Godley & Lavoie (2007), model SIM (Table 3.4: Y = 38.462, 47.929, -> 100; H* = 80) and SIMEX;
* kinetic exchange: Dragulescu & Yakovenko (2000), the exponential law's Gini 1/2; Chakraborti &
  Chakrabarti (2000) with saving propensity lambda = 0.5, the gamma law of Patriarca, Chakraborti &
  Kaski (2004), shape n = 1 + 3 lambda / (1 - lambda), Gini Gamma(n + 1/2) / (sqrt(pi) Gamma(n + 1));
  the yard sale without redistribution condenses (Boghosian et al. 2017), Gini -> 1.

New mechanisms add their rule checks here as they land.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..core.config import load_scenario
from ..engine.simulate import simulate


@dataclass(frozen=True)
class Reference:
    name: str
    source: str
    quantity: str
    published: float
    compute: Callable[[], float]
    tolerance: float  # absolute, on the value as compared
    digits: int = 4  # the published value's printed digits (the comparison rounds to them when > 0)


def _final(preset, overrides, var, seed=0):
    ds = simulate(load_scenario(preset, overrides), seed=seed)
    return float(ds[var].values[0, -1])


def _tiered_fixed_point(gi: float, tiers) -> float:
    """The balance whose tiered demurrage per period equals GI (piecewise linear, rising)."""
    charge = 0.0
    for k, (lower, rate) in enumerate(tiers):
        upper = tiers[k + 1][0] if k + 1 < len(tiers) else math.inf
        top = charge + rate * (upper - lower)
        if top >= gi and rate > 0:
            return lower + (gi - charge) / rate
        charge = top
    raise ValueError("the tiers never charge GI")


def _pk_closed_form(p, g, t):
    return 1.0 + t * p / (1.0 + p) if p == g else (p * ((1 + p) / (1 + g)) ** t - g) / (p - g)


def _pk_published(p):
    return load_scenario("pk_endogenous", {"pk.initial_money": 1000.0, "pk.mode": "loan_ratio", "pk.loan_ratio": 0.15,
                                           "pk.retained_profit": p, "pk.maturity": 20, "run.ticks": 500})


def _pk_growth_percent():
    m = simulate(_pk_published(0.008))["money_stock"].values[0]
    return 100 * (m[-1] / m[-2] - 1)


def _pk_collapse_cycle():
    stop = simulate(_pk_published(0.009)).attrs["stop_reason"]
    return float(stop.split("at tick ")[1].split(":")[0]) if "at tick" in stop else math.nan


def _sim(preset, var, period):
    return float(simulate(preset)[var].values[0, period])


def _gamma_gini(lam):
    n = 1 + 3 * lam / (1 - lam)
    return math.gamma(n + 0.5) / (math.sqrt(math.pi) * math.gamma(n + 1))


TIERS = [[0.0, 0.01], [50_000.0, 0.05]]
QUIET = {"exchange.rule": "none", "population.households": 10}  # every account inactive

REFERENCES = [
    Reference("sumsy_money_stock", "SuMSy paper, conclusion 3 (section 3.1.3)", "money stock -> n GI / d",
              1000 * 2000 / 0.05, lambda: _final("sumsy", {"population.households": 1000, "sumsy.demurrage": 0.05,
                                                           "run.ticks": 30 * 400}, "money_stock"),
              tolerance=1000 * 2000 / 0.05 * 1e-3, digits=0),
    Reference("sumsy_inactive", "SuMSy paper, section 3.1.3", "inactive account -> GI / d", 2000 / 0.1,
              lambda: _final("sumsy", {**QUIET, "sumsy.demurrage": 0.1, "run.ticks": 30 * 300}, "mean_balance"),
              tolerance=0.02, digits=2),
    Reference("sumsy_buffer", "SuMSy paper, section 5.1", "inactive account with buffer -> B + GI / d",
              5000 + 2000 / 0.1,
              lambda: _final("sumsy", {**QUIET, "sumsy.demurrage": 0.1, "sumsy.demurrage_free_buffer": 5000.0,
                                       "run.ticks": 30 * 300}, "mean_balance"), tolerance=0.02, digits=2),
    Reference("sumsy_tiers", "SuMSy paper, section 5.2 (tiered demurrage)", "inactive account -> charge(x) = GI",
              _tiered_fixed_point(2000.0, TIERS),
              lambda: _final("sumsy", {**QUIET, "sumsy.tiers": TIERS, "run.ticks": 30 * 600}, "mean_balance"),
              tolerance=0.05, digits=2),
    Reference("sumsy_governance", "SuMSy paper, section 5.3 (demurrage funds governance)",
              "money stock -> (n GI + budget) / d", (10 * 2000 + 500) / 0.05,
              lambda: _final("sumsy", {**QUIET, "sumsy.demurrage": 0.05, "governance.funding": "demurrage",
                                       "governance.budget": 500.0, "run.ticks": 30 * 400}, "money_stock"),
              tolerance=(10 * 2000 + 500) / 0.05 * 1e-4, digits=0),
    Reference("pk_growth_closed_form", "Kuypers, Goorden & Delepierre (2021), D/M closed form",
              "D/M after 200 cycles (p 2 %, g 3 %, m 10)", _pk_closed_form(0.02, 0.03, 200),
              lambda: _final("pk_endogenous", {"pk.initial_money": 1e8}, "debt_ratio"), tolerance=1e-6, digits=0),
    Reference("pk_loan_ratio_growth", "Kuypers, Goorden & Delepierre (2021), LR 15 %, p 0.8 %, m 20",
              "money growth per cycle, % (500 cycles)", 4.75, _pk_growth_percent, tolerance=0.0, digits=2),
    Reference("pk_loan_ratio_debt", "Kuypers, Goorden & Delepierre (2021), LR 15 %, p 0.8 %, m 20",
              "D/M, % (500 cycles)", 120.25,
              lambda: 100 * float(simulate(_pk_published(0.008))["debt_ratio"].values[0, -1]), tolerance=0.0,
              digits=2),
    Reference("pk_loan_ratio_collapse", "Kuypers, Goorden & Delepierre (2021), LR 15 %, p 0.9 %, m 20",
              "cycles until money reaches zero", 193, _pk_collapse_cycle, tolerance=0.0, digits=0),
    Reference("sim_y1", "Godley & Lavoie (2007), model SIM, Table 3.4", "Y, period 1", 38.462,
              lambda: _sim("gl_sim", "income", 1), tolerance=0.0, digits=3),
    Reference("sim_y2", "Godley & Lavoie (2007), model SIM, Table 3.4", "Y, period 2", 47.929,
              lambda: _sim("gl_sim", "income", 2), tolerance=0.0, digits=3),
    Reference("sim_steady_y", "Godley & Lavoie (2007), model SIM", "Y* = G / theta", 100.0,
              lambda: _sim("gl_sim", "income", -1), tolerance=1e-4, digits=0),
    Reference("sim_steady_h", "Godley & Lavoie (2007), model SIM", "H* = alpha3 YD*", 80.0,
              lambda: _sim("gl_sim", "money_stock", -1), tolerance=1e-4, digits=0),
    Reference("simex_y2", "Godley & Lavoie (2007), model SIMEX (section 3.7)", "Y, period 2", 36.0,
              lambda: _sim("gl_simex", "income", 2), tolerance=0.0, digits=3),
    Reference("dy_gini", "Dragulescu & Yakovenko (2000), exponential law", "Gini of balances", 0.5,
              lambda: _final("kinetic_exchange", {"population.households": 50_000, "run.ticks": 500}, "gini", 3),
              tolerance=0.01, digits=0),
    Reference("cc_gini", "Chakraborti & Chakrabarti (2000), lambda 0.5; gamma law of Patriarca et al. (2004)",
              "Gini of balances", _gamma_gini(0.5),
              lambda: _final("kinetic_exchange", {"population.households": 50_000, "run.ticks": 500,
                                                  "exchange.saving_propensity": 0.5}, "gini", 3),
              tolerance=0.01, digits=0),
    Reference("yard_sale_condensation", "Boghosian et al. (2017), yard sale without redistribution",
              "Gini -> 1 (at least 0.95 after 20 000 ticks, 500 households)", 1.0,
              lambda: _final("yard_sale", {"population.households": 500, "run.ticks": 20_000}, "gini", 2),
              tolerance=0.05, digits=0),
]


def validate(only=None) -> list[dict]:
    """Run the references (all, or those named in ``only``); one row per reference."""
    rows = []
    for ref in REFERENCES:
        if only and ref.name not in only:
            continue
        ours = ref.compute()
        shown = round(ours, ref.digits) if ref.digits else ours
        diff = shown - ref.published
        rows.append({"name": ref.name, "source": ref.source, "quantity": ref.quantity, "published": ref.published,
                     "ours": ours, "difference": diff,
                     "passed": bool(math.isfinite(ours) and abs(diff) <= ref.tolerance + 1e-12)})
    return rows


def table(rows) -> str:
    """The rows as a Markdown table."""
    lines = ["| source | quantity | published | ours | difference | pass |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['source']} | {r['quantity']} | {r['published']:.8g} | {r['ours']:.8g} | "
                     f"{r['difference']:.2g} | {'yes' if r['passed'] else '**NO**'} |")
    return "\n".join(lines)
