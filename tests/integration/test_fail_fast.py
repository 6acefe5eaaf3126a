"""Failing fast (RFC 6455 7.1.7): after our close for a protocol error or a ping timeout, the
server closes TCP at once instead of waiting ``close_timeout`` for a peer that misbehaves.

Every test sets ``close_timeout`` to 30 s and bounds itself well below it, so a server that
waited for the peer's close would fail the bound; none of them measures time.
"""

from __future__ import annotations

import base64
import os
import struct
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest
import trio
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from fastrapi import FastrAPI, WebSocket
from fastrapi.testing import open_live_server
from tests.conformance.conftest import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_TEXT,
    Frame,
    RawClient,
    close_payload,
    echo_app,
    frame,
)
from tests.integration.conftest import all_gone
from tests.integration.test_native import _Wrapping

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from fastrapi.server._codec import CodecName

pytestmark = pytest.mark.integration

PATIENT = 30.0  # the close_timeout of every app here: far above every test's bound
BOUND = 5.0
LIMIT = 1024  # max_message_size


def patient_app(**options: float | None) -> FastrAPI:
    """The echo app on ``/echo``, waiting 30 s for a clean close."""
    return echo_app(close_timeout=PATIENT, max_message_size=LIMIT, **options)


@pytest.fixture(params=["websockets", "wsproto"])
def codec(request: pytest.FixtureRequest) -> CodecName:
    name: CodecName = request.param
    return name


@asynccontextmanager
async def raw_websocket(app: FastrAPI, codec: CodecName) -> AsyncIterator[RawClient]:
    """A WebSocket to ``app``'s ``/echo`` over a real socket, opened and spoken by hand."""
    async with open_live_server(app, ws=codec) as server:
        stream = await trio.open_tcp_stream(server.host, server.port)
        async with stream:
            key = base64.b64encode(os.urandom(16)).decode()
            await stream.send_all(
                (
                    "GET /echo HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive_some()
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            yield RawClient(stream, rest)


async def closed_without_reply(client: RawClient) -> Frame:
    """Read up to the server's close frame and then the end of the stream, never answering
    (a peer that misbehaves); the close frame."""
    close: Frame | None = None
    while (got := await client.read()) is not None:
        if got.opcode == OP_CLOSE:
            assert close is None, "a second close frame"
            close = got
    assert close is not None, "the connection ended without a close frame"
    return close


PROTOCOL_ERRORS = [
    pytest.param(b"\xff" * 64, 1002, id="random-bytes"),
    pytest.param(frame(OP_TEXT, b"x", mask=False), 1002, id="unmasked-frame"),
    # over any limit, and with its top bit set (RFC 6455 5.2): websockets says 1009, wsproto 1002
    pytest.param(frame(OP_BINARY, b"", length=2**63), {1002, 1009}, id="length-2**63"),
    pytest.param(frame(OP_PING, b"x", fin=False), 1002, id="fragmented-ping"),
    pytest.param(frame(OP_CONT, b"x"), 1002, id="stray-continuation"),
    pytest.param(frame(OP_CLOSE, close_payload(999)), 1002, id="close-code-999"),
    pytest.param(frame(OP_TEXT, b"\xff\xfe"), 1007, id="invalid-utf8"),
    pytest.param(
        frame(OP_TEXT, b"ok", fin=False) + frame(OP_CONT, b"\xc0\xaf", fin=False),
        1007,
        id="invalid-utf8-in-a-fragment",
    ),
    pytest.param(frame(OP_BINARY, b"x" * (LIMIT + 1)), 1009, id="message-too-big"),
]


@pytest.mark.parametrize(("junk", "code"), PROTOCOL_ERRORS)
async def test_a_protocol_error_closes_tcp_at_once(
    junk: bytes, code: int | set[int], codec: CodecName
) -> None:
    """Our close frame, then the end of TCP, though the peer never answers our close and the
    app would wait 30 s for a clean close; the handler is gone by then."""
    app = patient_app(ping_interval=None)
    with trio.fail_after(BOUND):
        async with raw_websocket(app, codec) as client:
            await client.send(frame(OP_TEXT, b"before"), junk)  # echoed or not: both are RFC
            close = await closed_without_reply(client)
            assert close.close_code in (code if isinstance(code, set) else {code}), close.payload
            await all_gone(app)


async def test_a_peer_that_keeps_sending_after_the_error_is_cut_off(codec: CodecName) -> None:
    """A peer that goes on sending junk (and never closes) is not read for long: the server
    drops the connection within its short grace, not ``close_timeout``."""
    app = patient_app(ping_interval=None)
    with trio.fail_after(BOUND):
        async with raw_websocket(app, codec) as client:
            await client.send(frame(OP_TEXT, b"x", mask=False))

            async def flood() -> None:
                while True:
                    try:
                        await client.stream.send_all(b"\xff" * 4096)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return
                    await trio.sleep(0.01)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(flood)
                close = await closed_without_reply(client)
                nursery.cancel_scope.cancel()
            assert close.close_code == 1002
            await all_gone(app)


async def test_a_ping_timeout_closes_tcp_at_once(codec: CodecName) -> None:
    """A peer that stops answering pings gets 1011, and TCP ends with it."""
    app = patient_app(ping_interval=0.2, ping_timeout=0.2)
    with trio.fail_after(BOUND):
        async with raw_websocket(app, codec) as client:
            close = await closed_without_reply(client)  # its pings are never answered
            assert (close.close_code, close.payload[2:]) == (1011, b"keepalive ping timeout")
            await all_gone(app)


async def test_a_clean_close_still_waits_for_the_peer(codec: CodecName) -> None:
    """The handler returned: the server waits for the peer's close (within close_timeout) and
    the peer's reply completes the handshake; only then does TCP end."""
    app = FastrAPI(close_timeout=PATIENT, ping_interval=None)

    @app.websocket("/echo")
    async def bye(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(4000, "bye")

    with trio.fail_after(BOUND):
        async with raw_websocket(app, codec) as client:
            close = await client.read()
            assert close is not None
            assert close.close_code == 4000
            with trio.move_on_after(0.3):  # the server waits for our reply: nothing comes
                assert await client.read() is None, "TCP ended before the peer's close"
            assert app.statistics().connections_open == {"/echo": 1}
            await client.send(frame(OP_CLOSE, struct.pack("!H", 4000)))
            assert await client.read() is None
            await all_gone(app)


async def test_websockets_client_sees_1009_and_the_end_at_once(codec: CodecName) -> None:
    """A library client (websockets) that sends a message over the limit is failed with 1009
    and its connection ends without waiting for either side's close_timeout."""
    app = patient_app(ping_interval=None)
    with trio.fail_after(BOUND):
        async with open_live_server(app, ws=codec) as server:

            def oversize() -> ConnectionClosedError:
                with connect(server.url("/echo", scheme="ws"), close_timeout=PATIENT) as ws:
                    ws.send(b"x" * (LIMIT + 1))
                    try:
                        ws.recv(timeout=BOUND)
                    except ConnectionClosedError as exc:
                        return exc
                raise AssertionError("the connection stayed open")

            error = await trio.to_thread.run_sync(oversize)
            assert error.rcvd is not None
            assert error.rcvd.code == 1009
            await all_gone(app)


async def test_a_protocol_error_behind_asgi_middleware_closes_tcp_at_once(
    codec: CodecName,
) -> None:
    app = patient_app(ping_interval=None)
    app.add_middleware(_Wrapping)  # the native server runs its ASGI bridge
    with trio.fail_after(BOUND):
        async with raw_websocket(app, codec) as client:
            await client.send(frame(OP_CONT, b"x"))
            close = await closed_without_reply(client)
            assert close.close_code == 1002
            await all_gone(app)
