"""Every in-memory test runs on the native server twice, with its fast stack (what ``"auto"``
picks: the ``websockets`` codec and the httptools parser) and with its references (wsproto and
h11, what ``"auto"`` picks where neither is installed), and those that connect through the
``connect`` or ``http`` fixture run on Hypercorn too: one app, the same behaviour everywhere.

Tests that need what only the native server has (memory streams under ``autojump_clock``,
lockstep backpressure, protocol pings, raw HTTP) call :func:`fastrapi.testing.open_websocket`
directly and run on the native server with each codec.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import TypeAlias

import pytest

from fastrapi.server import ServerName, _codec, _parser
from fastrapi.testing import TestResponse, WebSocketTestSession, http_request, open_websocket

Connect: TypeAlias = Callable[..., AbstractAsyncContextManager[WebSocketTestSession]]
""":func:`fastrapi.testing.open_websocket` bound to the server under test."""
HTTP: TypeAlias = Callable[..., Awaitable[TestResponse]]
""":func:`fastrapi.testing.http_request` bound to the server under test."""

_CODECS = ["native-websockets", "native-wsproto"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both_servers = {"connect", "http"} & set(metafunc.fixturenames)
    metafunc.parametrize("target", _CODECS + ["hypercorn"] * bool(both_servers), indirect=True)


@pytest.fixture(autouse=True)
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``native-websockets`` (with httptools), ``native-wsproto`` (with h11: what ``"auto"``
    picks where websockets and httptools are missing) or ``hypercorn``."""
    if request.param == "native-wsproto":
        monkeypatch.setattr(_codec, "HAVE_WEBSOCKETS", False)
        monkeypatch.setattr(_parser, "HAVE_HTTPTOOLS", False)
    name: str = request.param
    return name


@pytest.fixture
def connect(target: str) -> Connect:
    return partial(open_websocket, server=_server(target))


@pytest.fixture
def http(target: str) -> HTTP:
    return partial(http_request, server=_server(target))


def _server(target: str) -> ServerName:
    return "hypercorn" if target == "hypercorn" else "native"
