"""Bad input fails before any work, with a message naming the key and what is accepted."""
import pytest

import spms_mc
from spms_mc.core.config import ScenarioError, key_table, parse_assignments


@pytest.mark.parametrize("overrides,pattern", [
    ({"sumsy.demurage": 0.1}, r"unknown key 'sumsy.demurage'; did you mean sumsy.demurrage\?"),
    ({"sumsy.demurrage": "high"}, r"sumsy.demurrage must be a number, got str"),
    ({"sumsy.demurrage": -0.1}, r"sumsy.demurrage = -0.1 is out of range; accepted: \[0, 1\)"),
    ({"sumsy.demurrage": 1.0}, r"sumsy.demurrage = 1.0 is out of range; accepted: \[0, 1\)"),
    ({"sumsy.guaranteed_income": -5}, r"sumsy.guaranteed_income = -5 is out of range"),
    ({"population.households": 2.5}, r"population.households must be an integer"),
    ({"population.households": True}, r"population.households must be an integer, got bool"),
    ({"exchange.rule": "barter"}, r"accepted values: none, random_fraction, saving_propensity, yard_sale"),
    ({"sumsy.tiers": [[10, 0.01]]}, r"sumsy.tiers\[0\] lower bound must be 0"),
    ({"sumsy.tiers": [[0, 0.01], [0, 0.02]]}, r"increase strictly"),
    ({"sumsy.tiers": [[0, 1.5]]}, r"sumsy.tiers\[0\]\[1\] \(rate\) = 1.5 is out of range"),
    ({"run.track": [99999]}, r"run.track\[0\] = 99999 is not an account"),
    ({"population.households": 10**11}, r"population.households = 100000000000 .* GiB"),
    ({"sumsy.buffer_loans": [[0, 1, 10.0]]}, r"more than its sumsy.demurrage_free_buffer"),
    ({"events": [{"kind": "injection", "tick": 5, "amount": 0.0}]}, r"events\[0\]: an injection needs amount > 0"),
    ({"events": [{"kind": "inject", "tick": 5}]}, r"events\[0\].kind = 'inject' is not accepted"),
    ({"events": [{"kind": "loss", "tick": 10**8, "fraction": 0.5}]}, r"events\[0\].tick = 100000000 is after"),
    ({"events": [{"kind": "loss", "tick": 1, "fraction": 0.5, "size": 3}]}, r"unknown key 'events\[0\].size'"),
    ({"governance.funding": "fixed_rate"}, r"needs governance.rate > 0"),
    ({"governance.funding": "demurrage", "sumsy.mode": "transactional"}, r"needs sumsy.mode = 'period'"),
    ({"population.active_share": 0.0}, r"needs at least 2 active households"),
    ({"sumsy.guaranteed_income": 1e17}, r"overflows int64"),
    ({"bogus": 1}, r"unknown key 'bogus'"),
    ({"run": 3}, r"unknown key 'run'"),
])
def test_bad_overrides_are_refused_with_the_key_named(overrides, pattern):
    with pytest.raises(ScenarioError, match=pattern):
        spms_mc.load_scenario("sumsy", overrides)


def test_bad_files(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[sumsy]\ndemurrage = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        spms_mc.load_scenario(p)
    p.write_text("[sumsi]\ndemurrage = 0.1\n")
    with pytest.raises(ScenarioError, match="did you mean sumsy"):
        spms_mc.load_scenario(p)
    with pytest.raises(ScenarioError, match="does not exist"):
        spms_mc.load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'; built-in: .*sumsy"):
        spms_mc.load_scenario("nope")


def test_file_extends_a_preset_and_round_trips(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('extends = "sumsy"\nname = "mine"\n[sumsy]\ndemurrage = 0.02\n[population]\nhouseholds = 50\n')
    sc = spms_mc.load_scenario(p)
    assert sc.sumsy.demurrage == 0.02 and sc.population.households == 50 and sc.exchange.rule == "random_fraction"
    q = tmp_path / "resolved.toml"
    q.write_text(sc.to_toml())
    assert spms_mc.load_scenario(q) == sc


def test_scenario_is_frozen_and_overrides_make_new_objects():
    sc = spms_mc.load_scenario("sumsy")
    with pytest.raises(Exception):
        sc.sumsy.demurrage = 0.5
    sc2 = sc.with_overrides({"sumsy.demurrage": 0.05})
    assert sc.sumsy.demurrage == 0.01 and sc2.sumsy.demurrage == 0.05


def test_parse_assignments_reads_toml_values_and_bare_strings():
    got = parse_assignments(["sumsy.demurrage=0.02", "exchange.rule=yard_sale", "run.track=[1, 2]",
                             "sumsy.enabled=false", 'name="x y"'])
    assert got == {"sumsy.demurrage": 0.02, "exchange.rule": "yard_sale", "run.track": [1, 2],
                   "sumsy.enabled": False, "name": "x y"}
    with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
        parse_assignments(["sumsy.demurrage"])


def test_presets_required_by_the_design_exist():
    names = spms_mc.preset_names()
    for n in ("sumsy", "sumsy_tiered", "sumsy_buffer", "sumsy_stress_injection", "sumsy_stress_loss",
              "kinetic_exchange"):
        assert n in names
    sc = spms_mc.load_scenario("sumsy")
    assert (sc.sumsy.guaranteed_income, sc.sumsy.demurrage, sc.run.period) == (2000.0, 0.01, 30)
    assert sc.exchange.rule == "random_fraction" and sc.population.eligible_share == 1.0


def test_readme_documents_every_scenario_key():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for dotted, _, _ in key_table():
        assert f"`{dotted}`" in readme, dotted


def test_sweep_table_in_a_file_round_trips(tmp_path):
    p = tmp_path / "sweep.toml"
    p.write_text('extends = "sumsy"\n[sweep]\n"sumsy.demurrage" = [0.01, 0.02]\n'
                 '"population.eligible_share" = [0.5, 1.0]\n')
    sc = spms_mc.load_scenario(p)
    assert sc.sweep == (("sumsy.demurrage", (0.01, 0.02)), ("population.eligible_share", (0.5, 1.0)))
    assert sc.grid_shape == (2, 2) and len(sc.grid()) == 4
    q = tmp_path / "again.toml"
    q.write_text(sc.to_toml())
    assert spms_mc.load_scenario(q) == sc
    p.write_text('extends = "sumsy"\n[sweep]\n"sumsy.demurrage" = 0.01\n')
    with pytest.raises(ScenarioError, match="sweep.sumsy.demurrage must be a non-empty list"):
        spms_mc.load_scenario(p)


def test_extends_cycle_is_a_clear_error(tmp_path):
    (tmp_path / "a.toml").write_text(f'extends = "{tmp_path / "b.toml"}"\n')
    (tmp_path / "b.toml").write_text(f'extends = "{tmp_path / "a.toml"}"\n')
    with pytest.raises(ScenarioError, match="a cycle"):
        spms_mc.load_scenario(tmp_path / "a.toml")


@pytest.mark.parametrize("key, value, nearest", [
    ("sumsy.guaranteed_income", 0.004, "0.0 or 0.01"),
    ("population.initial_balance", 12.345, "12.34 or 12.35"),
    ("governance.budget", 0.5e-3, "0.0 or 0.01"),
    ("pk.initial_money", 1.001, "1.0 or 1.01"),
])
def test_an_amount_that_is_not_a_whole_number_of_minor_units_is_refused(key, value, nearest):
    """Never silently rounded (a GI of 0.004 would run as 0): the message names the key and the
    nearest valid values."""
    with pytest.raises(ScenarioError, match=f"{key} = {value!r} is not a whole number of minor units "
                                            f"\\(run.minor_units = 100\\); nearest valid values: {nearest}"):
        spms_mc.load_scenario("pk_endogenous" if key.startswith("pk.") else "sumsy", {key: value})


def test_amounts_are_checked_against_run_minor_units_in_tables_and_lists():
    assert spms_mc.load_scenario("sumsy", {"sumsy.guaranteed_income": 0.004, "run.minor_units": 1000})
    assert spms_mc.load_scenario("sumsy", {"sumsy.guaranteed_income": 0.1})  # 10.000000000000002 minor units
    with pytest.raises(ScenarioError, match=r"events\[0\]\.amount = 0\.125 is not a whole number"):
        spms_mc.load_scenario("sumsy", {"events": [{"kind": "injection", "amount": 0.125}]})
    with pytest.raises(ScenarioError, match=r"sumsy.tiers\[1\]\[0\] \(lower bound\) = 10.001 is not a whole"):
        spms_mc.load_scenario("sumsy", {"sumsy.tiers": [[0, 0.01], [10.001, 0.02]]})
    with pytest.raises(ScenarioError, match=r"sumsy.buffer_loans\[0\]\[2\] \(amount\) = 0.005 is not a whole"):
        spms_mc.load_scenario("sumsy", {"sumsy.demurrage_free_buffer": 1.0, "sumsy.buffer_loans": [[0, 1, 0.005]]})


def test_a_transactional_gi_that_would_overflow_with_the_tick_is_refused_even_unchecked():
    """GI x tick in the transactional accrual is bounded before the run, whatever run.check_ledger
    says (it used to wrap silently with the checks off)."""
    big = {"population.households": 10, "run.check_ledger": "off", "run.ticks": 10**7,
           "sumsy.guaranteed_income": 2e10}
    with pytest.raises(ScenarioError, match=r"sumsy.guaranteed_income = 2.*run.ticks = 10000000 overflows int64 "
                                            r"in the transactional accrual"):
        spms_mc.load_scenario("sumsy_transactional", big)
    assert spms_mc.load_scenario("sumsy", big)  # the periodic variant has no such product


def test_more_events_than_random_streams_are_refused():
    from spms_mc.mechanisms.events import MAX_EVENTS

    assert MAX_EVENTS == 65536 - 1024
    one = {"kind": "injection", "amount": 1.0, "tick": 0}
    with pytest.raises(ScenarioError, match=f"events: {MAX_EVENTS + 1} events; accepted: at most {MAX_EVENTS}"):
        spms_mc.load_scenario("sumsy", {"population.households": 10, "events": [one] * (MAX_EVENTS + 1)})
