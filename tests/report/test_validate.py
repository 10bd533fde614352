"""``spms_mc.validate``: every reference passes, and a wrong reference fails."""
import dataclasses

import pytest

import spms_mc
from spms_mc.report import validate as V


def test_every_reference_passes():
    rows = spms_mc.validate()
    assert len(rows) == len(V.REFERENCES) >= 17
    failed = [r for r in rows if not r["passed"]]
    assert not failed, V.table(failed)
    table = V.table(rows)
    assert "Kuypers, Goorden & Delepierre (2021)" in table and "| 38.462 |" in table


@pytest.mark.parametrize("name, wrong", [("sim_y1", 38.463), ("pk_loan_ratio_collapse", 192),
                                         ("sumsy_inactive", 20000.5), ("cc_gini", 0.3)])
def test_a_wrong_published_value_fails(monkeypatch, name, wrong):
    refs = [dataclasses.replace(r, published=wrong) if r.name == name else r for r in V.REFERENCES]
    monkeypatch.setattr(V, "REFERENCES", refs)
    (row,) = V.validate(only=[name])
    assert not row["passed"] and "**NO**" in V.table([row])


def test_the_readme_shows_every_reference():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for ref in V.REFERENCES:
        assert f"| {ref.source} | {ref.quantity} | {ref.published:.8g} |" in readme, ref.name
