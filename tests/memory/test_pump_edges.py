"""Pump paths that depend on the server: the idle timeout where no attendant runs (ASGI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from tests.conformance.conftest import ending

if TYPE_CHECKING:
    from fastrapi import WebSocket

    from .conftest import Connect


async def test_an_idle_client_is_closed_with_1001_on_every_server(connect: Connect) -> None:
    """On Hypercorn (ASGI: no attendant) the idle timeout is a scope around each read of the
    reader task; on the native server, an attendant's timer."""
    codes: list[int] = []
    received: list[str] = []

    async def twice(ws: WebSocket) -> None:
        received.append(await ws.receive_text())  # came in time
        await ws.receive_text()  # does not

    app = ending(codes, twice, idle_timeout=0.3)
    with trio.fail_after(10):
        async with connect(app, "/ws") as client:
            await client.send_text("in time")
            closed = await client.wait_closed()
    assert closed.code == 1001
    assert (received, codes) == (["in time"], [1001])
