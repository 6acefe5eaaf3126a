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


@pytest.mark.parametrize("extensions", [{"websocket.http.response": {}}, {}, None])
async def test_a_refusal_uses_the_http_response_extension_where_offered(
    extensions: dict[str, object] | None,
) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("not called")  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "extensions": extensions}
    transport = ASGITransport(scope, receive, send)
    with trio.fail_after(5):
        await transport.reject(401, [(b"www-authenticate", b"Bearer")], b'{"detail":"no"}')
    if extensions:
        assert sent == [
            {
                "type": "websocket.http.response.start",
                "status": 401,
                "headers": [(b"www-authenticate", b"Bearer"), (b"content-length", b"15")],
            },
            {"type": "websocket.http.response.body", "body": b'{"detail":"no"}'},
        ]
    else:  # the server answers a close before accept with its own 403
        assert sent == [{"type": "websocket.close", "code": 1008}]
