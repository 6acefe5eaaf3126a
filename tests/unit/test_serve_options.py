"""The options of app.serve(), checked before anything starts."""

from __future__ import annotations

from typing import Any

import pytest

from fastrapi import FastrAPI
from fastrapi.server import check_options
from fastrapi.server._codec import pick_codec
from fastrapi.server._config import ServerConfig, make_config
from fastrapi.server._parser import pick_parser


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"server": "uvicorn"}, "server must be 'native' or 'hypercorn'"),
        ({"server": "hypercorn", "max_connections": 5}, "has no option max_connections"),
        ({"server": "hypercorn", "ws": "websockets"}, "has no option ws"),
        ({"server": "hypercorn", "compression": False}, "has no option compression"),
        ({"server": "hypercorn", "send_timeout": 1}, "has no option send_timeout"),
        ({"server": "hypercorn", "http": "httptools"}, "has no option http"),
        ({"server": "hypercorn", "max_connections_per_ip": 2}, "no option max_connections_per"),
        ({"server": "hypercorn", "max_request_line": 99}, "has no option max_request_line"),
        ({"server": "hypercorn", "max_header_count": 9}, "has no option max_header_count"),
    ],
)
def test_check_options(options: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_options(options)
    with pytest.raises(ValueError, match=message):
        FastrAPI().serve(**options)  # checked before Trio even starts


def test_good_options_pass() -> None:
    check_options({"server": "hypercorn", "ws": "wsproto", "keep_alive_timeout": 3})
    check_options({"server": "hypercorn", "http": "h11"})
    check_options({"ws": "websockets", "max_connections": 10})


def test_codec_names() -> None:
    assert pick_codec("auto") == "websockets"
    assert pick_codec("wsproto") == "wsproto"
    with pytest.raises(ValueError, match="ws must be 'auto', 'wsproto' or 'websockets'"):
        pick_codec("ujson")  # type: ignore[arg-type]  # the point of the test


def test_websockets_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastrapi.server import _codec

    monkeypatch.setattr(_codec, "HAVE_WEBSOCKETS", False)
    monkeypatch.delitem(_codec._FACTORIES, "websockets")
    assert pick_codec("auto") == "wsproto"
    with pytest.raises(ValueError, match="needs the websockets package"):
        pick_codec("websockets")


def test_parser_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastrapi.server import _parser

    assert pick_parser("auto") == "httptools"
    assert pick_parser("h11") == "h11"
    with pytest.raises(ValueError, match="http must be 'auto', 'h11' or 'httptools'"):
        pick_parser("picohttp")  # type: ignore[arg-type]  # the point of the test
    monkeypatch.setattr(_parser, "HAVE_HTTPTOOLS", False)
    assert pick_parser("auto") == "h11"
    with pytest.raises(ValueError, match="needs the httptools package"):
        pick_parser("httptools")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"header_timeout": 0}, "header_timeout must be a positive number"),
        ({"send_timeout": -1}, "send_timeout must be a positive number"),
        ({"max_connections": 0}, "max_connections must be positive"),
        ({"max_header_size": 0}, "max_header_size must be positive"),
        ({"max_connections_per_ip": 0}, "max_connections_per_ip must be positive"),
        ({"max_request_line": 0}, "max_request_line must be positive"),
        ({"max_header_count": -1}, "max_header_count must be positive"),
    ],
)
def test_config_ranges(options: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ServerConfig(**options)


def test_tls_from_two_places_or_a_key_alone() -> None:
    import ssl

    context = ssl.create_default_context()
    with pytest.raises(ValueError, match="ssl_context or certfile/keyfile, not both"):
        make_config(
            ws="auto", compression=True, certfile="c.pem", keyfile=None, ssl_context=context
        )
    with pytest.raises(ValueError, match="keyfile needs certfile"):
        make_config(ws="auto", compression=True, certfile=None, keyfile="k.pem", ssl_context=None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shutdown_timout": 1}, "no option 'shutdown_timout'; did you mean 'shutdown_timeout'?"),
        ({"ping_intervall": 1}, "did you mean 'ping_interval'?"),
        ({"zzz": 1}, "no option 'zzz'; the options are "),
        ({"reload": True}, r"run `fastrapi run module:app --reload`"),
        ({"workers": 0}, "workers must be a positive integer, not 0"),
        ({"workers": 2, "server": "hypercorn"}, "workers needs the native server"),
        ({"ping_interval": -1}, "ping_interval must be a positive number"),
    ],
)
def test_unknown_or_bad_options_are_refused_before_anything_starts(
    options: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FastrAPI().serve(**options)


def test_workers_and_sock_exclude_each_other() -> None:
    import socket

    with socket.socket() as sock, pytest.raises(ValueError, match="workers or sock"):
        FastrAPI().serve(workers=2, sock=sock)


def test_every_websocket_option_is_a_serve_option() -> None:
    from fastrapi import WebSocketOptions
    from fastrapi.server import OPTION_NAMES

    assert WebSocketOptions.__optional_keys__ <= OPTION_NAMES
    check_options({"ping_interval": 0.5, "max_queue": 4, "workers": 1, "reload": False})


def test_listen_error_is_one_line() -> None:
    import errno

    from fastrapi import ListenError

    error = ListenError(errno.EADDRINUSE, "Address already in use", "::1", 8000)
    assert isinstance(error, OSError)
    assert error.errno == errno.EADDRINUSE
    assert str(error) == "cannot listen on [::1]:8000: address already in use"


def test_workers_without_reuseport_serve_one_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import trio

    from fastrapi.server import _workers

    ran: list[Any] = []
    monkeypatch.setattr(_workers, "HAVE_REUSEPORT", False)
    monkeypatch.setattr(trio, "run", ran.append)
    FastrAPI().serve("127.0.0.1", 0, workers=3, shutdown_timeout=1)
    assert "SO_REUSEPORT is missing on this platform: serving with one process" in caplog.text
    (call,) = ran
    assert call.args[3] == {"shutdown_timeout": 1}  # one ordinary server, no workers option


def test_restart_delay_none_after_a_stable_life_then_doubles_up_to_its_bound() -> None:
    from fastrapi.server._workers import MAX_RESTART_DELAY, restart_delay

    # 0 quick deaths: it had served stably, and is started again at once; a crash loop backs off
    assert [restart_delay(n) for n in (0, 1, 2, 3, 4)] == [0.0, 0.5, 1.0, 2.0, 4.0]
    assert restart_delay(50) == MAX_RESTART_DELAY == 10.0


def test_a_worker_that_served_stably_is_restarted_at_once_and_a_crash_loop_backs_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import os
    import socket
    import time

    from fastrapi.server._workers import STABLE_AFTER, _Supervisor

    supervisor = _Supervisor(FastrAPI(), socket.AF_INET, "127.0.0.1", 0, {}, 1)
    (worker,) = supervisor.workers
    supervisor.ever_ready = True  # (else a death before serving stops everything)
    try:
        # it serves for longer than STABLE_AFTER, then each replacement dies at once
        for n, served in enumerate([STABLE_AFTER + 1, 0, 0, 0, STABLE_AFTER + 1]):
            worker.pid, worker.ready, worker.started = 1000 + n, True, time.monotonic() - served
            supervisor._exited(worker, -9)
    finally:
        os.close(supervisor.lifeline_r)
        os.close(supervisor.lifeline_w)
    assert [record.getMessage().split("; ")[1] for record in caplog.records] == [
        "restarting it now",
        "restarting it in 0.5s",
        "restarting it in 1.0s",
        "restarting it in 2.0s",
        "restarting it now",  # it served stably again: the count starts over
    ]
