"""The command line's own errors, in-process (tests/integration/test_workers.py runs it)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import pytest

from fastrapi import FastrAPI, cli

if TYPE_CHECKING:
    from pathlib import Path


def fails_with(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main(list(argv))
    assert exited.value.code == 1
    err: str = capsys.readouterr().err
    assert err.count("\n") == 1
    return err


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("broken_app", "importing_app"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_an_app_whose_import_fails(module_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (module_dir / "broken_app.py").write_text("1 / 0\n")
    err = fails_with(capsys, "run", "broken_app:app")
    assert "importing 'broken_app' failed: ZeroDivisionError('division by zero')" in err
    assert "python -c 'import broken_app' shows the traceback" in err


def test_a_module_missing_inside_the_app_is_not_the_app_missing(
    module_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (module_dir / "importing_app.py").write_text("import no_such_dependency\n")
    err = fails_with(capsys, "run", "importing_app:app")
    assert "importing 'importing_app' failed: ModuleNotFoundError" in err


def test_a_missing_package_of_a_dotted_module(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "nowhere.deeper:app")
    assert err == "fastrapi: cannot import 'nowhere.deeper': no module named 'nowhere'\n"


def test_bad_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "x:app", "--log-level", "loud")
    assert "--log-level must be debug, info, warning, error or off, not 'loud'" in err


def test_log_level_off(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        fails_with(capsys, "run", "nowhere:app", "--log-level", "off")
        assert logging.root.manager.disable == logging.CRITICAL
    finally:
        logging.disable(logging.NOTSET)


def test_reload_with_workers_checks_the_app_first(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("watchfiles")  # in the test group; the extra `reload`
    err = fails_with(capsys, "run", "nowhere:app", "--reload", "--workers", "2")
    assert err == "fastrapi: cannot import 'nowhere': no module named 'nowhere'\n"


def test_reload_without_watchfiles(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "watchfiles", None)
    err = fails_with(capsys, "run", "x:app", "--reload")
    assert "--reload needs watchfiles: pip install 'fastrapi-trio[reload]'" in err


def test_an_option_out_of_range_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "tests.integration.served_app:app", "--ping-interval", "-1")
    assert err == "fastrapi: ping_interval must be a positive number of seconds, not -1.0\n"


def test_flags_are_serve_options() -> None:
    args = cli._parser().parse_args(
        [
            "run",
            "m:app",
            "--workers",
            "3",
            "--ws",
            "wsproto",
            "--no-compression",
            "--max-queue",
            "4",
        ]
    )
    assert cli._options(args) == {
        "workers": 3,
        "ws": "wsproto",
        "max_queue": 4,
        "compression": False,
    }


def test_an_option_prefix_is_not_taken_for_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "m:app", "--worker", "2")
    assert err == "fastrapi: run has no option '--worker'; did you mean '--workers'?\n"


def test_an_unknown_option_names_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "m:app", "--ping-intervall=3")
    assert (
        err == "fastrapi: run has no option '--ping-intervall'; did you mean '--ping-interval'?\n"
    )


def test_an_option_like_no_other_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "m:app", "--zzzzzzzz")
    assert err.startswith("fastrapi: run has no option '--zzzzzzzz'; the options are ")
    assert "--workers" in err


def test_a_stray_argument_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = fails_with(capsys, "run", "m:app", "other:app")
    assert err == "fastrapi: unexpected argument 'other:app'\n"


def test_the_help_names_an_example_that_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "(examples.chat_hub:app)" in out
    assert isinstance(cli.load_app("examples.chat_hub:app"), FastrAPI)


def test_message_rate_flags(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli._parser().parse_args(
        ["run", "m:app", "--max-message-rate", "20", "--message-rate-policy", "close"]
    )
    assert cli._options(args) == {"max_message_rate": 20.0, "message_rate_policy": "close"}
    err = fails_with(
        capsys, "run", "tests.integration.served_app:app", "--message-rate-policy", "drop"
    )
    assert err == "fastrapi: message_rate_policy must be 'throttle' or 'close', not 'drop'\n"
