"""The fastrapi.hub.v1 protocol on a Redis Hub: positions before any message, recovery across
two Hubs (two processes), the topic's kept messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pytest
import trio

from fastrapi import FastrAPI, Hub
from fastrapi.hub import Position
from fastrapi.hub._protocol import SUBPROTOCOL
from fastrapi.testing import open_websocket

if TYPE_CHECKING:
    from .server import RedisServer

pytestmark = pytest.mark.integration


async def test_kept_gives_a_position_before_any_message_and_what_is_kept(
    redis_server: RedisServer,
) -> None:
    hub = Hub(redis_server.url, history_size=3)
    with trio.fail_after(10):
        async with hub.running():
            backend = hub._backend
            position, none = await backend.kept("t", None)
            assert (position.offset, none) == (0, [])
            again, _ = await backend.kept("t", None)
            assert again == position  # the epoch made once, kept
            for n in range(5):
                assert await hub.publish("t", n) == Position(position.epoch, n + 1)
            now, kept = await backend.kept("t", 3)
            assert now == Position(position.epoch, 5)
            assert [(p.position.offset, p.wire.data) for p in kept] == [(4, "3"), (5, "4")]
            _, everything = await backend.kept("t", 0)
            offsets = [p.position.offset for p in everything]  # MAXLEN ~: at least the last 3
            assert offsets == list(range(offsets[0], 6))
            assert offsets[0] <= 3


async def test_a_client_recovers_what_another_hub_published(redis_server: RedisServer) -> None:
    here, there = Hub(redis_server.url, history_size=50), Hub(redis_server.url, history_size=50)
    app = FastrAPI(hub=here)
    app.hub_route("/hub")
    with trio.fail_after(20):
        async with here.running(), there.running():
            async with open_websocket(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
                await ws.receive_json()  # hello
                await ws.send_json({"type": "subscribe", "id": 1, "topic": "t"})
                subscribed = await ws.receive_json()
                assert (subscribed["offset"], subscribed["recovered"]) == (0, False)
                await there.publish("t", "one")
                first = await ws.receive_json()
                assert (first["data"], first["offset"]) == ("one", 1)
            for n in range(2, 6):
                await there.publish("t", n)
            async with open_websocket(app, "/hub", subprotocols=[SUBPROTOCOL]) as ws:
                await ws.receive_json()
                since = {"epoch": first["epoch"], "offset": 1}
                await ws.send_json({"type": "subscribe", "id": 1, "topic": "t", "since": since})
                subscribed = await ws.receive_json()
                assert (subscribed["was_recovering"], subscribed["recovered"]) == (True, True)
                await there.publish("t", 6)
                got = [orjson.loads(await ws.receive_text()) for _ in range(5)]
                assert [(m["offset"], m["data"]) for m in got] == [(n, n) for n in range(2, 7)]
