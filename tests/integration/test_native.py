"""The native server on real sockets: TLS, IPv6, a given socket, limits, shutdown."""

from __future__ import annotations

import socket
import ssl
from functools import partial

import pytest
import trio
import trustme
from trio_websocket import open_websocket_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect
from fastrapi.testing import open_live_server

from . import served_app

pytestmark = pytest.mark.integration


def echo_app() -> FastrAPI:
    return served_app.app


async def http_get(host: str, port: int, stream: trio.abc.Stream | None = None) -> bytes:
    """The first line of the response to ``GET /`` (on ``stream``, or a new connection)."""
    if stream is None:
        stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some():
            data += chunk
    return data.split(b"\r\n", 1)[0]


async def test_tls_with_a_throwaway_certificate() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with trio.fail_after(10):
        async with open_live_server(echo_app(), ssl_context=server_context) as server:
            url = server.url("/ws", scheme="wss")
            async with open_websocket_url(url, ssl_context=client_context) as ws:
                await ws.send_message("secret")
                assert await ws.get_message() == "secret"
            tcp = await trio.open_tcp_stream(server.host, server.port)
            tls = trio.SSLStream(
                tcp, client_context, server_hostname="127.0.0.1", https_compatible=True
            )
            assert await http_get(server.host, server.port, tls) == b"HTTP/1.1 200 "


async def test_tls_from_files(tmp_path: pytest.TempPathFactory) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    pem = tmp_path / "server.pem"  # type: ignore[operator]  # tmp_path is a Path
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with trio.fail_after(10):
        async with open_live_server(echo_app(), certfile=str(pem)) as server:
            tcp = await trio.open_tcp_stream(server.host, server.port)
            tls = trio.SSLStream(
                tcp, client_context, server_hostname="127.0.0.1", https_compatible=True
            )
            assert await http_get(server.host, server.port, tls) == b"HTTP/1.1 200 "


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_ipv6_and_a_given_socket() -> None:
    assert ipv6_loopback(), "this machine has no IPv6 loopback"
    app = echo_app()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(app.serve, "::1", 0)
            assert address.host == "::1"
            assert await http_get("::1", address.port) == b"HTTP/1.1 200 "
            nursery.cancel_scope.cancel()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        async with open_live_server(app, sock=sock) as server:
            assert server.port == sock.getsockname()[1]
            assert await http_get(server.host, server.port) == b"HTTP/1.1 200 "


async def test_connections_over_the_limit_get_503() -> None:
    with trio.fail_after(10):
        async with open_live_server(echo_app(), max_connections=1) as server:
            async with open_websocket_url(server.url("/ws", scheme="ws")) as ws:
                assert (
                    await http_get(server.host, server.port) == b"HTTP/1.1 503 Service Unavailable"
                )
                await ws.send_message("the first one is served")
                assert await ws.get_message() == "the first one is served"
            await trio.sleep(0.1)  # the server sees the first one go
            assert await http_get(server.host, server.port) == b"HTTP/1.1 200 "


async def test_graceful_shutdown_closes_open_websockets_with_1001() -> None:
    app = FastrAPI()
    handler_saw: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive()
        except WebSocketDisconnect as exc:
            handler_saw.append(exc.code)
            await ws.send_text("never sent: the server is closing")  # raises again

    stop = trio.Event()

    def client(url: str, token: trio.lowlevel.TrioToken) -> tuple[int | None, str | None]:
        with connect(url) as ws:
            trio.from_thread.run_sync(stop.set, trio_token=token)
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            return ws.close_code, ws.close_reason

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(
                partial(app.serve, "127.0.0.1", 0, shutdown_trigger=stop.wait)
            )
            # (the websockets client: trio-websocket 0.12.2 leaks its socket when the server
            # closes first)
            closed = await trio.to_thread.run_sync(
                client, address.url("/ws", scheme="ws"), trio.lowlevel.current_trio_token()
            )
    assert closed == (1001, "server shutting down")
    assert handler_saw == [1001]


async def test_a_stalled_client_does_not_delay_the_others() -> None:
    app = FastrAPI(ping_interval=None)
    clients: list[WebSocket] = []

    @app.websocket("/feed")
    async def feed(ws: WebSocket) -> None:
        await ws.accept()
        clients.append(ws)
        async for _ in ws.iter_text():
            for client in list(clients):  # a slow-consumer policy of its own: skip the stuck
                with trio.move_on_after(0.05):
                    await client.send_text("tick" * 4096)

    with trio.fail_after(20):
        async with open_live_server(app, send_timeout=2) as server:
            stalled = await trio.open_tcp_stream(server.host, server.port)  # reads nothing
            await stalled.send_all(
                b"GET /feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            )
            async with open_websocket_url(server.url("/feed", scheme="ws")) as ws:
                for _ in range(50):
                    start = trio.current_time()
                    await ws.send_message("go")
                    assert await ws.get_message() == "tick" * 4096
                    assert trio.current_time() - start < 1, "delayed by the stalled client"
            await stalled.aclose()


async def test_hypercorn_refuses_native_only_options() -> None:
    with trio.fail_after(5), pytest.raises(ValueError, match="has no option max_connections"):
        async with open_live_server(echo_app(), server="hypercorn", max_connections=3):
            pytest.fail("must not start")  # pragma: no cover


async def test_direct_writes_keep_order_and_a_cancelled_send_sends_nothing() -> None:
    """Sends write straight to the socket when the writer is idle; order and cancel hold."""
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with trio.CancelScope() as scope:
            scope.cancel()
            await ws.send_text("never")  # cancelled before it starts: nothing is sent

        async def count(name: str) -> None:
            for i in range(200):
                await ws.send_text(f"{name}{i}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(count, "a")
            nursery.start_soon(count, "b")
        await ws.send_text("done")

    got = []
    with trio.fail_after(10):
        async with open_live_server(app) as server:
            url = server.url("/ws", scheme="ws")
            async with open_websocket_url(url) as ws:
                while (message := await ws.get_message()) != "done":
                    got.append(message)
    assert "never" not in got
    for name in "ab":
        assert [m for m in got if m[0] == name] == [f"{name}{i}" for i in range(200)]
