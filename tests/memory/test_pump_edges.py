"""Pump paths that depend on the server: the idle timeout where no attendant runs (ASGI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from fastrapi import WebSocket
from tests.conformance.conftest import ending

if TYPE_CHECKING:
    from .conftest import Connect


async def test_an_idle_client_is_closed_with_1001_on_every_server(connect: Connect) -> None:
    """On Hypercorn (ASGI: no attendant) the idle timeout is a scope around each read of the
    reader task; on the native server, an attendant's timer."""
    codes: list[int] = []
    app = ending(codes, WebSocket.receive_text, idle_timeout=0.2)

    with trio.fail_after(10):
        async with connect(app, "/ws") as client:
            closed = await client.wait_closed()
    assert closed.code == 1001
    assert codes == [1001]
