"""The native server on real sockets: TLS, IPv6, a given socket, limits, shutdown."""

from __future__ import annotations

import gc
import json
import os
import socket
import ssl
import struct
from functools import partial
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
import trio
import trustme
from trio_websocket import open_websocket_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fastrapi import FastrAPI, Request, WebSocket, WebSocketDisconnect
from fastrapi.server import _stream
from fastrapi.testing import open_live_server

from . import served_app

if TYPE_CHECKING:
    from fastrapi._types import ASGIApp, Message, Receive, Scope, Send
    from fastrapi.server._parser import ParserName

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


def upgrade_request(path: str) -> bytes:
    """A WebSocket opening handshake request, written by hand."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    ).encode()


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
            assert await http_get(server.host, server.port, tls) == b"HTTP/1.1 200 OK"


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
            assert await http_get(server.host, server.port, tls) == b"HTTP/1.1 200 OK"


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
            assert await http_get("::1", address.port) == b"HTTP/1.1 200 OK"
            nursery.cancel_scope.cancel()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        async with open_live_server(app, sock=sock) as server:
            assert server.port == sock.getsockname()[1]
            assert await http_get(server.host, server.port) == b"HTTP/1.1 200 OK"


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
            assert await http_get(server.host, server.port) == b"HTTP/1.1 200 OK"


class _Wrapping:
    """An ASGI middleware that wraps a WebSocket's ``send``: the session runs over the ASGI
    calls the native server makes for middleware, not its own transport."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def passing(message: Message) -> None:
            await send(message)

        await self.app(scope, receive, passing)


@pytest.mark.parametrize("wrapped", [False, True], ids=["plain", "wrapped-by-middleware"])
async def test_graceful_shutdown_closes_open_websockets_with_1001(wrapped: bool) -> None:
    app = FastrAPI()
    if wrapped:
        app.add_middleware(_Wrapping)
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
            await stalled.send_all(upgrade_request("/feed"))
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
        async for _ in ws.iter_text():  # until the client closes (trio-websocket leaks its
            pass  # socket when the server closes first)

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


async def test_a_tight_send_loop_still_lets_other_tasks_run() -> None:
    """A direct send right after a receive may skip its yield, but never two in a row."""
    app = FastrAPI(ping_interval=None)
    sends_before_other_ran: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        sent = 0

        async def other() -> None:
            sends_before_other_ran.append(sent)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)
            for _ in range(100):
                await ws.send_text("x")
                sent += 1
        async for _ in ws.iter_text():  # until the client closes, as above
            pass

    with trio.fail_after(10):
        async with (
            open_live_server(app) as server,
            open_websocket_url(server.url("/ws", scheme="ws")) as ws,
        ):
            await ws.send_message("go")
            for _ in range(100):
                assert await ws.get_message() == "x"
    # the first send after the receive skips its yield; the second yields, and `other` runs
    # then or, as Trio may order a batch either way, right after the third
    assert len(sends_before_other_ran) == 1
    assert sends_before_other_ran[0] <= 2


@pytest.mark.parametrize("written", [3, 0, None])
async def test_a_direct_write_the_socket_takes_only_in_part_is_finished_in_order(
    written: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``written`` bytes of the frame (``None``: the socket was full after all); the rest goes
    out through the locked, bounded write."""

    def write(fd: int, data: bytes) -> int:
        if written is None:
            raise BlockingIOError
        return os.write(fd, data[:written])

    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async for message in ws.iter_text():
            with monkeypatch.context() as patch:
                patch.setattr(_stream, "os", SimpleNamespace(write=write))
                await ws.send_text(message)
            await ws.send_text(message.upper())

    with trio.fail_after(10):
        async with (
            open_live_server(app) as server,
            open_websocket_url(server.url("/ws", scheme="ws")) as ws,
        ):
            for word in ("hello", "world"):
                await ws.send_message(word)
                assert [await ws.get_message(), await ws.get_message()] == [word, word.upper()]


async def test_a_direct_write_to_a_reset_connection_is_a_disconnect() -> None:
    app = FastrAPI(ping_interval=None, max_queue=0)  # the reader waits on the handler
    outcome: list[object] = []
    done = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()  # the second message keeps the reader off the socket
        await trio.sleep(0.2)  # meanwhile the client resets the connection
        try:
            await ws.send_text("anyone there?")
        except WebSocketDisconnect as exc:
            outcome.append(exc.code)
        done.set()

    with trio.fail_after(10):
        async with open_live_server(app) as server:
            sock = trio.socket.socket()
            await sock.connect((server.host, server.port))
            with sock:
                await sock.send(upgrade_request("/ws"))
                assert b" 101 " in await sock.recv(4096)
                one = b"\x81\x81\x00\x00\x00\x00a"  # a masked text frame "a" (zero mask)
                await sock.send(one + one)
                await trio.sleep(0.05)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # closed with SO_LINGER 0: a reset
            await done.wait()
    assert outcome == [1006]


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_many_clients_at_once_are_all_accepted_and_answered(http: ParserName) -> None:
    # more connections than one accept batch, all arriving together, each with a request
    # pipelined behind its connect: every one gets its answer, none is left behind
    async def client(port: int, answers: list[bytes]) -> None:
        answers.append(await http_get("127.0.0.1", port))

    answers: list[bytes] = []
    with trio.fail_after(20):
        async with open_live_server(echo_app(), http=http) as server, trio.open_nursery() as n:
            for _ in range(150):
                n.start_soon(client, server.port, answers)
    assert answers == [b"HTTP/1.1 200 OK"] * 150


async def test_a_handler_sees_both_ends_of_its_connection() -> None:
    # the client's address comes from accept(), ours from the listener: the same as the
    # socket's own names
    app = FastrAPI()

    @app.get("/ends")
    async def ends(request: Request) -> dict[str, object]:
        server = request.scope["server"]
        assert request.client is not None
        return {"client": [request.client.host, request.client.port], "server": list(server)}

    with trio.fail_after(10):
        async with open_live_server(app) as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                mine = stream.socket.getsockname()
                await stream.send_all(b"GET /ends HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := await stream.receive_some():
                    data += chunk
    assert json.loads(data.partition(b"\r\n\r\n")[2]) == {
        "client": [mine[0], mine[1]],
        "server": ["127.0.0.1", server.port],
    }


@pytest.mark.parametrize(
    ("before", "serving"),
    [((700, 10, 10), (7000, 10, 10)), ((50_000, 5, 5), (50_000, 5, 5)), ((0, 10, 10), (0, 10, 10))],
)
async def test_the_young_collection_threshold_is_raised_while_serving(
    before: tuple[int, int, int], serving: tuple[int, int, int]
) -> None:
    # a higher one, or collection turned off (0), is the app's choice: kept
    kept = gc.get_threshold()
    gc.set_threshold(*before)
    try:
        with trio.fail_after(10):
            async with open_live_server(echo_app()) as server:
                assert await http_get(server.host, server.port) == b"HTTP/1.1 200 OK"
                assert gc.get_threshold() == serving
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*kept)
