"""Both HTTP/1.1 parsers (``http="h11"`` and ``http="httptools"``), fed what a hostile client
could send, driven as the server's connection loop drives them (``_parser.py``, ``_http11.py``).

The property: a request is parsed (and then its body, its scope, a WebSocket handshake's checks
and a response work) or refused with a :class:`ParseError` whose status is a 4xx (501 for a
transfer coding it does not know, RFC 9112 6.1); nothing else raises. Where both parsers take a
request, they read the same head and body.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque

import pytest
import trio
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastrapi import FastrAPI, Request, WebSocket
from fastrapi.datastructures import Headers
from fastrapi.server._handshake import check, subprotocols
from fastrapi.server._http11 import _scope
from fastrapi.server._parser import (
    HTTPParser,
    ParseError,
    ParserName,
    RequestHead,
    ResponseError,
    make_parser,
)
from fastrapi.testing import open_live_server
from tests.fuzz.conftest import memory_kept

PARSERS: list[ParserName] = ["h11", "httptools"]
MAX_HEADER_SIZE = 1024


def mostly(common: list[bytes], rare: list[bytes]) -> st.SearchStrategy[bytes]:
    """One of ``common`` four times in five, else one of ``rare``."""
    return st.sampled_from([*common * 4 * max(1, len(rare) // len(common) or 1), *rare])


methods = mostly(
    [b"GET", b"POST"], [b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"get", b"G T", b"\xe9"]
)
paths = st.one_of(
    st.sampled_from([b"/", b"/a/b?c=d", b"/%41%zz", b"/%ff%fe", b"*", b"http://x/y", b"/#f"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12).map(
        lambda t: ("/" + t).encode()
    ),
    st.binary(max_size=12).map(lambda b: b"/" + b),
)
versions = mostly([b"HTTP/1.1"], [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.2", b"X"])
names = mostly(
    [b"X-Any", b"Accept", b"Cookie"],
    [
        b"Content-Length",
        b"Transfer-Encoding",
        b"Connection",
        b"Expect",
        b"Upgrade",
        b"Sec-WebSocket-Protocol",
        b"Sec-WebSocket-Extensions",
        b"Bad Name",
        b"",
        b"\xff",
    ],
)
values = st.one_of(
    st.sampled_from(
        [
            b"x",
            b"0",
            b"-1",
            b"5, 5",
            b"99999999999999999999999",
            b"chunked",
            b"gzip, chunked",
            b"close",
            b"keep-alive, Upgrade",
            b"websocket",
            b"100-continue",
            b"chat, , bearer",
            b"permessage-deflate; client_max_window_bits",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10).map(str.encode),
    st.binary(max_size=8),
)
WEBSOCKET = [
    (b"Connection", b"Upgrade"),
    (b"Upgrade", b"websocket"),
    (b"Sec-WebSocket-Version", b"13"),
    (b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
]


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request, well formed but for what the drawn headers say, then maybe damaged in one
    place (a byte changed, bytes inserted or cut)."""
    headers = [(b"Host", b"example.com")] if draw(st.integers(0, 9)) else []
    headers += draw(st.lists(st.tuples(names, values), max_size=4))
    framing = draw(st.sampled_from(["none", "none", "length", "chunked", "websocket"]))
    body = draw(st.binary(max_size=20))
    if framing == "length":
        headers.append((b"Content-Length", b"%d" % len(body)))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    elif framing == "websocket":
        headers += WEBSOCKET[: draw(st.integers(2, 4))]
        body = draw(st.sampled_from([b"", b"\x81\x80abcd"]))
    else:
        body = b""
    headers = draw(st.permutations(headers))
    line = b" ".join([draw(methods), draw(paths), draw(versions)])
    data = b"\r\n".join([line, *(name + b": " + value for name, value in headers)])
    data += b"\r\n\r\n" + body
    damage = draw(st.sampled_from(["none"] * 6 + ["change", "insert", "cut"]))
    if damage != "none" and data:
        at = draw(st.integers(0, len(data) - 1))
        if damage == "change":
            data = data[:at] + draw(st.binary(min_size=1, max_size=1)) + data[at + 1 :]
        elif damage == "insert":
            data = (
                data[:at]
                + draw(st.sampled_from([b"\n", b"\r", b" ", b"\x00", b"\r\n "]))
                + data[at:]
            )
        else:
            data = data[:at] + data[at + draw(st.integers(1, 4)) :]
    return data


@st.composite
def connections(draw: st.DrawFn) -> list[bytes]:
    """Pipelined requests (or junk), cut into reads at arbitrary points."""
    parts = draw(st.lists(st.one_of(requests(), requests(), st.binary(max_size=10)), max_size=3))
    data = b"".join(parts)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return [c for c in chunks if c]


Exchange = tuple[bytes, bytes, bytes, list[tuple[bytes, bytes]], int | None, bytes]


def _exchange(head: RequestHead, body: bytes) -> Exchange:
    return head.method, head.target, head.http_version, head.headers, head.content_length, body


def _checked(head: RequestHead) -> None:
    """The server's next steps with a head: its scope, and a handshake's checks."""
    scope = _scope(head, None, None, "http")
    assert scope["path"].startswith("/") or scope["path"] in ("*", "") or "://" in scope["path"]
    headers = Headers.from_raw(head.headers)
    if head.websocket:
        refusal = check(head, headers)
        assert refusal is None or 400 <= refusal.status < 500
        subprotocols(headers)


def serve(name: ParserName, chunks: list[bytes]) -> tuple[list[Exchange], int | None]:
    """Drive a parser as the connection loop does; the exchanges it read, and the status of
    the error that ended it (``None``: it ended for want of bytes, or at an upgrade)."""
    parser: HTTPParser = make_parser(name, MAX_HEADER_SIZE)
    reads = deque(chunks)
    exchanges: list[Exchange] = []
    try:
        while True:
            head = parser.next_request()
            if head is None:
                if not reads:
                    return exchanges, None
                parser.feed(reads.popleft())
                continue
            _checked(head)
            if head.websocket:
                assert isinstance(parser.trailing_data(), bytes)
                exchanges.append(_exchange(head, b"(upgrade)"))
                return exchanges, None
            body = []
            while (got := parser.body()) is None or not got[1]:
                if got is not None:
                    body.append(got[0])
                    continue
                assert isinstance(parser.expects_continue(), bytes)
                if not reads:
                    return exchanges, None
                parser.feed(reads.popleft())
            body.append(got[0])
            data = b"".join(body)
            if head.content_length is not None:
                assert len(data) == head.content_length
            exchanges.append(_exchange(head, data))
            response = parser.response(200, [(b"content-type", b"text/plain")], b"ok")
            assert response.startswith(b"HTTP/1.1 200 OK\r\n")
            if not parser.next_cycle():
                return exchanges, None
    except ParseError as exc:
        status = exc.status
    assert 400 <= status < 500 or status == 501, status  # 501: a transfer coding it does not know
    with contextlib.suppress(ResponseError):  # the server answers the error on the same parser
        assert parser.response(status, [(b"connection", b"close")], b"{}")
    return exchanges, status


@given(connections())
@example([b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"])  # h11: a body with a HEAD answer failed
def test_any_bytes_are_a_request_or_a_4xx(chunks: list[bytes]) -> None:
    results = {name: serve(name, chunks) for name in PARSERS}
    h11, httptools = results["h11"], results["httptools"]
    # what both took, both read alike (one may refuse later than the other, or sooner)
    both = min(len(h11[0]), len(httptools[0]))
    assert h11[0][:both] == httptools[0][:both]


@pytest.mark.parametrize("name", PARSERS)
def test_parsers_give_memory_back(name: ParserName) -> None:
    inputs = [[b"GET /%d HTTP/1.1\r\nHost: x\r\nX: %s\r\n\r\n" % (n, b"v" * n)] for n in range(50)]
    inputs += [[b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"]] * 20
    inputs += [[b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"]]
    inputs += [[b"\x00garbage\r\n\r\n"]] * 20

    def run(chunks: object) -> object:
        assert isinstance(chunks, list)
        return serve(name, chunks)

    assert memory_kept(run, inputs) < 16 * 1024


app = FastrAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"hello": "world"}


@app.post("/echo")
async def echo(request: Request) -> bytes:
    return await request.body()


@app.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(await ws.receive_text())


async def raw_asgi(scope: object, receive: object, send: object) -> None:
    """An ASGI app that sends a body whatever the method (a HEAD's too, as ASGI allows)."""
    assert callable(send)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"abc"})


app.mount("/raw", raw_asgi)
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")
ANSWERS = {101, 200, 400, 404, 405, 413, 422, 426, 431, 501}  # never a 500: nothing raises


async def exchange(http: ParserName, chunks: list[bytes]) -> bytes:
    """Serve ``app`` on a real socket with the ``http`` parser, send ``chunks`` (then the end
    of the stream) and read until the server closes; a good request works after it."""
    with trio.fail_after(20):
        async with open_live_server(app, http=http) as address:
            stream = await trio.open_tcp_stream(address.host, address.port)
            async with stream:
                try:
                    for chunk in chunks:
                        await stream.send_all(chunk)
                    await stream.send_eof()
                except trio.BrokenResourceError:
                    pass  # the server refused and closed already
                received = b""
                while data := await stream.receive_some(65536):
                    received += data
            async with await trio.open_tcp_stream(address.host, address.port) as good:
                await good.send_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = b""
                while data := await good.receive_some(65536):
                    answer += data
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    return received


def check_answers(received: bytes) -> None:
    if received:
        assert received.startswith(b"HTTP/1.1 ")
    for status in STATUS_LINE.findall(received):
        assert int(status) in ANSWERS, received


@settings(max_examples=8)  # a server per example and parser: a few, each over a real socket
@given(connections())
@example([b"HEAD /raw/ HTTP/1.1\r\nHost: x\r\n\r\nGET /raw/ HTTP/1.1\r\nHost: x\r\n\r\n"])
async def test_a_real_server_answers_any_bytes(chunks: list[bytes]) -> None:
    for http in PARSERS:
        check_answers(await exchange(http, chunks))


@pytest.mark.parametrize("http", PARSERS)
async def test_a_head_request_to_an_asgi_app_that_sends_a_body(http: ParserName) -> None:
    """h11 refused to send the body of a HEAD answer (right) by failing the response, so the
    connection closed with no answer at all; now the body is dropped, as for httptools."""
    received = await exchange(
        http, [b"HEAD /raw/ HTTP/1.1\r\nHost: x\r\n\r\nGET /raw/ HTTP/1.1\r\nHost: x\r\n\r\n"]
    )
    assert STATUS_LINE.findall(received) == [b"200", b"200"]
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.count(b"abc") == 1  # the GET's body; the HEAD's was dropped
    assert received.endswith(b"\r\n\r\nabc")
