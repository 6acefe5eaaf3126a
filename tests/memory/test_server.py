"""The native server's HTTP/1.1 side and its limits, in memory, in raw bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from fastrapi import FastrAPI, PlainTextResponse, Request, Response, WebSocket
from fastrapi.testing import _serving

if TYPE_CHECKING:
    from fastrapi._types import Receive, Scope, Send

KEY = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="


def upgrade(
    *lines: bytes, method: bytes = b"GET", version: bytes = b"1.1", connection: bytes = b"Upgrade"
) -> bytes:
    """A WebSocket upgrade request with ``lines`` as extra headers."""
    head = [method + b" /ws HTTP/" + version, b"Host: x", b"Upgrade: websocket"]
    head.append(b"Connection: " + connection)
    return b"\r\n".join([*head, *lines]) + b"\r\n\r\n"


def make_app() -> FastrAPI:
    app = FastrAPI(max_body_size=100)

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        return Response(await request.body())

    @app.get("/hello", response_class=PlainTextResponse)
    async def hello() -> str:
        return "hi"

    @app.websocket("/ws")
    async def ws(ws: WebSocket) -> None:
        await ws.accept()

    return app


async def read_response(stream: trio.abc.Stream, data: bytes = b"") -> tuple[bytes, bytes, bytes]:
    """One response with a Content-Length: its head, body, and what followed."""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some()
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(rest) < length:
        rest += await stream.receive_some()
    return head, rest[:length], rest[length:]


async def closed(stream: trio.abc.Stream) -> bool:
    """Whether the server closed the connection (reading what is left)."""
    while chunk := await stream.receive_some():
        del chunk
    return True


async def test_keep_alive_pipelining_and_idle_close(autojump_clock: trio.testing.MockClock) -> None:
    get = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    with trio.fail_after(30):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(get + get)  # pipelined
            head1, body1, rest = await read_response(stream)
            head2, body2, rest = await read_response(stream, rest)
            assert (head1[:12], body1, head2[:12], body2) == (
                b"HTTP/1.1 200",
                b"hi",
                b"HTTP/1.1 200",
                b"hi",
            )
            start = trio.current_time()
            assert await closed(stream)
            assert trio.current_time() - start == 5  # keep_alive_timeout


async def test_half_a_request_head_is_dropped(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(30):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            start = trio.current_time()
            assert await closed(stream)
            assert trio.current_time() - start == 10  # header_timeout


async def test_a_stalled_body_is_dropped(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(30):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
            )
            assert await closed(stream)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + b"x" * 101, b"413"),
        (b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 20000 + b"\r\n\r\n", b"431"),
        (b"GARBAGE\r\n\r\n", b"400"),
        (upgrade(b"Sec-WebSocket-Version: 13"), b"400"),
        (upgrade(b"Sec-WebSocket-Version: 8", KEY), b"426"),
        (upgrade(b"Sec-WebSocket-Version: 13", KEY, b"Content-Length: 0", method=b"POST"), b"405"),
        (upgrade(b"Sec-WebSocket-Version: 13", KEY, connection=b"keep-alive"), b"400"),
        (upgrade(b"Sec-WebSocket-Version: 13", KEY, version=b"1.0"), b"400"),
        (upgrade(b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Key: c2hvcnQ="), b"400"),
    ],
    ids=[
        "length",
        "header",
        "garbage",
        "no-key",
        "v8",
        "post",
        "no-upgrade",
        "http10",
        "short-key",
    ],
)
async def test_bad_requests_get_an_error_status_and_a_close(
    request_bytes: bytes, status: bytes
) -> None:
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(request_bytes)
            head, _, _ = await read_response(stream)
            assert head.split(b" ")[1] == status
            assert await closed(stream)


async def test_chunked_body_within_the_limit() -> None:
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(request)
            head, body, _ = await read_response(stream)
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"abcde"


async def test_chunked_body_over_the_limit_is_413_and_the_connection_goes_on() -> None:
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"40\r\n"
        + b"x" * 64
        + b"\r\n40\r\n"
        + b"x" * 64
        + b"\r\n0\r\n\r\n"
    )
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(request + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            head, body, rest = await read_response(stream)
            assert head.startswith(b"HTTP/1.1 413")
            assert b"request body over 100 bytes" in body
            head, body, _ = await read_response(stream, rest)
            assert (head[:12], body) == (b"HTTP/1.1 200", b"hi")


async def test_a_client_gone_before_the_accept_is_a_disconnect_in_the_handler() -> None:
    app = FastrAPI()
    seen: list[BaseException] = []
    errors: list[Exception] = []
    client_gone, handled = trio.Event(), trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await client_gone.wait()
        try:
            await ws.accept()
        except Exception as exc:
            seen.append(exc)
        handled.set()

    with trio.fail_after(5):
        async with _serving(app, "native", errors) as stream:
            await stream.send_all(upgrade(b"Sec-WebSocket-Version: 13", KEY))
            await stream.aclose()
            client_gone.set()
            await handled.wait()
    assert [type(e).__name__ for e in seen] == ["WebSocketDisconnect"]
    assert errors == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ],
    ids=["length-and-chunked", "two-lengths", "obs-fold", "bad-chunk-size", "negative-length"],
)
async def test_request_smuggling_is_refused_with_400_and_a_close(request_bytes: bytes) -> None:
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(request_bytes + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _, rest = await read_response(stream)
            assert head.split(b" ")[1] == b"400"
            assert b"connection: close" in head.lower()
            assert await closed(stream)
            assert b"HTTP/1.1 200" not in rest


async def test_expect_100_continue_is_answered_before_the_body() -> None:
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            interim = b""
            while b"\r\n\r\n" not in interim:
                interim += await stream.receive_some()
            assert interim.startswith(b"HTTP/1.1 100 ")
            await stream.send_all(b"hello")
            head, body, _ = await read_response(stream, interim.partition(b"\r\n\r\n")[2])
    assert (head[:12], body) == (b"HTTP/1.1 200", b"hello")


async def test_a_refused_expect_100_continue_closes_instead_of_waiting_for_the_body() -> None:
    app = make_app()

    @app.post("/refuse")
    async def refuse() -> Response:
        return Response(b"no", 401)

    with trio.fail_after(5):
        async with _serving(app, "native", []) as stream:
            await stream.send_all(
                b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            head, body, _ = await read_response(stream)
            assert (head[:12], body) == (b"HTTP/1.1 401", b"no")
            assert await closed(stream)


async def test_head_has_the_length_but_no_body_and_the_connection_goes_on() -> None:
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(
                b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            data = b""
            while data.count(b"\r\n\r\n") < 2 or not data.endswith(b"hi"):
                data += await stream.receive_some()
    first, second = data.split(b"HTTP/1.1 200")[1:]
    assert b"content-length: 2" in first.lower()
    assert first.endswith(b"\r\n\r\n")  # no body after the head
    assert second.endswith(b"\r\n\r\nhi")


async def test_pipelined_requests_with_bodies_are_answered_in_order() -> None:
    requests = b"".join(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b)
        for b in (b"one", b"two", b"three")
    )
    with trio.fail_after(5):
        async with _serving(make_app(), "native", []) as stream:
            await stream.send_all(requests + b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            bodies = []
            rest = b""
            for _ in range(4):
                _, body, rest = await read_response(stream, rest)
                bodies.append(body)
    assert bodies == [b"one", b"two", b"three", b"hi"]


def streaming_app() -> FastrAPI:
    """An app whose ASGI mount streams its response in parts, maybe with a bad header."""

    async def parts(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"x-bad", b"a\r\nx-injected: 1")] if scope["path"] == "/bad" else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in (b"ab", b"", b"cde"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    app = make_app()
    app.mount("/parts", parts)
    return app


async def test_a_streamed_response_is_chunked_and_the_connection_goes_on() -> None:
    with trio.fail_after(5):
        async with _serving(streaming_app(), "native", []) as stream:
            await stream.send_all(
                b"GET /parts HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            data = b""
            while not data.endswith(b"\r\n\r\nhi"):
                data += await stream.receive_some()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert rest.startswith(b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\nHTTP/1.1 200")


async def test_a_response_header_with_a_line_break_ends_the_connection_unsent() -> None:
    with trio.fail_after(5):
        async with _serving(streaming_app(), "native", []) as stream:
            await stream.send_all(b"GET /parts/bad HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := await stream.receive_some():
                data += chunk
    assert b"x-injected" not in data


async def test_a_handshake_and_the_first_frame_in_one_packet() -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text(await ws.receive_text())

    frame = bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])  # "hi", masked
    with trio.fail_after(5):
        async with _serving(app, "native", []) as stream:
            await stream.send_all(upgrade(b"Sec-WebSocket-Version: 13", KEY) + frame)
            data = b""
            while b"\x81\x02hi" not in data:
                chunk = await stream.receive_some()
                assert chunk
                data += chunk
    assert data.startswith(b"HTTP/1.1 101 ")
