"""Heartbeats, ws.ping(), a client that stopped reading, and allowed origins."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing
import wsproto.events

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect
from fastrapi.testing import HandshakeRejected, open_websocket

if TYPE_CHECKING:
    from .conftest import Connect


async def test_no_pong_closes_with_1011(autojump_clock: trio.testing.MockClock) -> None:
    app = FastrAPI(ping_interval=20, ping_timeout=10)
    ended: list[tuple[int, str, float]] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive()
        except WebSocketDisconnect as exc:
            ended.append((exc.code, exc.reason, trio.current_time()))

    with trio.fail_after(100):
        async with open_websocket(app, "/ws") as client:
            await trio.sleep(60)  # not reading: the server's ping goes unanswered
            assert await client.wait_closed() == (1011, "keepalive ping timeout")
    assert ended == [(1011, "keepalive ping timeout", 30)]


@pytest.mark.parametrize(
    ("ping_timeout", "expected"),
    [(10, [20, 40, 60, 80]), (None, [20, 40, 60, 80]), (30, [20, 50, 80])],
)
async def test_pings_come_every_interval_or_timeout_if_longer(
    autojump_clock: trio.testing.MockClock, ping_timeout: float | None, expected: list[float]
) -> None:
    """One ping an interval after the last (not an interval after its pong's deadline, and
    not only one when there is no deadline); a longer timeout spaces them by the timeout."""
    app = FastrAPI(ping_interval=20, ping_timeout=ping_timeout)
    pings: list[float] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep(90)
        await ws.send_text("done")

    with trio.fail_after(200):
        async with open_websocket(app, "/ws") as client:
            answer = client._on_event

            async def record(event: wsproto.events.Event) -> str | bytes | None:
                if isinstance(event, wsproto.events.Ping):
                    pings.append(trio.current_time())
                return await answer(event)

            client._on_event = record  # type: ignore[method-assign]  # a spy on the pings
            assert await client.receive_text() == "done"
    assert pings == expected


async def test_answered_pings_keep_the_connection(autojump_clock: trio.testing.MockClock) -> None:
    app = FastrAPI(ping_interval=20, ping_timeout=10)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep(200)
        await ws.send_text("still open")

    with trio.fail_after(300):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_text() == "still open"  # reading answers the pings
            assert trio.current_time() == 200


async def test_ws_ping_waits_for_the_pong() -> None:
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.ping(b"are you there")
        await ws.send_text("pong received")
        with pytest.raises(ValueError, match="at most 125 bytes"):
            await ws.ping(b"x" * 126)

    with trio.fail_after(5):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_text() == "pong received"


async def test_ws_ping_after_the_peer_left_raises() -> None:
    app = FastrAPI(ping_interval=None)
    codes: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await ws.receive()
        try:
            await ws.ping()
        except WebSocketDisconnect as exc:
            codes.append(exc.code)

    with trio.fail_after(5):
        async with open_websocket(app, "/ws") as client:
            await client.close(4000)
    assert codes == [4000]


async def test_a_client_that_stopped_reading_is_dropped_with_1008(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI(ping_interval=None)
    ended: list[tuple[int, float]] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text("x" * 1000)
        except WebSocketDisconnect as exc:
            ended.append((exc.code, trio.current_time()))

    with trio.fail_after(100):
        async with open_websocket(app, "/ws", lockstep=True) as client:
            await trio.sleep(60)
            assert client.close_frame is None
    assert ended == [(1008, 30)]  # send_timeout


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("https://app.example", True), ("https://evil.example", False), (None, True)],
)
async def test_allowed_origins(origin: str | None, allowed: bool, connect: Connect) -> None:
    app = FastrAPI(allowed_origins=["https://app.example"])

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("welcome")

    headers = {"Origin": origin} if origin else {}
    with trio.fail_after(5):
        if allowed:
            async with connect(app, "/ws", headers=headers) as client:
                assert await client.receive_text() == "welcome"
        else:
            with pytest.raises(HandshakeRejected) as caught:
                async with connect(app, "/ws", headers=headers):
                    pytest.fail("the handshake must be refused")  # pragma: no cover
            assert caught.value.status_code == 403
