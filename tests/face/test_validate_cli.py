"""``spms-mc validate``: prints the table, exits 0 when every reference holds, 1 when one does not,
2 for an unknown reference name."""
import dataclasses

from spms_mc.face import cli
from spms_mc.report import validate as V


def status(argv) -> int:
    """The exit status of ``spms-mc ARGV`` run in this process (main() returns on success)."""
    try:
        cli.main(argv)
    except SystemExit as done:
        return done.code or 0
    return 0


def test_validate_prints_the_table_and_exits_0(capsys):
    assert status(["validate", "--only", "sim_y1", "--only", "pk_loan_ratio_collapse"]) == 0
    out = capsys.readouterr().out
    assert "| Godley & Lavoie (2007), model SIM, Table 3.4 | Y, period 1 | 38.462 |" in out
    assert "validate: all 2 references within tolerance" in out


def test_validate_exits_1_when_a_reference_fails(capsys, monkeypatch):
    refs = [dataclasses.replace(r, published=38.5) if r.name == "sim_y1" else r for r in V.REFERENCES]
    monkeypatch.setattr(V, "REFERENCES", refs)
    assert status(["validate", "--only", "sim_y1"]) == 1
    assert "validate: 1 of 1 references out of tolerance: sim_y1" in capsys.readouterr().out


def test_validate_refuses_an_unknown_reference(capsys):
    assert status(["validate", "--only", "nope"]) == 2
    assert "sim_y1" in capsys.readouterr().err


def test_a_scenario_file_that_is_not_utf8_is_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'name = "\xff\xfe"\n')
    assert status(["show", str(bad)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
