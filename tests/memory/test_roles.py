"""The reader and writer roles of the pump on a real socket (``_pump.py``'s theory of operation).

The handler's own task reads while it waits in ``receive()``; the attendant starts the reader
task when it is busy elsewhere; writes go out directly until the kernel pushes back. These run
over the socket pair of :func:`fastrapi.testing.open_websocket`, under the fake clock.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect
from fastrapi._attendant import READ_GRACE
from fastrapi.testing import open_websocket


async def test_the_reader_task_takes_over_while_the_handler_is_busy_and_hands_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI(max_queue=4)
    got: list[str] = []
    readers: list[bool] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        got.append(await ws.receive_text())
        await trio.sleep(10)  # busy: the client's next messages are read meanwhile
        readers.append(ws._conn._reader)
        got.extend([await ws.receive_text() for _ in range(3)])
        got.append(await ws.receive_text())  # the reader hands this one over, and ends
        readers.append(ws._conn._reader)
        got.append(await ws.receive_text())  # read by the handler's own task again
        await ws.send_text("done")

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            for text in ["a", "b", "c", "d"]:
                await client.send_text(text)
            await trio.sleep(20)
            await client.send_text("e")
            await trio.sleep(1)
            await client.send_text("f")
            assert await client.receive_text() == "done"
    assert got == ["a", "b", "c", "d", "e", "f"]
    assert readers == [True, False]


async def test_a_busy_handler_pushes_back_at_max_queue(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI(max_queue=2)
    seen: list[tuple[int, bool]] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep(10)
        seen.append((len(ws._conn._inbound or ()), ws._conn._paused))
        texts = [await ws.receive_text() for _ in range(20)]
        await ws.send_json(texts)

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            for i in range(20):
                await client.send_text(str(i))
            assert await client.receive_json() == [str(i) for i in range(20)]
    # the reader read two and stopped: the rest waited in the kernel, not in our memory
    assert seen == [(2, True)]


async def test_a_handler_that_only_sends_sees_the_peer_close(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    ended: list[tuple[int, float]] = []

    @app.websocket("/ws")
    async def ticker(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text("tick")
                await trio.sleep(1)
        except WebSocketDisconnect as exc:
            ended.append((exc.code, trio.current_time()))

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_text() == "tick"
            await client.close(4000, "enough")
    assert ended == [(4000, 1)]  # at the first send after the close came


async def test_a_cancelled_inline_receive_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    timed_out: list[bool] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        with trio.move_on_after(1) as waited:
            await ws.receive_text()
        timed_out.append(waited.cancelled_caught)
        await ws.send_text(await ws.receive_text())

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            await trio.sleep(2)
            await client.send_text("after the timeout")
            assert await client.receive_text() == "after the timeout"
    assert timed_out == [True]


async def test_an_end_from_outside_interrupts_an_inline_receive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    ended: list[tuple[int, str, bool]] = []
    sockets: list[WebSocket] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        sockets.append(ws)
        try:
            await ws.receive_text()
        except WebSocketDisconnect as exc:
            ended.append((exc.code, exc.reason, ws._conn._reader))

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            await trio.sleep(1)  # the handler waits in its own read, not the reader task's
            sockets[0]._terminate(1008, "slow consumer")
            assert await client.wait_closed() == (1008, "slow consumer")
    assert ended == [(1008, "slow consumer", False)]


@pytest.mark.parametrize("big", [2**20, 4 * 2**20])
async def test_order_holds_across_direct_and_queued_writes(big: int) -> None:
    app = FastrAPI(max_message_size=8 * 2**20)
    messages: list[str | bytes] = []
    for i in range(30):
        messages.append(f"small {i}")
        if i % 7 == 3:
            messages.append(bytes([i]) * big)  # more than the kernel takes at once

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        for message in messages:
            await ws.send(message)

    with trio.fail_after(30):
        async with open_websocket(app, "/ws") as client:
            received = [await client.receive() for _ in messages]
    assert received == messages


async def test_a_client_ping_is_answered_while_the_handler_is_busy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI(ping_interval=None)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep(30)  # never in receive() meanwhile
        await ws.send_text("awake")

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            start = trio.current_time()
            await client.ping(b"are you there")
            pong = await client.wait_pong()
            assert (pong, trio.current_time() - start) == (b"are you there", READ_GRACE)
            assert await client.receive_text() == "awake"


async def test_a_send_cancelled_while_it_waits_for_room_sends_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI(max_queue=1)
    outcome: list[bool] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("first")  # the writer holds it: the client reads nothing yet
        await ws.send_text("second")  # queued behind it: the queue is full
        with trio.move_on_after(1) as waited:
            await ws.send_text("never")
        outcome.append(waited.cancelled_caught)
        await ws.send_text("after")

    with trio.fail_after(60):
        async with open_websocket(app, "/ws", lockstep=True) as client:
            await trio.sleep(5)
            received = [await client.receive_text() for _ in range(3)]
    assert outcome == [True]
    assert received == ["first", "second", "after"]


async def test_a_receive_cancelled_while_the_reader_task_reads_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    outcome: list[tuple[bool, bool]] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await trio.sleep(1)  # away: the reader task takes the role
        with trio.move_on_after(1) as waited:
            await ws.receive_text()  # waits for the reader task, and is cancelled
        outcome.append((waited.cancelled_caught, ws._conn._reader))
        await ws.send_text(await ws.receive_text())

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            await trio.sleep(5)
            await client.send_text("kept")
            assert await client.receive_text() == "kept"
    assert outcome == [(True, True)]
