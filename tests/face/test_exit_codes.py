"""Exit statuses of the command line, in process: failures are made to happen where a command calls
into the layers below, and each must come out as one line on stderr with its own status."""
import tempfile

import pytest

from spms_mc.core.errors import IdentityError, LedgerError, MoneyOverflowError, ScenarioError
from spms_mc.ensemble.store import StoreError
from spms_mc.face import cli
from spms_mc.report import pages


def call(argv, capsys):
    """(exit status, stderr lines) of ``spms-mc ARGV``."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    return info.value.code, err.splitlines()


@pytest.fixture
def tmp_traceback_dir(tmp_path, monkeypatch):
    """The system temp folder, here: where traceback files go."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def fail_with(monkeypatch, exc):
    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(cli, "preset_names", boom)  # what `spms-mc scenarios` calls first


def test_success_returns_without_exiting(capsys):
    assert cli.main(["scenarios"]) is None
    assert "sumsy" in capsys.readouterr().out


@pytest.mark.parametrize("exc", [KeyError("boom"), ValueError("boom"), TypeError("boom")])
def test_an_internal_error_names_a_traceback_file(exc, monkeypatch, capsys, tmp_traceback_dir):
    """A bug - a ValueError included - is not bad input: status 70 and the traceback kept in a file."""
    fail_with(monkeypatch, exc)
    code, err = call(["scenarios"], capsys)
    assert code == cli.EXIT_INTERNAL == 70
    assert len(err) == 1 and err[0].startswith("internal error") and "boom" in err[0]
    assert "Traceback" not in err[0]
    files = list(tmp_traceback_dir.glob("spms-mc-traceback-*.txt"))
    assert len(files) == 1 and str(files[0]) in err[0]
    text = files[0].read_text()
    assert text.startswith("spms-mc scenarios\n")
    assert "Traceback (most recent call last)" in text and "in boom" in text
    assert f"{type(exc).__name__}: " in text and "boom" in text.splitlines()[-1]


def test_a_bug_in_report_is_not_bad_input(monkeypatch, capsys, tmp_traceback_dir, tmp_path):
    def bug(*args, **kwargs):
        return {}["money_stock"]

    monkeypatch.setattr(pages, "report", bug)
    code, err = call(["report", str(tmp_path / "s.zarr"), "--out", str(tmp_path / "o")], capsys)
    assert code == 70 and len(err) == 1 and "KeyError: 'money_stock'" in err[0]
    (tb,) = tmp_traceback_dir.glob("spms-mc-traceback-*.txt")
    assert "return {}[\"money_stock\"]" in tb.read_text()


def test_a_system_error_is_status_1_with_a_traceback_file(monkeypatch, capsys, tmp_traceback_dir):
    fail_with(monkeypatch, PermissionError(13, "Permission denied", "/somewhere/s.zarr"))
    code, err = call(["scenarios"], capsys)
    assert code == cli.EXIT_SYSTEM == 1
    assert len(err) == 1 and "Permission denied" in err[0] and "internal error" not in err[0]
    assert len(list(tmp_traceback_dir.glob("spms-mc-traceback-*.txt"))) == 1


@pytest.mark.parametrize("exc, status", [
    (ScenarioError("sumsy.demurrage = 2 is out of range; accepted: [0, 1)"), 2),
    (StoreError("x.zarr does not exist"), 2),
    (pages.ReportError("--lorenz-tick 7: not sampled"), 2),
    (LedgerError("money created without being booked at tick 3"), 3),
    (IdentityError("deposits = loans failed at tick 3"), 3),
    (MoneyOverflowError("money would exceed the int64 range at tick 3"), 4),
])
def test_input_and_model_errors_are_one_line_with_their_status(exc, status, monkeypatch, capsys,
                                                               tmp_traceback_dir):
    fail_with(monkeypatch, exc)
    code, err = call(["scenarios"], capsys)
    assert code == status
    assert err == [err[0]] and str(exc) in err[0] and "Traceback" not in err[0]
    assert not list(tmp_traceback_dir.glob("spms-mc-traceback-*.txt"))  # no bug: no traceback file


@pytest.mark.parametrize("argv, msg", [
    (["nope"], "No such command 'nope'"),
    (["run", "sumsy"], "Missing option '--out'"),
    (["run", "sumsy", "--out", "x.zarr", "--backend", "tpu"], "'tpu' is not one of 'cpu', 'cuda'"),
    (["report", "s.zarr", "--out", "o", "--lorenz-tick", "x"], "'x' is not a valid integer"),
])
def test_usage_errors_exit_2_in_one_line(argv, msg, capsys):
    code, err = call(argv, capsys)
    assert code == 2 and len(err) == 1 and msg in err[0] and "-h'" in err[0]


def test_interrupt_is_130(monkeypatch, capsys):
    fail_with(monkeypatch, KeyboardInterrupt())
    code, err = call(["scenarios"], capsys)
    assert code == 130 and err[-1] == "aborted"


def test_an_interrupted_run_says_how_to_resume(monkeypatch, capsys):
    from spms_mc.ensemble import fanout

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fanout, "run_ensemble_with_summary", interrupted)
    code, err = call(["run", "sumsy", "--out", "never.zarr", "--quiet"], capsys)
    assert code == 130 and err[-1].startswith("aborted; every finished member is kept") and "--resume" in err[-1]
