"""Each mechanism's random streams are distinct and independent (docs/design.md, "Randomness is
counter-based"): two draws a mechanism makes for one account in one tick come from different
streams, and are uncorrelated. The negative control shows the check would catch one stream used
for both (the random-fraction exchange's payment and its target, say)."""
import numpy as np
import pytest

from spms_mc.mechanisms.exchange import Exchange
from spms_mc_kernels import rng

N = 200_000


def stream_ids() -> dict[str, int]:
    return {k: v for k, v in vars(rng).items() if k.startswith("STREAM_") and isinstance(v, int)}


def test_stream_ids_are_distinct_and_below_the_event_streams():
    ids = stream_ids()
    fixed = {k: v for k, v in ids.items() if k != "STREAM_EVENT_BASE"}
    assert len(set(fixed.values())) == len(fixed), fixed
    assert max(fixed.values()) < rng.STREAM_EVENT_BASE < 1 << 16


@pytest.mark.parametrize("rule", sorted(Exchange.STREAMS))
def test_each_exchange_rule_draws_its_two_quantities_from_two_streams(rule):
    first, second = Exchange.STREAMS[rule]
    assert first != second


def _correlation(k1, k2, n=N):
    u = np.array([rng.draw_uniform(k1, i) for i in range(n)])
    target = np.array([rng.draw_other(k2, i, n) for i in range(n)]) / n
    return np.corrcoef(u, target)[0, 1]


@pytest.mark.parametrize("rule", ["random_fraction"])
def test_the_payment_and_the_target_of_an_account_are_independent(rule):
    """The random-fraction exchange: account i pays floor(u_i f b_i) (u from the fraction stream) to
    account draw_other(i) (the target stream). Over 2 x 10^5 accounts the correlation of u and the
    target's index is within 4 standard errors of 0; drawn from one stream it would be about 1."""
    key = np.uint64(rng.member_key(np.uint64(7), np.uint64(0)))
    keys = np.zeros((1, 2), np.uint64)
    rng.stream_keys(key, 12, np.array(Exchange.STREAMS[rule], np.int64), keys)
    k_fraction, k_target = keys[0]
    assert abs(_correlation(k_fraction, k_target)) < 4 / np.sqrt(N)
    assert _correlation(k_fraction, k_fraction) > 0.9  # the negative control: one stream for both
