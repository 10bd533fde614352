"""The counter-cyclical rule of the Shared Prosperity Monetary System: larger payments when
unemployment spikes, smaller when the economy overheats (docs/model.md section 5; the SPMS post,
sections 7 (automatic stabilisers) and 11.3 ("counter-cyclical rules: larger dividends or temporary
top-ups when unemployment spikes, smaller when the economy overheats"), docs/sources.md).

The trigger is Sahm's rule (Sahm 2019, "Direct stimulus payments to individuals", in *Recession
Ready*, Brookings/Hamilton Project) on the unemployment rate of each settled period: with ``a_t``
the mean of the last ``window`` periods' rates, the indicator is ``r_t = a_t - min(a_{t-lookback} ..
a_{t-1})`` (the minimum of the averages over the previous ``lookback`` periods; fewer at the start,
none before ``window + 1`` periods have been seen: no signal). It **fires** when ``r_t >=
threshold`` and stays on while ``r_t >= continue_threshold``; it switches off below that, and fires
again only at ``threshold``. Defaults: 3 months, 12 months, 0.5 percentage points (periods of 30
ticks, 360 ticks a year).

While it is on:

* ``mode = "lump_sum"``: every period a lump sum of ``payment_share`` of the period's nominal output
  is paid equally to every household over the public money rail (created);
* ``mode = "dividend_topup"``: the wealth fund's payout of the year is multiplied by ``1 + topup``
  (fixed at the year's first period), and by ``1 - cut`` while the economy overheats: the mirror of
  the trigger, ``max(a_{t-lookback} .. a_{t-1}) - a_t >= threshold`` (unemployment falling fast).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.config import Bool, Choice, Float, Int, ScenarioError, key
from ..core.registry import Mechanism, Output


@dataclass(frozen=True, slots=True, kw_only=True)
class CountercyclicalConfig:
    """The counter-cyclical rule (docs/model.md section 5)."""

    enabled: bool = key(False, Bool, "Sahm-type trigger: payments when unemployment spikes (needs rail.enabled, "
                                     "or fund.enabled for dividend_topup)")
    window: int = key(3, Int(1, 10**6), "periods averaged into the unemployment indicator (3 months)")
    lookback: int = key(12, Int(1, 10**6), "periods over which the indicator's minimum is taken (12 months)")
    threshold: float = key(0.005, Float(0, 1, lo_open=True), "rise of the average above its minimum that fires "
                                                              "the trigger (0.5 percentage points)")
    continue_threshold: float = key(0.0025, Float(0, 1, lo_open=True),
                                    "rise above which payments continue after the trigger fired")
    mode: str = key("lump_sum", Choice("lump_sum", "dividend_topup"),
                    "lump sums over the rail, or a larger fund payout")
    payment_share: float = key(0.01, Float(0, 1), "lump_sum: share of the period's nominal output paid per period")
    topup: float = key(0.5, Float(0, 10), "dividend_topup: the fund's payout rises by this share while on")
    cut: float = key(0.2, Float(0, 1), "dividend_topup: the fund's payout falls by this share while overheating")


def check_countercyclical(sc) -> None:
    c = sc.countercyclical
    if not c.enabled:
        return
    if c.mode == "lump_sum" and not sc.rail.enabled:
        raise ScenarioError("countercyclical.mode = 'lump_sum' pays over the rail: it needs rail.enabled = true")
    if c.mode == "dividend_topup" and not sc.fund.enabled:
        raise ScenarioError("countercyclical.mode = 'dividend_topup' changes the fund's payout: it needs "
                            "fund.enabled = true")
    if c.continue_threshold > c.threshold:
        raise ScenarioError(f"countercyclical.continue_threshold = {c.continue_threshold} exceeds "
                            f"countercyclical.threshold = {c.threshold}; accepted: 0 < continue <= threshold")


def sahm_indicator(rates: np.ndarray, window: int, lookback: int) -> np.ndarray:
    """``r_t = a_t - min(a_{t-lookback} .. a_{t-1})`` per period, ``a_t`` the mean of the last
    ``window`` rates; NaN where no average or no earlier average exists yet."""
    rates = np.asarray(rates, float)
    n = rates.shape[0]
    avg = np.full(n, np.nan)
    for t in range(window - 1, n):
        avg[t] = rates[t - window + 1:t + 1].mean()
    out = np.full(n, np.nan)
    for t in range(n):
        earlier = avg[max(0, t - lookback):t]
        earlier = earlier[~np.isnan(earlier)]
        if not np.isnan(avg[t]) and earlier.size:
            out[t] = avg[t] - earlier.min()
    return out


def trigger_states(rates, window: int, lookback: int, threshold: float, continue_threshold: float) -> np.ndarray:
    """Whether the trigger is on in each period: fires at ``threshold``, stays on while the
    indicator is at least ``continue_threshold``."""
    r = sahm_indicator(rates, window, lookback)
    on = np.zeros(r.shape[0], bool)
    state = False
    for t, x in enumerate(r):
        if np.isnan(x):
            state = False
        elif state:
            state = x >= continue_threshold
        else:
            state = x >= threshold
        on[t] = state
    return on


class Countercyclical(Mechanism):
    """The Sahm-type trigger and its payments."""

    name = "countercyclical"
    order = 44
    sections = {"countercyclical": CountercyclicalConfig}
    unsweepable = ("countercyclical.enabled", "countercyclical.mode")
    outputs = {"trigger_on": Output("1", "1 while the counter-cyclical trigger is on (at the last period start)"),
               "sahm_indicator": Output("1", "the trigger's indicator: the unemployment average's rise above its "
                                             "minimum over the lookback"),
               "countercyclical_paid": Output("currency units", "lump sums paid over the rail during the interval")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_countercyclical(sc)

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["countercyclical.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        self.cfg = self.sc.countercyclical
        self.burn_in = self.sc.run.burn_in
        self.rates: list[float] = []
        self.on = False
        self.indicator = np.nan
        self.paid = 0
        self.economy = self.rail = self.fund = None

    def bind(self, others) -> None:
        self.economy, self.rail, self.fund = others["economy"], others.get("rail"), others.get("fund")

    def on_period_start(self, tick: int) -> None:
        if tick < self.burn_in or tick == 0:
            return
        c, eco = self.cfg, self.economy
        self.rates.append(eco.last["unemployment"])
        rates = np.array(self.rates)  # a few hundred periods at most: the tested rule on the whole history
        self.indicator = sahm_indicator(rates, c.window, c.lookback)[-1]
        self.on = bool(trigger_states(rates, c.window, c.lookback, c.threshold, c.continue_threshold)[-1])
        if c.mode == "lump_sum":
            if self.on:
                amount = int(c.payment_share * eco.last["nominal_spending"])
                self.paid += self.rail.pay_per_capita(amount, "counter-cyclical lump sum")
        else:
            overheating = False
            if len(self.rates) > c.window:
                avgs = [np.mean(self.rates[max(0, t - c.window + 1):t + 1])
                        for t in range(max(0, len(self.rates) - 1 - c.lookback), len(self.rates))]
                overheating = max(avgs[:-1]) - avgs[-1] >= c.threshold
            self.fund.topup = 1.0 + c.topup if self.on else (1.0 - c.cut if overheating else 1.0)

    def sample(self) -> dict[str, float]:
        out = {"trigger_on": float(self.on), "sahm_indicator": self.indicator, "countercyclical_paid": self.paid}
        self.paid = 0
        return out
