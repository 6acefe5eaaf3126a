"""The pump where the peer's bytes and the handler cross: a close that came with a message, a
pong that never comes, a refusal to a client that left, pings and timers of a connection that
ended, a message after our close. Raw frames, so the order on the wire is exact."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from fastrapi import FastrAPI, Hub, WebSocket, WebSocketDisconnect
from fastrapi.testing import _serving

from .conftest import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    close_payload,
    connect,
    ending,
    frame,
)

pytestmark = pytest.mark.usefixtures("codec")


async def test_a_ping_after_the_peer_closed_raises_disconnect() -> None:
    """The client's message and close came in one read: the handler has the message, the close
    waits unread, and a ping can no longer be answered."""
    received: list[str] = []
    codes: list[int] = []

    async def receive_then_ping(ws: WebSocket) -> None:
        received.append(await ws.receive_text())
        await ws.ping(b"p")

    with trio.fail_after(10):
        async with connect("/ws", app=ending(codes, receive_then_ping)) as (client, _):
            await client.send(frame(OP_TEXT, b"hello"), frame(OP_CLOSE, close_payload(1000)))
            closing = await client.read()
            assert closing is not None
            assert closing.opcode == OP_CLOSE
            assert await client.read() is None
    assert received == ["hello"]
    assert codes == [1000], "the peer's close code, not 1006"


async def test_a_ping_waiting_for_its_pong_gets_the_close_that_came_with_messages() -> None:
    """The client answers the server's ping not with a pong but with messages and its close,
    in one write: the ping raises the peer's code and reason (the close was read, behind the
    messages; with a queue of one, the second waits unread, and the close behind it), and the
    messages are still the handler's to read, before that close."""
    got: list[object] = []
    codes: list[int] = []

    async def ping_then_receive(ws: WebSocket) -> None:
        try:
            await ws.ping(b"p")
        except WebSocketDisconnect as exc:
            got.append((exc.code, exc.reason))
        got.append(await ws.receive_text())
        got.append(await ws.receive_text())
        await ws.receive_text()

    app = ending(codes, ping_then_receive, max_queue=1)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            ping = await client.read()
            assert ping is not None
            assert (ping.opcode, ping.payload) == (OP_PING, b"p")
            await client.send(
                frame(OP_TEXT, b"hello"),
                frame(OP_TEXT, b"again"),
                frame(OP_CLOSE, close_payload(1000, b"bye")),
            )
            await client.expect_close(1000)
    assert got == [(1000, "bye"), "hello", "again"]
    assert codes == [1000]


async def test_a_hub_message_to_a_member_whose_peer_closed_is_not_sent() -> None:
    hub = Hub()
    app = FastrAPI(hub=hub, ping_interval=None)
    offered: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async with hub.join("room", ws):
            await ws.receive_text()
            await hub.publish("room", "to nobody")
            offered.append(hub.statistics().delivered)

    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            await client.send(frame(OP_TEXT, b"hello"), frame(OP_CLOSE, close_payload(1000)))
            echo = await client.read()
            assert echo is not None
            assert (echo.opcode, echo.close_code) == (OP_CLOSE, 1000)
            assert await client.read() is None
    assert offered == [0]


async def test_a_ping_whose_pong_never_comes_raises_disconnect() -> None:
    codes: list[int] = []
    app = ending(codes, lambda ws: ws.ping(b"are you there"))
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            ping = await client.read()
            assert ping is not None
            assert (ping.opcode, ping.payload) == (OP_PING, b"are you there")
            await client.send(frame(OP_CLOSE, close_payload(1001)))  # a close, no pong
            assert await client.read() is not None  # the echo
    assert codes == [1001]


@pytest.mark.parametrize("lockstep", [False, True])
async def test_a_ping_of_the_handler_is_answered(lockstep: bool) -> None:
    """On a socket the handler's task reads the pong itself; over a stream that is no socket,
    the reader task that runs for the whole connection does."""
    rtts: list[float | None] = []
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.ping(b"1")
        rtts.append(ws._session.ping_rtt)

    with trio.fail_after(10):
        async with connect("/ws", app=app, lockstep=lockstep) as (client, _):
            ping = await client.read()
            assert ping is not None
            await client.send(frame(OP_PONG, ping.payload))
            await client.expect_close(1000)
    assert len(rtts) == 1
    assert rtts[0] is not None


async def test_a_message_after_our_close_is_dropped() -> None:
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()

    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            closing = await client.read()
            assert closing is not None
            assert closing.close_code == 1000
            await client.send(frame(OP_TEXT, b"late"), frame(OP_CLOSE, close_payload(1000)))
            assert await client.read() is None


async def test_a_refusal_to_a_client_that_left_is_not_an_error() -> None:
    gone = trio.Event()
    refused: list[bool] = []
    errors: list[Exception] = []
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await gone.wait()
        await ws.close()  # before accept(): a refusal, to nobody
        refused.append(True)

    with trio.fail_after(10):
        async with _serving(app, "native", errors) as stream:
            await stream.send_all(
                b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            await trio.testing.wait_all_tasks_blocked()  # the handler waits
            await stream.aclose()
            gone.set()
    assert refused == [True]
    assert errors == []


def sleeper(seconds: float, *, close_first: bool = False, **options: object) -> FastrAPI:
    """An app whose handler accepts (closes, if asked) and sleeps, reading nothing."""
    app = FastrAPI(**options)  # type: ignore[arg-type]  # the options of each test

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        if close_first:
            await ws.close()
        await trio.sleep(seconds)

    return app


async def test_without_a_ping_timeout_a_silent_peer_stays(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = sleeper(3.5, ping_interval=1, ping_timeout=None)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            ping = await client.read()
            assert ping is not None
            assert ping.opcode == OP_PING  # not answered, and no timeout closes it
            await client.expect_close(1000)


async def test_timers_of_a_connection_the_peer_closed_do_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The client closes at once while the handler sleeps: the first ping (at 1 s) and the idle
    check (at 2 s) find the connection over."""
    app = sleeper(5, ping_interval=1, idle_timeout=2)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            await client.send(frame(OP_CLOSE, close_payload(1000)))
            echo = await client.read()
            assert echo is not None
            assert (echo.opcode, echo.close_code) == (OP_CLOSE, 1000)
            assert await client.read() is None
            assert trio.current_time() >= 5  # (the handler's sleep; no timer ended it)


async def test_a_pong_deadline_after_the_peer_closed_does_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = sleeper(6, ping_interval=1, ping_timeout=3)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            ping = await client.read()
            assert ping is not None
            assert ping.opcode == OP_PING
            await client.send(frame(OP_CLOSE, close_payload(1000)))  # no pong: a close
            echo = await client.read()
            assert echo is not None
            assert echo.close_code == 1000
            assert await client.read() is None


async def test_a_peer_behind_a_full_queue_is_not_failed_for_its_pong(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Its messages wait unread (max_queue=1): it is alive, though its pong is stuck too."""
    app = sleeper(5, ping_interval=1, ping_timeout=1, max_queue=1)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            await client.send(*[frame(OP_TEXT, b"m%d" % n) for n in range(3)])
            await client.expect_close(1000)  # not 1011: pings went unanswered


async def test_an_idle_timeout_after_the_handlers_close_sends_no_second_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = sleeper(5, close_first=True, ping_interval=None, idle_timeout=1)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            closing = await client.read()
            assert closing is not None
            assert closing.close_code == 1000
            await trio.sleep(2)  # past the idle timeout, before the reply
            await client.send(frame(OP_CLOSE, close_payload(1000)))
            assert await client.read() is None  # and no other close frame before the end


async def test_a_ping_from_a_client_that_left_is_not_answered() -> None:
    """The pong finds the socket closed: the connection ends as dropped (1006)."""
    codes: list[int] = []
    with trio.fail_after(10):
        async with connect("/ws", app=ending(codes, WebSocket.receive)) as (client, _):
            await client.send(frame(OP_PING, b"anyone?"))
            await client.stream.aclose()  # before the server reads the ping
    assert codes == [1006]


async def test_a_hub_message_to_a_member_that_left_ends_its_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    joined, published = trio.Event(), trio.Event()
    codes: list[int] = []

    async def member(ws: WebSocket) -> None:
        async with hub.join("room", ws):
            joined.set()
            await published.wait()
            await ws.receive()

    with trio.fail_after(10):
        async with connect("/ws", app=ending(codes, member, hub=hub)) as (client, _):
            await joined.wait()
            await client.stream.aclose()  # the member's socket is gone; nothing read it yet
            hub.publish_nowait("room", "to the closed socket")
            published.set()
    assert codes == [1006]
    assert hub.statistics().members == 0


async def test_the_final_close_to_a_client_that_left_is_not_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The handler returns after the client's socket closed, before anything read it: the
    close frame finds the socket gone, and the connection ends as dropped."""
    gone = trio.Event()
    finished: list[bool] = []
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await gone.wait()
        finished.append(True)

    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            await client.stream.aclose()
            gone.set()
    assert finished == [True]


async def test_a_ping_due_after_the_handlers_close_is_not_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = sleeper(3, close_first=True, ping_interval=1)
    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            closing = await client.read()
            assert closing is not None
            assert closing.close_code == 1000
            await trio.sleep(2)  # the ping was due at 1 s: none comes after our close
            await client.send(frame(OP_CLOSE, close_payload(1000)))
            assert await client.read() is None


async def test_a_send_after_the_peers_close_came_raises_disconnect() -> None:
    """The close came with the message: the handler's reply can no longer be sent."""
    received: list[str] = []
    codes: list[int] = []

    async def receive_then_send(ws: WebSocket) -> None:
        received.append(await ws.receive_text())
        await ws.send_text("too late")

    with trio.fail_after(10):
        async with connect("/ws", app=ending(codes, receive_then_send)) as (client, _):
            await client.send(frame(OP_TEXT, b"hello"), frame(OP_CLOSE, close_payload(1000)))
            echo = await client.read()
            assert echo is not None
            assert echo.opcode == OP_CLOSE  # and no "too late" before it
            assert await client.read() is None
    assert received == ["hello"]
    assert codes == [1000], "the peer's close code, not 1006"


async def test_the_reader_task_hands_the_role_back_to_a_waiting_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The handler was busy (so a reader task read for it and paused on the full queue); it
    takes that message and waits again at once: the reader finds nothing more and stops, and
    the handler reads the next message itself."""
    received: list[str] = []
    app = FastrAPI(ping_interval=None, max_queue=1)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep(1)  # busy: a reader task starts after READ_GRACE
        received.append(await ws.receive_text())
        received.append(await ws.receive_text())

    with trio.fail_after(10):
        async with connect("/ws", app=app) as (client, _):
            await client.send(frame(OP_TEXT, b"one"))
            await trio.sleep(2)
            await client.send(frame(OP_TEXT, b"two"))
            await client.expect_close(1000)
    assert received == ["one", "two"]
