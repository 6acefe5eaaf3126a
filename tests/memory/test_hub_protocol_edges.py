"""The hub route where its backend is away (Redis down), its callables cannot be planned, its
app has no Hub, or its handshake fails on the server's side."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
import pytest
import trio
import trio.testing

from fastrapi import (
    Depends,
    FastrAPI,
    HTTPException,
    Hub,
    HubUnavailable,
    RouteDefinitionError,
    WebSocket,
)
from fastrapi.hub import HubConnection, MemoryBackend, Position
from fastrapi.hub._protocol import SUBPROTOCOL
from fastrapi.testing import WebSocketTestSession, open_websocket

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from contextlib import AbstractAsyncContextManager

    from fastrapi.hub._backend import History, Published
    from fastrapi.hub._wire import Wire


class Outage:
    """A memory backend whose calls named in ``down`` fail as the Redis backend's do when
    Redis is away."""

    def __init__(self) -> None:
        self.memory = MemoryBackend()
        self.down: set[str] = set()
        self.before_history: Callable[[], Awaitable[object]] | None = None
        """Awaited by ``history()`` before it reads (a publish that comes meanwhile)."""

    def _check(self, call: str) -> None:
        if call in self.down:
            raise HubUnavailable(f"the backend is away ({call})")

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.memory.running()

    def connect(self, deliver: Callable[[Published], None]) -> None:
        self.memory.connect(deliver)

    async def publish(self, topic: str, wire: Wire, history: History) -> Published:
        self._check("publish")
        return await self.memory.publish(topic, wire, history)

    def publish_nowait(self, topic: str, wire: Wire, history: History) -> Published:
        return self.memory.publish_nowait(topic, wire, history)

    async def subscribe(self, topic: str) -> None:
        await self.memory.subscribe(topic)

    async def unsubscribe(self, topic: str) -> None:
        await self.memory.unsubscribe(topic)

    async def add_presence(self, topic: str, key: str, value: object) -> None:
        await self.memory.add_presence(topic, key, value)

    async def remove_presence(self, topic: str, key: str) -> None:
        await self.memory.remove_presence(topic, key)

    async def presence(self, topic: str) -> list[object]:
        return await self.memory.presence(topic)

    async def history(self, topic: str, since: Position) -> list[Published]:
        if self.before_history is not None:
            await self.before_history()
        return await self.memory.history(topic, since)

    async def kept(self, topic: str, after: int | None) -> tuple[Position, list[Published]]:
        self._check("kept")
        return await self.memory.kept(topic, after)


async def publish_in_rpc(connection: HubConnection, params: Any) -> Any:
    return (await connection.hub.publish("t", params)).offset


async def describe(connection: HubConnection, params: Any) -> Any:
    return repr(connection)


def outage_app(backend: Outage) -> FastrAPI:
    app = FastrAPI(hub=Hub(backend=backend))
    app.hub_route(
        "/hub",
        rpc={"publish": publish_in_rpc, "describe": describe},
        presence=lambda connection, topic: "ann",
        presence_events=True,
    )
    return app


async def command(ws: WebSocketTestSession, **fields: Any) -> dict[str, Any]:
    await ws.send_text(orjson.dumps(fields).decode())
    while True:
        message: dict[str, Any] = orjson.loads(await ws.receive_text())
        if message["type"] not in ("ping", "publication", "join", "leave"):
            return message


async def test_commands_while_the_backend_is_away_get_503_and_leave_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Outage()
    with trio.fail_after(10):
        async with open_websocket(outage_app(backend), "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["type"] == "hello"
            backend.down = {"publish", "kept"}
            for fields in (
                {"type": "publish", "id": 1, "topic": "t", "data": 1},
                {"type": "rpc", "id": 2, "method": "publish", "params": 2},
                {"type": "subscribe", "id": 3, "topic": "t"},
            ):
                reply = await command(ws, **fields)
                assert (reply["type"], reply["id"], reply["code"]) == ("error", fields["id"], 503)
            backend.down = {"publish"}  # the subscription works; its join notice cannot go out
            subscribed = await command(ws, type="subscribe", id=4, topic="t")
            assert subscribed["type"] == "subscribed"  # not 409: the failed one left nothing
            described = await command(ws, type="rpc", id=5, method="describe")
            assert described["result"].endswith("topics=['t']>")
    assert "the join to 't' was not announced" in caplog.text


def test_hub_route_callables_that_cannot_be_planned_are_refused() -> None:
    app = FastrAPI(hub=Hub())
    with pytest.raises(RouteDefinitionError, match="takes a callable"):
        app.hub_route("/a", can_subscribe=42)  # type: ignore[arg-type]  # the point of the test
    with pytest.raises(RouteDefinitionError, match="cannot read its signature"):
        app.hub_route("/b", can_publish=type)


async def broken_dependency() -> None:
    raise HTTPException(503, "the user store is away")


async def test_a_handshake_dependency_failing_with_a_5xx_closes_with_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastrAPI(hub=Hub())
    app.hub_route("/hub", dependencies=[Depends(broken_dependency)])
    with trio.fail_after(10), caplog.at_level(logging.INFO, "fastrapi.hub"):
        async with open_websocket(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert await ws.wait_closed() == (1011, "the user store is away")


async def test_a_client_without_a_presence_value_subscribes_unlisted() -> None:
    app = FastrAPI(hub=Hub())
    app.hub_route("/hub", presence=lambda connection, topic: None, presence_events=True)
    with trio.fail_after(10):
        async with open_websocket(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
            assert orjson.loads(await ws.receive_text())["type"] == "hello"
            subscribed = await command(ws, type="subscribe", id=1, topic="t")
            assert subscribed["type"] == "subscribed"
            present = await command(ws, type="presence", id=2, topic="t")
            assert present["result"] == {"members": []}


async def test_a_message_published_while_a_member_recovers_comes_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """It reaches the member live (held while the history is read) and in the history: it is
    delivered once, from the history."""
    backend = Outage()
    hub = Hub(backend=backend, history_size=10)
    app = FastrAPI(hub=hub)

    @app.websocket("/ws")
    async def handler(ws: WebSocket, epoch: str, offset: int) -> None:
        await ws.accept()
        async with hub.join("t", ws, since=Position(epoch, offset), envelope=False):
            await ws.receive_text()  # until the client leaves

    with trio.fail_after(10):
        first = await hub.publish("t", "before")
        backend.before_history = lambda: hub.publish("t", "during")
        path = f"/ws?epoch={first.epoch}&offset={first.offset}"
        async with open_websocket(app, path) as ws:
            assert await ws.receive_text() == "during"
            with trio.move_on_after(5):
                extra = await ws.receive_text()
                pytest.fail(f"a message came twice: {extra!r}")
            await ws.send_text("bye")
