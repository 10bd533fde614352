"""Consumer Earned Tokenized Equities, the People's Autonomous Economy of the CETE press release
(docs/model.md section 7; docs/sources.md): "Consumer Earned Tokenized Equities (CETEs) ensure that
economic value is more equitably distributed among participants in commercial transactions ...
once CETE-backed transactions constitute about 40 % of total economic activity, the monetary
system undergoes a fundamental change", with "the formula M = alpha F".

**Tokens earned on purchase.** Each household purchase at a participating firm earns the consumer
newly issued equity tokens worth ``alpha`` x the purchase at the current token price, inside the
purchase kernel (:mod:`spms_mc_kernels.cete`: exact integer accrual, whole units issued at once, the
remainder of less than one unit carried in the household's ``token_accrued`` and booked in the
identity ``accrued + value issued = alpha x participating purchases``). The model has one
economy-wide equity index (docs/model.md section 3), so a token is a unit of it: it is priced at the
market price, dilutes every holder, pays dividends pro rata with all other units and can be sold on
the market. ``alpha`` is exact in millionths (a key that is not a whole number of millionths is
refused). With the optional step schedule (``alpha_steps``, ``alpha_step_rates``), a household whose
participating purchases in a period reach a step earns that step's rate on the whole period's
purchases, as cooperative bonus schemes do: the purchase kernel issues alpha at once and the
difference is issued at the period's end.

**Adoption.** The share of participating firms follows ``adoption = "logistic"``: from
``adoption_start`` to ``adoption_end`` over ``adoption_years`` (a logistic of steepness
``adoption_steepness``, rescaled to reach the end exactly); or ``"endogenous"``: firms imitate
rivals that gain sales (Bass 1969's imitation term), ``x <- x + join_speed x (1 - x) g /
periods per year`` each period, ``g = S / W - 1`` the participating firms' share of the period's
consumer sales S over their share of firm size W (positive when consumers favour them). Consumers
favour participating firms by ``demand_tilt``: a firm's weight in the draw of where a household
buys is its size times ``1 + demand_tilt`` when it participates (0: no preference, and then the
endogenous rule leaves adoption where it starts). Which firms join follows a fixed keyed order.

**The press release's threshold.** Reported each sample: the CETE-backed share of household
purchases (``cete_backed_share``), and per member the first sampled tick at which it reaches
``cete.threshold`` (``cete_cross_tick``, 0.40 by default). The release states ``M = alpha F``
without defining its terms; we read M as the money stock and F as the value of CETE-backed
transactions per year, and report ``M / F`` (``cete_money_over_backed``, years): the alpha that
would make the equation hold, an identity to watch, not a rule the simulator enforces.

This module owns ``[cete]``, the arrays ``token_accrued`` and ``cete_period_purchases``, its outputs
and the token identity. With the reforms' timing (:mod:`spms_mc.mechanisms.reform`) tokens start at
the reform and alpha is scaled by its level (rounded to the nearest millionth).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from spms_mc_kernels import cete as kernels
from spms_mc_kernels import rng

from ..core.config import Bool, Choice, Float, FloatList, ScenarioError, key
from ..core.registry import Identity, Mechanism, Output
from ..core.state import keyed_permutation
from .reform import reform_level, reform_start

PPM = 1_000_000
UNITS_PER_SHARE = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CeteConfig:
    """Consumer Earned Tokenized Equities (docs/model.md section 7)."""

    enabled: bool = key(False, Bool, "equity tokens earned on purchases at participating firms (needs wealth.enabled)")
    alpha: float = key(0.05, Float(0, 1), "tokens worth alpha x each purchase at a participating firm (whole "
                                          "millionths)")
    alpha_steps: tuple = key(None, FloatList(0), "step schedule: purchases per period (currency units) from which "
                                                 "a higher rate applies to the whole period's purchases",
                             factory=tuple)
    alpha_step_rates: tuple = key(None, FloatList(0, 1), "step schedule: the rate of each step (>= alpha, rising)",
                                  factory=tuple)
    adoption: str = key("logistic", Choice("logistic", "endogenous"),
                        "share of participating firms: a logistic path, or firms imitating rivals that gain sales")
    adoption_start: float = key(0.05, Float(0, 1), "share of firms participating at the start")
    adoption_end: float = key(0.6, Float(0, 1), "logistic: share of firms participating at the end of the path")
    adoption_years: float = key(15.0, Float(0, lo_open=True), "logistic: years the path takes")
    adoption_steepness: float = key(8.0, Float(0, lo_open=True), "logistic: steepness of the path")
    join_speed: float = key(2.0, Float(0), "endogenous: yearly imitation speed")
    demand_tilt: float = key(0.0, Float(0, 100), "extra weight consumers give a participating firm in where they buy")
    threshold: float = key(0.40, Float(0, 1, lo_open=True), "CETE-backed share of purchases whose first crossing "
                                                            "is reported as cete_cross_tick")


def _millionths(key_name: str, v: float) -> int:
    n = round(v * PPM)
    if abs(v * PPM - n) > 1e-6 * max(1.0, abs(v * PPM)):
        raise ScenarioError(f"{key_name} = {v} is not a whole number of millionths (tokens are exact in millionths); "
                            f"accepted: multiples of 1e-6")
    return n


def check_cete(sc) -> None:
    c = sc.cete
    if not c.enabled:
        return
    if not sc.wealth.enabled:
        raise ScenarioError("cete.enabled needs wealth.enabled = true (tokens are units of its equity index)")
    _millionths("cete.alpha", c.alpha)
    if len(c.alpha_steps) != len(c.alpha_step_rates):
        raise ScenarioError(f"cete.alpha_steps has {len(c.alpha_steps)} entries and cete.alpha_step_rates "
                            f"{len(c.alpha_step_rates)}; accepted: one rate per step")
    for i, (t, r) in enumerate(zip(c.alpha_steps, c.alpha_step_rates)):
        _millionths(f"cete.alpha_step_rates[{i}]", r)
        if r < c.alpha or (i and (t <= c.alpha_steps[i - 1] or r < c.alpha_step_rates[i - 1])):
            raise ScenarioError(f"cete.alpha_steps and cete.alpha_step_rates must rise step by step from cete.alpha "
                                f"= {c.alpha}; got steps {list(c.alpha_steps)}, rates {list(c.alpha_step_rates)}")
    if c.adoption == "logistic" and c.adoption_end < c.adoption_start:
        raise ScenarioError(f"cete.adoption_end = {c.adoption_end} is below cete.adoption_start = "
                            f"{c.adoption_start}; accepted: end >= start")
    if sc.population.firms < 1:
        raise ScenarioError("cete.enabled needs firms (population.firms >= 1)")


class ConsumerTokens(Mechanism):
    """Equity tokens issued to consumers on purchases at participating firms."""

    name = "cete"
    order = 51
    sections = {"cete": CeteConfig}
    unsweepable = ("cete.enabled", "cete.alpha_steps", "cete.alpha_step_rates")
    arrays = {"token_accrued": "value earned in CETE tokens not yet a whole unit (millionths of a minor unit)",
              "cete_period_purchases": "a household's purchases at participating firms in the period (step schedule)"}
    outputs = {
        "cete_backed_share": Output("1", "CETE-backed share of household purchases during the interval"),
        "cete_cross_tick": Output("ticks", "first sampled tick at which cete_backed_share reaches cete.threshold (NaN: "
                                           "never)"),
        "cete_backed_purchases": Output("currency units", "household purchases at participating firms during the "
                                                          "interval"),
        "cete_tokens_issued": Output("shares", "shares of the equity index issued as tokens during the interval"),
        "cete_tokens_total": Output("shares", "shares issued as tokens since the start"),
        "cete_token_share": Output("1", "tokens issued since the start over all equity units"),
        "cete_participation": Output("1", "share of firms participating"),
        "cete_money_over_backed": Output("years", "M / F: the money stock over the CETE-backed purchases per year "
                                                  "(the release's M = alpha F read as an identity; NaN: none)"),
        "cete_accrued": Output("currency units", "value earned in tokens not yet a whole unit, over all households"),
    }
    crossings = {"cete_cross_tick": ("cete_backed_share", "cete.threshold")}
    cpu_kernels = {name: getattr(kernels, name) for name in ("consume_cete", "cete_bonus")}

    @classmethod
    def check_scenario(cls, sc) -> None:
        check_cete(sc)

    @classmethod
    def bytes_per_account(cls, sc) -> float:
        per = 8 + (8 if sc.cete.alpha_steps else 0)
        return per * sc.population.households / max(sc.n_accounts, 1)

    @classmethod
    def allocate(cls, sc, state, key) -> None:
        H = sc.population.households
        state.add_array("token_accrued", np.zeros(H, np.int64))
        state.add_array("cete_period_purchases", np.zeros(H if sc.cete.alpha_steps else 0, np.int64))

    @classmethod
    def closed_form_blockers(cls, sc) -> list[str]:
        return ["cete.enabled"]

    def __init__(self, *a):
        super().__init__(*a)
        sc = self.sc
        c = sc.cete
        self.cfg = c
        self.H, self.F = self.state.n_households, self.state.n_firms
        self.tpy = sc.economy.ticks_per_year
        self.periods_per_year = self.tpy / sc.run.period
        self.burn_in = sc.run.burn_in
        self.alpha_ppm = 0  # 0 until the reforms start
        self.steps = np.array([sc.minor(t) for t in c.alpha_steps], np.int64)
        self.step_rates = np.array([round(r * PPM) for r in c.alpha_step_rates], np.int64)
        self.track_period = bool(c.alpha_steps)
        self.order_of_firms = keyed_permutation(np.uint64(rng.stream_key(self.key, 0, rng.STREAM_CETE_ORDER)),
                                                self.F).argsort(kind="stable")
        self.participating = np.zeros(self.F, np.uint8)
        self.share = 0.0  # adoption x
        self.price_micro = np.int64(1)
        self.value_issued = 0  # millionths of a minor unit
        self.earned = 0  # millionths of a minor unit: alpha x purchases + bonuses
        self.tokens = 0
        self.period_backed = self.period_spent = 0
        self.tick = 0
        self.interval = {"backed": 0, "spent": 0, "tokens": 0, "ticks": 0}
        self.economy = self.market = self.reform = None

    def bind(self, others) -> None:
        self.economy, self.market = others["economy"], others["wealth"]
        self.reform = others.get("reform")
        self.economy.purchases = self

    def identities(self) -> list[Identity]:
        return [Identity("cete: accrued value + value issued as tokens = alpha x participating purchases + bonuses",
                         "sum of token_accrued + value issued",
                         lambda: int(self.backend.sum_int64(self.state.token_accrued)) + self.value_issued,
                         "alpha x purchases + bonuses (millionths of a minor unit)", lambda: self.earned)]

    # -- the period start: the step bonus, adoption, the token price -----------------------------
    def on_period_start(self, tick: int) -> None:
        c, st = self.cfg, self.state
        if self.track_period and self.alpha_ppm > 0:
            tokens, value, earned = self.backend.cete_bonus(st.cete_period_purchases, st.token_accrued, st.equity,
                                                            self.steps, self.step_rates, np.int64(self.alpha_ppm),
                                                            self.price_micro)
            self._issued(int(tokens), int(value), int(earned))
        level = reform_level(self.reform, tick, self.burn_in)
        start = reform_start(self.reform, self.burn_in)
        if tick < start or level == 0.0:
            return
        self.alpha_ppm = round(c.alpha * level * PPM)
        if self.steps.shape[0]:
            self.step_rates = np.array([round(r * level * PPM) for r in c.alpha_step_rates], np.int64)
        years = (tick - start) / self.tpy
        if c.adoption == "logistic":
            from .economy import logistic_progress

            share = c.adoption_start + (c.adoption_end - c.adoption_start) * logistic_progress(
                years / c.adoption_years, c.adoption_steepness)
        elif tick == start:
            share = c.adoption_start
        else:
            share = self._imitate()
        self._participate(share)
        self.price_micro = np.int64(max(1, math.ceil(self.market.price * PPM)))
        self.period_backed = self.period_spent = 0

    def _imitate(self) -> float:
        x = self.share
        weights = self.economy.weights
        w = float(weights[self.participating.astype(bool)].sum())
        if self.period_spent <= 0 or w <= 0:
            return x
        gain = (self.period_backed / self.period_spent) / w - 1.0
        return min(1.0, x + self.cfg.join_speed * (1.0 - x) * max(gain, 0.0) * x / self.periods_per_year)

    def _participate(self, share: float) -> None:
        """The first floor(share x F) firms of the keyed order participate; the firm draw is tilted
        towards them."""
        self.share = share
        n = math.floor(share * self.F + 1e-9)
        part = np.zeros(self.F, np.uint8)
        part[self.order_of_firms[:n]] = 1
        changed = not np.array_equal(part, self.participating)
        self.participating = part
        if changed and self.cfg.demand_tilt > 0:
            from spms_mc_kernels.economy import guide_table

            from .economy import cumulative

            eco = self.economy
            eco.cdf = cumulative(eco.weights * (1.0 + self.cfg.demand_tilt * part))
            eco.guide = guide_table(eco.cdf, 2 * self.F)

    # -- every tick, in place of the economy's purchase kernel ------------------------------------
    def consume(self, k, lend, grant, skey, partial):
        st, eco = self.state, self.economy
        spent, borrowed, backed, tokens, value = self.backend.consume_cete(
            st.balance[:self.H], st.plan, st.loans, k, eco.period, lend, grant, eco.cdf, eco.guide, skey, partial,
            self.participating, st.equity, st.token_accrued, st.cete_period_purchases, np.int64(self.alpha_ppm),
            self.price_micro, self.track_period)
        self._issued(int(tokens), int(value), self.alpha_ppm * int(backed))
        self.period_backed += int(backed)
        self.period_spent += int(spent)
        self.interval["backed"] += int(backed)
        self.interval["spent"] += int(spent)
        self.interval["ticks"] += 1
        return spent, borrowed

    def _issued(self, tokens: int, value: int, earned: int) -> None:
        self.tokens += tokens
        self.value_issued += value
        self.earned += earned
        self.interval["tokens"] += tokens
        if tokens:
            self.market.receive("cete", tokens)

    def end_burn_in(self) -> None:
        self.interval = dict.fromkeys(self.interval, 0)

    # -- outputs -------------------------------------------------------------------------------
    def sample(self) -> dict[str, float]:
        iv, st = self.interval, self.state
        money = int(self.backend.sum_int64(st.balance)) + int(st.institutions.sum())
        per_year = iv["backed"] * self.tpy / iv["ticks"] if iv["ticks"] else 0.0
        total = self.market.all_units
        out = {"cete_backed_share": iv["backed"] / iv["spent"] if iv["spent"] else math.nan,
               "cete_backed_purchases": iv["backed"],
               "cete_tokens_issued": iv["tokens"] / UNITS_PER_SHARE,
               "cete_tokens_total": self.tokens / UNITS_PER_SHARE,
               "cete_token_share": self.tokens / total if total else math.nan,
               "cete_participation": float(self.participating.mean()) if self.F else math.nan,
               "cete_money_over_backed": money / per_year if per_year > 0 else math.nan,
               "cete_accrued": int(self.backend.sum_int64(st.token_accrued)) // PPM}
        self.interval = dict.fromkeys(self.interval, 0)
        return out
