"""``max_connections`` and ``max_connections_per_ip`` on real sockets, with clients we did not
write (``websockets``, httpx) and raw ones."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from fastrapi import FastrAPI, PlainTextResponse, WebSocket
from fastrapi.server import _limits
from fastrapi.server._limits import client_key
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from websockets.http11 import Response

    from fastrapi.server._parser import ParserName

pytestmark = pytest.mark.integration


def capped_app(**caps: int) -> tuple[FastrAPI, list[str]]:
    """An echo app with ``caps``, and the list of what its handlers were called for."""
    app = FastrAPI(metrics_path="/metrics", **caps)  # type: ignore[arg-type]  # the two caps
    calls: list[str] = []

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        calls.append("ws")
        await ws.accept()
        async for text in ws.iter_text():
            await ws.send_text(text)

    @app.get("/", response_class=PlainTextResponse)
    async def index() -> str:
        calls.append("get")
        return "ok"

    return app, calls


async def raw_response(
    host: str, port: int, request: bytes, source: str | None = None
) -> tuple[bytes, bytes]:
    """The response head and body to ``request`` on a new connection (from ``source``), read
    until the server closes."""
    stream = await trio.open_tcp_stream(host, port, local_address=source)
    async with stream:
        await stream.send_all(request)
        data = b""
        while chunk := await stream.receive_some():
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


GET = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def refused_handshake(url: str) -> Response:
    """The response of ``websockets``' client to a handshake the server refuses."""

    def handshake() -> Response:
        with pytest.raises(InvalidStatus) as refused, connect(url, open_timeout=5):
            pass
        return refused.value.response

    return await trio.to_thread.run_sync(handshake)


async def test_past_max_connections_a_handshake_and_a_request_get_503() -> None:
    app, calls = capped_app(max_connections=1)
    with trio.fail_after(10):
        async with open_live_server(app) as server:
            async with open_websocket_url(server.url("/ws", scheme="ws")) as held:
                response = await refused_handshake(server.url("/ws", scheme="ws"))
                assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
                assert b"too many open connections" in response.body
                async with httpx.AsyncClient() as client:
                    answer = await client.get(server.url("/"))
                assert (answer.status_code, answer.headers["retry-after"]) == (503, "1")
                assert answer.json() == {"detail": "too many open connections"}
                await held.send_message("still served")
                assert await held.get_message() == "still served"
            assert calls == ["ws"]  # no handler ran for the refused ones
            stats = app.statistics()
            assert (stats.connections_refused, stats.connections_refused_per_ip) == (2, 0)
            await trio.sleep(0.1)  # the server sees the held one go
            head, body = await raw_response(
                server.host, server.port, GET.replace(b"/", b"/metrics", 1)
            )
            assert head.startswith(b"HTTP/1.1 200")
            assert b'fastrapi_connections_refused_total{status="503"} 2.0' in body


async def test_past_max_connections_per_ip_one_address_gets_429_others_are_served() -> None:
    app, calls = capped_app(max_connections_per_ip=1)
    with trio.fail_after(10):
        async with open_live_server(app) as server:
            held = await trio.open_tcp_stream(server.host, server.port, local_address="127.0.0.1")
            async with held:
                await held.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive
                assert (await held.receive_some()).startswith(b"HTTP/1.1 200")
                head, body = await raw_response(server.host, server.port, GET, "127.0.0.1")
                assert head.split(b"\r\n")[0] == b"HTTP/1.1 429 Too Many Requests"
                assert b"\r\nretry-after: 1\r\n" in head
                assert body == b'{"detail":"too many open connections from your address"}'
                other, _ = await raw_response(server.host, server.port, GET, "127.0.0.2")
                assert other.startswith(b"HTTP/1.1 200")
                response = await refused_handshake(server.url("/ws", scheme="ws"))
                assert (response.status_code, response.headers["Retry-After"]) == (429, "1")
            stats = app.statistics()
            assert (stats.connections_refused, stats.connections_refused_per_ip) == (0, 2)
    assert calls == ["get", "get"]


async def test_a_refusal_is_bounded_in_time_and_in_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_limits, "MAX_REFUSING", 1)
    app, calls = capped_app(max_connections=1)
    with trio.fail_after(10):
        async with (
            open_live_server(app) as server,
            open_websocket_url(server.url("/ws", scheme="ws")),
        ):
            # a refused client that sends nothing holds the one refusal slot...
            silent = await trio.open_tcp_stream(server.host, server.port)
            async with silent:
                await trio.sleep(0.1)  # (accepted and counted)
                # ...so the next one is closed at once, unanswered
                unanswered = await trio.open_tcp_stream(server.host, server.port)
                async with unanswered:
                    assert await unanswered.receive_some() == b""
                # and the silent one is closed within the refusal's time, unanswered
                assert await silent.receive_some() == b""
            # a refused client that sends its request gets its answer, then the close
            lingering = await trio.open_tcp_stream(server.host, server.port)
            async with lingering:
                await lingering.send_all(GET)
                answer = b""
                while chunk := await lingering.receive_some():
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert calls == ["ws"]
    assert app.statistics().connections_refused == 3


def test_caps_are_checked_when_the_app_is_made() -> None:
    with pytest.raises(ValueError, match="max_connections must be a positive integer"):
        FastrAPI(max_connections=0)
    with pytest.raises(ValueError, match="max_connections_per_ip must be a positive integer"):
        FastrAPI(max_connections_per_ip=-1)


async def test_hypercorn_refuses_the_app_caps_it_cannot_enforce() -> None:
    app, _ = capped_app(max_connections=5)
    with trio.fail_after(5), pytest.RaisesGroup(pytest.RaisesExc(ValueError, match="native")):
        async with open_live_server(app, server="hypercorn"):
            pass


def test_clients_are_counted_per_ipv4_address_and_per_ipv6_64() -> None:
    assert client_key("10.0.0.1") != client_key("10.0.0.2")
    assert client_key("2001:db8::1") == client_key("2001:db8:0:0:ffff::2")
    assert client_key("2001:db8::1") != client_key("2001:db8:0:1::1")
    assert client_key("fe80::1%eth0") == client_key("fe80::2%eth0")


# -- request heads, on both parsers ------------------------------------------------------------

PARSERS: list[ParserName] = ["httptools", "h11"]


@pytest.fixture(params=PARSERS)
def http(request: pytest.FixtureRequest) -> ParserName:
    """The HTTP parser the server runs with."""
    name: ParserName = request.param
    return name


def line_of(length: int) -> bytes:
    """A ``GET`` request line of ``length`` bytes (CRLF not counted)."""
    path = b"/" + b"a" * (length - len(b"GET / HTTP/1.1"))
    return b"GET %s HTTP/1.1" % path


async def test_a_request_line_past_max_request_line_is_414(http: ParserName) -> None:
    app, calls = capped_app()
    with trio.fail_after(10):
        async with open_live_server(app, http=http, max_request_line=1000) as server:
            at_limit = line_of(1000) + b"\r\nHost: x\r\nConnection: close\r\n\r\n"
            head, _ = await raw_response(server.host, server.port, at_limit)
            assert head.startswith(b"HTTP/1.1 404 Not Found\r\n")  # read, routed, not found
            over = line_of(1001) + b"\r\nHost: x\r\n\r\n"
            head, body = await raw_response(server.host, server.port, over)
            assert head.startswith(b"HTTP/1.1 414 ")
            assert body == b'{"detail":"request line over 1000 bytes"}'
            # one that never ends is refused as soon as it is too long, not at the timeout
            endless = await trio.open_tcp_stream(server.host, server.port)
            async with endless:
                await endless.send_all(line_of(1001))
                assert (await endless.receive_some()).startswith(b"HTTP/1.1 414 ")
    assert calls == []


async def test_past_max_header_count_is_431(http: ParserName) -> None:
    app, calls = capped_app()
    with trio.fail_after(10):
        async with open_live_server(app, http=http, max_header_count=20) as server:

            def request(count: int) -> bytes:
                fields = b"".join(b"X-%d: v\r\n" % i for i in range(count - 2))
                return b"GET / HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % fields

            head, _ = await raw_response(server.host, server.port, request(20))
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            head, body = await raw_response(server.host, server.port, request(21))
            assert head.startswith(b"HTTP/1.1 431 ")
            assert body == b'{"detail":"more than 20 request header fields"}'
    assert calls == ["get"]


async def test_past_max_header_size_is_431(http: ParserName) -> None:
    app, calls = capped_app()
    with trio.fail_after(10):
        async with open_live_server(app, http=http, max_header_size=2000) as server:
            big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % (b"v" * 2000)
            head, _ = await raw_response(server.host, server.port, big)
            assert head.startswith(b"HTTP/1.1 431 ")
    assert calls == []


def _peek(sock: trio.socket.SocketType) -> bytes | None:
    """What the server sent on ``sock`` so far (``b""``: it closed), or ``None`` while it sent
    nothing; without waiting."""
    with socket.fromfd(sock.fileno(), sock.family, sock.type) as twin:  # (a dup: sync calls)
        try:
            return twin.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return None


async def test_slowloris_clients_are_dropped_by_the_header_timeout_and_delay_no_one(
    http: ParserName,
) -> None:
    """Raw sockets sending a request head a byte at a time (each byte in time, the head never
    whole) beside a good client: the good one is served while they are connected; each gets a
    408 at ``header_timeout`` from its first byte, and is closed."""
    app, calls = capped_app()
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 1000
    with trio.fail_after(20):
        async with open_live_server(app, http=http, header_timeout=4) as server:
            slow = []
            for _ in range(5):
                sock = trio.socket.socket()
                await sock.connect((server.host, server.port))
                slow.append(sock)

            async def drip(sock: trio.socket.SocketType) -> None:
                for byte in request:
                    try:
                        await sock.send(bytes([byte]))
                    except OSError:
                        return  # dropped
                    await trio.sleep(0.2)

            async with trio.open_nursery() as nursery:
                for sock in slow:
                    nursery.start_soon(drip, sock)
                await trio.sleep(0.3)  # each has sent some bytes
                async with httpx.AsyncClient() as client:
                    for _ in range(5):
                        assert (await client.get(server.url("/"))).text == "ok"
                async with open_websocket_url(server.url("/ws", scheme="ws")) as ws:
                    await ws.send_message("served")
                    assert await ws.get_message() == "served"
                # the good client was served while every slow one still waited
                assert [_peek(sock) for sock in slow] == [None] * 5
                for sock in slow:
                    answer = b""
                    while chunk := await sock.recv(4096):
                        answer += chunk
                    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
                    assert answer.endswith(b'{"detail":"request head not received in time"}')
                    sock.close()
    assert calls == ["get"] * 5 + ["ws"]


async def test_a_client_that_sends_nothing_is_closed_without_an_answer(http: ParserName) -> None:
    app, _ = capped_app()
    with trio.fail_after(10):
        async with open_live_server(app, http=http, header_timeout=0.5) as server:
            silent = await trio.open_tcp_stream(server.host, server.port)
            async with silent:
                assert await silent.receive_some() == b""


async def test_an_idle_keep_alive_connection_is_closed_after_keep_alive_timeout(
    http: ParserName,
) -> None:
    app, calls = capped_app()
    with trio.fail_after(10):
        async with open_live_server(
            app, http=http, keep_alive_timeout=0.5, header_timeout=5
        ) as server:
            stream = await trio.open_tcp_stream(server.host, server.port)
            async with stream:
                await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while chunk := await stream.receive_some():
                    data += chunk  # one response, then the close: no 408
            assert data.startswith(b"HTTP/1.1 200 OK\r\n")
            assert data.endswith(b"\r\n\r\nok")
    assert calls == ["get"]
