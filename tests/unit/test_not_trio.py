"""An asyncio server (uvicorn, say) gets one line that says fastrapi needs Trio."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastrapi import FastrAPI, WebSocket
from fastrapi.app import NOT_TRIO

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    import pytest


def call_under_asyncio(scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[Any]:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        raise AssertionError("never called off Trio")

    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    return sent


def test_lifespan_startup_fails_with_the_line() -> None:
    sent = call_under_asyncio({"type": "lifespan"}, [{"type": "lifespan.startup"}])
    assert sent == [{"type": "lifespan.startup.failed", "message": NOT_TRIO}]
    assert "Hypercorn's trio worker" in NOT_TRIO


def test_http_gets_500_with_the_line(caplog: pytest.LogCaptureFixture) -> None:
    sent = call_under_asyncio({"type": "http", "method": "GET", "path": "/"}, [])
    assert sent[0]["status"] == 500
    assert sent[1]["body"] == NOT_TRIO.encode()
    assert caplog.messages == [NOT_TRIO]


def test_websocket_is_closed_with_the_line_logged(caplog: pytest.LogCaptureFixture) -> None:
    sent = call_under_asyncio({"type": "websocket", "path": "/ws"}, [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1011, "reason": "server is not Trio"}]
    assert caplog.messages == [NOT_TRIO]
