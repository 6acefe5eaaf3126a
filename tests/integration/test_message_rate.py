"""``max_message_rate`` against a client we did not write (websockets) that floods, on real
sockets and both codecs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from fastrapi.testing import open_live_server
from tests.integration.conftest import all_gone
from tests.memory.test_message_rate import echo_app

if TYPE_CHECKING:
    from fastrapi.server._codec import CodecName

pytestmark = pytest.mark.integration

FLOOD = 300


@pytest.mark.parametrize("codec", ["websockets", "wsproto"])
async def test_a_throttled_flood_loses_nothing(codec: CodecName) -> None:
    """300 messages sent as fast as the client can, at 200/s with a burst of 20: all echoed,
    in order, and the connection ends with the client's own close."""
    app, _, codes = echo_app(max_message_rate=200, max_message_burst=20)

    def flood(url: str) -> list[str]:
        with connect(url) as ws:
            for i in range(FLOOD):
                ws.send(f"message {i}")
            return [str(ws.recv(timeout=10)) for _ in range(FLOOD)]

    with trio.fail_after(20):
        async with open_live_server(app, ws=codec) as server:
            echoed = await trio.to_thread.run_sync(flood, server.url("/ws", scheme="ws"))
            await all_gone(app)
    assert echoed == [f"message {i}" for i in range(FLOOD)]
    assert codes == [1000]
    assert app.statistics().messages_in == FLOOD


@pytest.mark.parametrize("codec", ["websockets", "wsproto"])
async def test_a_flood_over_the_rate_is_closed_with_1008(codec: CodecName) -> None:
    """The close policy: the flood gets 1008 "rate limit exceeded", its connection ends at
    once (a failed connection: no close_timeout), and the handler is gone."""
    app, _, codes = echo_app(max_message_rate=10, message_rate_policy="close", close_timeout=30)

    def flood(url: str) -> ConnectionClosedError:
        with connect(url, close_timeout=30) as ws:
            try:
                for i in range(FLOOD):
                    ws.send(f"message {i}")
                while True:
                    ws.recv(timeout=10)
            except ConnectionClosedError as exc:
                return exc
        raise AssertionError("the flood was let through")

    with trio.fail_after(10):
        async with open_live_server(app, ws=codec) as server:
            error = await trio.to_thread.run_sync(flood, server.url("/ws", scheme="ws"))
            await all_gone(app)
            assert codes == [1008]
    assert error.rcvd is not None
    assert (error.rcvd.code, error.rcvd.reason) == (1008, "rate limit exceeded")
    assert app.statistics().close_codes == {1008: 1}
