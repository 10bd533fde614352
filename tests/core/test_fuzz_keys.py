"""Fuzzing every scenario key: any value either runs with an exact ledger and finite outputs, or is
refused with a ScenarioError (exit status 2 on the command line) that names the key - never a
traceback, a silent rounding or a wrap."""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import spms_mc
from spms_mc.core.config import key_table

# small members of each regime, so that a value that passes validation runs in a moment
BASES = {
    "sumsy": {"population.households": 20, "run.ticks": 90},
    "sumsy_transactional": {"population.households": 20, "run.ticks": 90},
    "yard_sale": {"population.households": 20, "run.ticks": 90, "run.sample_every": 30},
    "ai_bau": {"population.households": 60, "population.firms": 3, "run.ticks": 90},
    "bank_credit": {"population.households": 20, "run.ticks": 90},
    "pk_endogenous": {"run.ticks": 60},
    "gl_sim": {"run.ticks": 20},
}
KEYS = sorted({k for k, _, _ in key_table() if not k.startswith("events[]") and k != "run.backend"})
VALUES = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1),
    st.text(max_size=6),
    st.sampled_from(["none", "average", "end", "transactional", "random_fraction", "yard_sale", "sumsy", "loan_ratio",
                     "simex", "equal", "exponential", "tick", "off"]),
    st.lists(st.integers(min_value=-2, max_value=50), max_size=3),
    st.lists(st.lists(st.floats(min_value=-1, max_value=1e5), min_size=2, max_size=5), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(base=st.sampled_from(sorted(BASES)), key=st.sampled_from(KEYS), value=VALUES)
def test_any_value_of_any_key_runs_exactly_or_is_refused_naming_the_key(base, key, value):
    try:
        sc = spms_mc.load_scenario(base, {**BASES[base], key: value})
    except spms_mc.ScenarioError as err:
        assert key.split(".")[-1] in str(err) or key in str(err), (key, value, str(err))
        return
    assume(sc.n_accounts * sc.run.ticks <= 2_000_000)  # a valid but large member: not for a unit test
    ds = spms_mc.simulate(sc, seed=1)  # the ledger and every identity are checked every tick
    money = ds["money_stock"].values[0]
    taken = money.size if not ds.attrs["stop_reason"] else int(np.isfinite(money).sum())
    assert taken >= 1 and np.all(np.isfinite(money[:taken])) and np.all(money[:taken] >= 0)
