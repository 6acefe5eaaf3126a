"""A WebSocket that an ASGI middleware wraps is closed with 1001 at a graceful shutdown of the
native server, as any other."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect

if TYPE_CHECKING:
    from fastrapi._types import ASGIApp, Message, Receive, Scope, Send

pytestmark = pytest.mark.integration


class Wrapping:
    """Wraps the WebSocket's ``send``: the session runs over the bridge's ASGI calls."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def passing(message: Message) -> None:
            await send(message)

        await self.app(scope, receive, passing)


async def test_shutdown_closes_a_wrapped_websocket_with_1001() -> None:
    app = FastrAPI()
    app.add_middleware(Wrapping)
    handler_saw: list[int] = []

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await ws.receive()
        except WebSocketDisconnect as exc:
            handler_saw.append(exc.code)

    stop = trio.Event()

    def client(url: str, token: trio.lowlevel.TrioToken) -> tuple[int | None, str | None]:
        with connect(url) as ws:
            trio.from_thread.run_sync(stop.set, trio_token=token)
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            return ws.close_code, ws.close_reason

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            address = await nursery.start(
                partial(app.serve, "127.0.0.1", 0, shutdown_trigger=stop.wait)
            )
            closed = await trio.to_thread.run_sync(
                client, address.url("/ws", scheme="ws"), trio.lowlevel.current_trio_token()
            )
    assert closed == (1001, "server shutting down")
    assert handler_saw == [1001]
