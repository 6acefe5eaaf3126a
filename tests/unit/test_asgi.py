"""The ASGI transport's edge: what an ASGI server's failed send means to the pump."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi._asgi import ASGITransport

if TYPE_CHECKING:
    from fastrapi._types import Message


@pytest.mark.parametrize("error", [OSError("gone"), trio.BusyResourceError("busy")])
async def test_a_failed_send_is_a_broken_connection(error: Exception) -> None:
    async def receive() -> Message:
        raise AssertionError("not called")  # pragma: no cover

    async def send(message: Message) -> None:
        raise error

    transport = ASGITransport({"type": "websocket"}, receive, send)
    with trio.fail_after(5):
        for unit in (transport.encode("text"), transport.encode_close(1000, "")):
            with pytest.raises(trio.BrokenResourceError) as caught:
                await transport.write([unit])
            assert caught.value.__cause__ is error
