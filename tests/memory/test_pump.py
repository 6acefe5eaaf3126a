"""The pump in memory: ordering, backpressure, timeouts, cancellation, handler nurseries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from fastrapi import CloseCode, FastrAPI, WebSocket, WebSocketDisconnect, WebSocketException
from fastrapi._transport import Close
from fastrapi.testing import open_websocket

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastrapi._transport import Data

    from .conftest import Connect


async def test_the_queue_drains_before_close(connect: Connect) -> None:
    app = FastrAPI(max_queue=2)

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        for i in range(100):
            await ws.send_text(str(i))

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            received = [await client.receive_text() for _ in range(100)]
            assert await client.wait_closed() == (1000, "")
    assert received == [str(i) for i in range(100)]


async def test_slow_consumer_pushes_back_on_the_handler() -> None:
    app = FastrAPI(max_queue=2)
    sent = 0

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        nonlocal sent
        await ws.accept()
        for i in range(1000):
            await ws.send_text(str(i))
            sent += 1

    with trio.fail_after(5):
        async with open_websocket(app, "/ws", lockstep=True) as client:
            await trio.testing.wait_all_tasks_blocked()
            # the batch the writer is writing (what was queued when it started: at most 1 + 2),
            # the outbound channel's two: then the handler waits
            assert 1 + 2 <= sent <= (1 + 2) + 2
            received = [await client.receive_text() for _ in range(1000)]
    assert received == [str(i) for i in range(1000)]
    assert sent == 1000


async def test_a_handler_that_does_not_read_pushes_back_on_the_client() -> None:
    app = FastrAPI(max_queue=3)
    release = trio.Event()
    got: list[str] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await release.wait()
        got.extend([await ws.receive_text() for _ in range(50)])

    sent = 0
    with trio.fail_after(5):
        async with open_websocket(app, "/ws", lockstep=True) as client:

            async def flood() -> None:
                nonlocal sent
                for i in range(50):
                    await client.send_text(str(i))
                    sent += 1

            async with trio.open_nursery() as nursery:
                nursery.start_soon(flood)
                await trio.testing.wait_all_tasks_blocked()
                # the inbound queue's three: then the reader stops reading, and the socket is full
                assert sent == 3
                release.set()
    assert got == [str(i) for i in range(50)]


async def test_ticker_beside_a_receive_loop_ends_with_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    ticker_cancelled = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()

        async def tick() -> None:
            try:
                for n in range(1_000_000):
                    await trio.sleep(1)
                    await ws.send_json({"tick": n})
            except trio.Cancelled:
                ticker_cancelled.set()
                raise

        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick)
            async for text in ws.iter_text():
                await ws.send_text(text.upper())
            nursery.cancel_scope.cancel()

    with trio.fail_after(60):
        async with open_websocket(app, "/ws") as client:
            assert await client.receive_json() == {"tick": 0}
            await client.send_text("hi")
            assert await client.receive_text() == "HI"
            assert await client.receive_json() == {"tick": 1}
    assert ticker_cancelled.is_set()


async def test_disconnect_inside_a_handler_nursery_is_a_normal_end(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            await ws.receive_text()  # raises WebSocketDisconnect inside the nursery

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            await client.close()


async def test_websocket_exception_inside_a_handler_nursery_sets_the_code(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()

        async def refuse() -> None:
            raise WebSocketException(4009, "nope")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(refuse)
            await trio.sleep_forever()

    with trio.fail_after(5):
        async with connect(app, "/ws") as client:
            assert await client.wait_closed() == (4009, "nope")


async def test_other_errors_inside_a_handler_nursery_are_reraised(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            raise KeyError("inner")

    with trio.fail_after(5), pytest.RaisesGroup(KeyError):
        async with connect(app, "/ws") as client:
            assert await client.wait_closed() == (1011, "")


async def test_idle_client_is_closed_with_1001(autojump_clock: trio.testing.MockClock) -> None:
    app = FastrAPI(idle_timeout=30)
    codes: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect as exc:
            codes.append(exc.code)

    with trio.fail_after(100):
        async with open_websocket(app, "/ws") as client:
            await trio.sleep(20)
            await client.send_text("still here")  # restarts the idle timer
            assert await client.receive_text() == "still here"
            start = trio.current_time()
            closed = await client.wait_closed()
            elapsed = trio.current_time() - start
    assert (closed, elapsed, codes) == ((1001, "idle timeout"), 30, [1001])


async def test_max_lifetime_cancels_the_handler_and_closes_with_1001(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = FastrAPI()
    cancelled = trio.Event()

    @app.websocket("/ws", max_lifetime=3600)
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            cancelled.set()
            raise

    with trio.fail_after(4000):
        async with open_websocket(app, "/ws") as client:
            closed = await client.wait_closed()
            assert trio.current_time() == 3600
    assert closed == (1001, "maximum connection lifetime reached")
    assert cancelled.is_set()


async def test_too_big_message_closes_with_1009(connect: Connect, target: str) -> None:
    app = FastrAPI(max_message_size=10)
    codes: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.receive()
        except WebSocketDisconnect as exc:
            codes.append(exc.code)

    with trio.fail_after(5):
        for message in ("x" * 11, b"x" * 11, "é" * 6):
            async with connect(app, "/ws") as client:
                await client.send("fits")
                await client.send(message)
                code, reason = await client.wait_closed()
                assert code == 1009
                assert "10 bytes" in reason or target == "hypercorn"  # Hypercorn gives no reason
    # Hypercorn closes by itself and tells the handler 1006, but it measures text in
    # characters, so the third message (12 bytes, 6 characters) is left to the pump
    assert codes == ([1006, 1006, 1009] if target == "hypercorn" else [1009] * 3)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_queue", -1, "max_queue must be 0 or more"),
        ("max_message_size", 0, "max_message_size must be positive"),
        ("idle_timeout", 0, "idle_timeout must be a positive number"),
        ("close_timeout", -1.0, "close_timeout must be a positive number"),
    ],
)
def test_bad_options(option: str, value: float, message: str) -> None:
    options: Any = {option: value}  # the option's name varies
    with pytest.raises(ValueError, match=message):
        FastrAPI(**options)
    app = FastrAPI()
    with pytest.raises(ValueError, match=message):
        app.websocket("/ws", **options)


class ScriptedTransport:
    """A transport that records what the pump does; its peer only ever answers a close.

    Its units are the messages themselves, and ``("close", code, reason)`` for our close."""

    can_ping = False
    attendant = None
    inline_reads = False

    def __init__(self) -> None:
        self.log: list[object] = []
        self._closed = trio.Event()
        self._answered = False

    async def accept(self, subprotocol: str | None, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self.log.append("accept")

    async def reject(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        self.log.append(("reject", status))

    def bind(self, answer: object, on_end: object) -> None:
        pass  # nothing ends this transport but a close

    def next_event(self) -> Data | Close | None:
        if self._closed.is_set() and not self._answered:
            self._answered = True
            return Close(CloseCode.NORMAL_CLOSURE)
        return None

    def has_events(self) -> bool:
        return self._closed.is_set() and not self._answered

    def pending_close(self) -> Close | None:
        raise NotImplementedError  # pragma: no cover  # only for pings, and sends after a close

    async def fill(self) -> None:
        await self._closed.wait()

    async def linger(self) -> None:
        await trio.lowlevel.checkpoint()

    def interrupt(self) -> None:
        raise NotImplementedError  # pragma: no cover  # no inline reads

    def encode(self, data: Data) -> object:
        return data

    def encode_utf8(self, payload: bytes) -> object:
        return payload.decode()

    def encode_shared(self, frame: bytes, data: Data) -> object:
        return data  # pragma: no cover  # no Hub here

    def encode_close(self, code: int, reason: str) -> object:
        return ("close", code, reason)

    def ping(self, payload: bytes) -> tuple[object, trio.Event]:
        raise NotImplementedError  # pragma: no cover

    def pong_came(self, payload: bytes) -> float | None:
        raise NotImplementedError  # pragma: no cover

    def write_nowait(self, unit: object) -> int:
        return -1

    def unit_size(self, unit: object) -> int:
        return len(unit) if isinstance(unit, str) else 1

    def rest(self, unit: object, written: int) -> object:
        raise NotImplementedError  # pragma: no cover

    async def write(self, units: Sequence[object]) -> None:
        await self.send([u for u in units if isinstance(u, str)])
        for unit in units:
            if isinstance(unit, tuple):
                self.log.append(unit)
                self._closed.set()

    async def send(self, messages: Sequence[Data]) -> None:
        self.log.extend(messages)


async def test_server_shutdown_closes_with_1001() -> None:
    app = FastrAPI()
    running = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")
        running.set()
        await trio.sleep_forever()

    transport = ScriptedTransport()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app.serve_websocket, SCOPE, transport)
            await running.wait()
            nursery.cancel_scope.cancel()
    assert transport.log == [
        "accept",
        "hello",
        ("close", CloseCode.GOING_AWAY, "server shutting down"),
    ]


class StalledTransport(ScriptedTransport):
    """A client that stopped reading: every send waits forever."""

    async def send(self, messages: Sequence[Data]) -> None:
        await trio.sleep_forever()


SCOPE = {"type": "websocket", "path": "/ws", "query_string": b"", "headers": []}


@pytest.mark.parametrize("cancel_from_outside", [False, True])
async def test_close_timeout_bounds_a_stalled_writer(
    autojump_clock: trio.testing.MockClock, cancel_from_outside: bool
) -> None:
    app = FastrAPI(close_timeout=7)
    handler_done = trio.Event()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("never delivered")
        if cancel_from_outside:
            handler_done.set()
            await trio.sleep_forever()
        handler_done.set()

    transport = StalledTransport()
    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app.serve_websocket, SCOPE, transport)
            await handler_done.wait()
            start = trio.current_time()
            if cancel_from_outside:
                nursery.cancel_scope.cancel()
    assert trio.current_time() - start == 7
    assert transport.log == ["accept"]


class GatedTransport(ScriptedTransport):
    """Records each write's batch; the first write waits until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = trio.Event()
        self.gate = trio.Event()
        self.batches: list[list[Data]] = []

    async def send(self, messages: Sequence[Data]) -> None:
        self.batches.append(list(messages))
        self.writing.set()
        await self.gate.wait()


async def test_the_writer_batches_what_queued_behind_a_slow_write_in_order() -> None:
    app = FastrAPI(max_queue=8)
    big = "x" * (40 * 1024)
    queued = trio.Event()
    transport = GatedTransport()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("first")
        await transport.writing.wait()
        for message in ["b", "c", big, big, big, "last"]:
            await ws.send_text(message)  # queued behind the first write
        queued.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app.serve_websocket, SCOPE, transport)
            await queued.wait()
            transport.gate.set()
    # up to 64 KiB a batch (one message may take it over), and the close after them all
    assert transport.batches == [["first"], ["b", "c", big, big], [big, "last"]]
    assert transport.log[-1] == ("close", CloseCode.NORMAL_CLOSURE, "")
