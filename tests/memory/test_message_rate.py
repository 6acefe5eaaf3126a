"""``max_message_rate``: a token bucket per connection, throttling the client or closing it.

On Trio's mock clock the pacing is exact, so these tests check it to the tick; no wall clock is
read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio
import trio.testing

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect
from fastrapi.testing import open_websocket

if TYPE_CHECKING:
    from .conftest import Connect


def echo_app(**options: object) -> tuple[FastrAPI, list[float], list[int]]:
    """An echo app on ``/ws`` with ``options``; the times its handler got each message, and
    the codes it was disconnected with."""
    app = FastrAPI(ping_interval=None, **options)  # type: ignore[arg-type]  # WebSocketOptions
    times: list[float] = []
    codes: list[int] = []

    @app.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                text = await ws.receive_text()
                times.append(trio.current_time())
                await ws.send_text(text)
        except WebSocketDisconnect as exc:
            codes.append(exc.code)

    return app, times, codes


async def test_throttle_paces_a_flood_to_the_rate_after_the_burst(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A client that sends 13 messages at once, at 10/s with a burst of 3: three at once, then
    one every 0.1 s; every message arrives, in order."""
    app, times, codes = echo_app(max_message_rate=10, max_message_burst=3)
    with trio.fail_after(100):
        async with open_websocket(app, "/ws") as client:
            start = trio.current_time()
            for i in range(13):
                await client.send_text(str(i))
            assert [await client.receive_text() for _ in range(13)] == [str(i) for i in range(13)]
    expected = [0, 0, 0] + [0.1 * k for k in range(1, 11)]
    assert [t - start for t in times] == pytest.approx(expected)
    assert codes == [1000]  # the client's close, not ours


async def test_throttle_stops_reading_so_tcp_pushes_back(
    mock_clock: trio.testing.MockClock,
) -> None:
    """While throttled, the server reads at most ``max_queue`` messages ahead: the client's
    writes (lockstep: each waits for the server's read) stop, until time lets them go on."""
    app, times, _ = echo_app(max_message_rate=1, max_queue=2)
    sent = 0

    async def flood(client: object) -> None:
        nonlocal sent
        for i in range(20):
            await client.send_text(str(i))  # type: ignore[attr-defined]  # a session
            sent += 1

    with trio.fail_after(100):  # on the mock clock: it never moves unless jumped
        async with open_websocket(app, "/ws", lockstep=True) as client, trio.open_nursery() as n:
            n.start_soon(flood, client)
            await trio.testing.wait_all_tasks_blocked()
            # one delivered (the burst), two queued, one being read (the reader waits for room),
            # one blocked in the client's write
            assert (len(times), sent) == (1, 3)
            for _ in range(3):
                mock_clock.jump(1)
                await trio.testing.wait_all_tasks_blocked()
            assert (len(times), sent) == (4, 6)
            mock_clock.autojump_threshold = 0  # let it run out
            assert [await client.receive_text() for _ in range(20)] == [str(i) for i in range(20)]
    assert len(times) == 20


async def test_close_policy_closes_with_1008_at_the_first_message_over(connect: Connect) -> None:
    """At 10/s (burst 10 by default), the eleventh message sent at once is not delivered: the
    connection is closed with 1008."""
    app, times, codes = echo_app(max_message_rate=10, message_rate_policy="close")
    with trio.fail_after(10):
        async with connect(app, "/ws") as client:
            for i in range(11):
                await client.send_text(str(i))
            assert [await client.receive_text() for _ in range(10)] == [str(i) for i in range(10)]
            assert await client.wait_closed() == (1008, "rate limit exceeded")
    assert len(times) == 10
    assert codes == [1008]


async def test_close_policy_lets_a_client_at_the_rate_be(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app, times, codes = echo_app(max_message_rate=10, message_rate_policy="close")
    with trio.fail_after(100):
        async with open_websocket(app, "/ws") as client:
            for i in range(50):
                await client.send_text(str(i))
                assert await client.receive_text() == str(i)
                await trio.sleep(0.1)
    assert (len(times), codes) == (50, [1000])


async def test_route_options_override_the_apps(autojump_clock: trio.testing.MockClock) -> None:
    """App-wide: close over 2/s; one route throttles instead, another has its own rate."""
    app = FastrAPI(max_message_rate=2, message_rate_policy="close", ping_interval=None)
    got: dict[str, list[float]] = {"strict": [], "patient": [], "faster": []}

    async def count(ws: WebSocket, name: str) -> None:
        await ws.accept()
        async for _ in ws.iter_text():
            got[name].append(trio.current_time())
            await ws.send_text("got it")

    @app.websocket("/strict")
    async def strict(ws: WebSocket) -> None:
        await count(ws, "strict")

    @app.websocket("/patient", message_rate_policy="throttle")
    async def patient(ws: WebSocket) -> None:
        await count(ws, "patient")

    @app.websocket("/faster", max_message_rate=100)
    async def faster(ws: WebSocket) -> None:
        await count(ws, "faster")

    with trio.fail_after(100):
        async with open_websocket(app, "/strict") as client:
            for _ in range(3):
                await client.send_text("x")
            assert await client.receive_text() == "got it"
            assert await client.receive_text() == "got it"
            assert await client.wait_closed() == (1008, "rate limit exceeded")
        async with open_websocket(app, "/patient") as client:
            start = trio.current_time()
            for _ in range(4):
                await client.send_text("x")
            for _ in range(4):
                assert await client.receive_text() == "got it"
        async with open_websocket(app, "/faster") as client:
            for _ in range(101):
                await client.send_text("x")
            assert await client.wait_closed() == (1008, "rate limit exceeded")
    assert len(got["strict"]) == 2
    assert [t - start for t in got["patient"]] == pytest.approx([0, 0, 0.5, 1.0], abs=0.011)
    assert len(got["faster"]) == 100


async def test_a_receive_cancelled_while_throttled_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A handler that gives up waiting (``move_on_after``) while throttled has read nothing:
    the message comes with its next receive, and the token it did not use is given back."""
    app = FastrAPI(max_message_rate=1, ping_interval=None)
    got: list[tuple[str, float]] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        got.append((await ws.receive_text(), trio.current_time()))
        with trio.move_on_after(0.5):
            await ws.receive_text()  # throttled for 1 s: cancelled first
        got.append((await ws.receive_text(), trio.current_time()))

    with trio.fail_after(100):
        async with open_websocket(app, "/ws") as client:
            start = trio.current_time()
            await client.send_text("a")
            await client.send_text("b")
            assert await client.wait_closed() == (1000, "")
    assert [(text, t - start) for text, t in got] == [("a", 0), ("b", pytest.approx(1.0))]
