"""Options of app.serve() that only a running server shows: route defaults, a port in use."""

from __future__ import annotations

import errno
import gc
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from fastrapi import FastrAPI, ListenError, WebSocket
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastrapi.server import ServerName

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]


def idle_app() -> FastrAPI:
    app = FastrAPI()

    @app.websocket("/default")
    async def default(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()

    @app.websocket("/own", idle_timeout=60)
    async def own(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("open")
        await ws.receive_text()

    return app


async def test_serve_websocket_options_are_defaults_of_routes_without_their_own() -> None:
    # (native only: over Hypercorn, trio-websocket leaves its socket unclosed after the server's
    # idle close, a ResourceWarning of the client's, not of the server's)
    with trio.fail_after(10):
        async with open_live_server(idle_app(), idle_timeout=0.2) as address:
            url = f"ws://127.0.0.1:{address.port}"
            async with open_websocket_url(url + "/own") as own:
                assert await own.get_message() == "open"
                async with open_websocket_url(url + "/default") as client:
                    with pytest.raises(ConnectionClosed) as closed:
                        await client.get_message()  # the serve() idle_timeout ends it
                    reason = closed.value.reason
                    assert reason is not None
                    assert (reason.code, reason.reason) == (1001, "idle timeout")
                await own.send_message("still open")  # the route's own 60 s held


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# Hypercorn 0.18 leaves the socket it failed to bind unclosed (Config.create_sockets): its
# ResourceWarning, collected here so that it is not blamed on a later test
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_port_in_use_inside_trio_raises_listen_error(
    server_name: ServerName, busy_port: int
) -> None:
    with trio.fail_after(10), pytest.raises(ListenError) as raised:
        await FastrAPI().serve("127.0.0.1", busy_port, server=server_name)
    assert raised.value.errno == errno.EADDRINUSE
    assert str(raised.value) == f"cannot listen on 127.0.0.1:{busy_port}: address already in use"
    del raised  # its traceback holds Hypercorn's socket
    gc.collect()


async def test_port_in_use_from_plain_python_is_one_line_and_status_1(busy_port: int) -> None:
    code = f"from tests.integration.served_app import app; app.serve('127.0.0.1', {busy_port})"
    with trio.fail_after(30):
        result = await trio.run_process(
            [sys.executable, "-c", code], cwd=ROOT, check=False, capture_stderr=True
        )
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"fastrapi: cannot listen on 127.0.0.1:{busy_port}: address already in use\n"
    )


async def test_workers_inside_trio_are_refused() -> None:
    with trio.fail_after(5), pytest.raises(ValueError, match="not inside Trio"):
        await FastrAPI().serve("127.0.0.1", 0, workers=2)
