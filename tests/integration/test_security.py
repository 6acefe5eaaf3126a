"""A bearer token at a real WebSocket handshake on 127.0.0.1, on both servers, from a client we
did not write: in ``Authorization``, or as the subprotocols a browser can send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import pytest
import trio
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from fastrapi import Depends, FastrAPI, WebSocket
from fastrapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from fastrapi.server import ServerName

pytestmark = pytest.mark.integration


def bearer_app() -> FastrAPI:
    app = FastrAPI()

    @app.websocket("/ws")
    async def whoami(
        ws: WebSocket, cred: Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]
    ) -> None:
        await ws.accept()
        await ws.send_text(cred.credentials)

    return app


def talk(
    url: str, subprotocols: list[Subprotocol] | None = None, headers: dict[str, str] | None = None
) -> tuple[str | bytes, str | None]:
    with connect(url, subprotocols=subprotocols, additional_headers=headers) as ws:
        return ws.recv(timeout=5), ws.subprotocol


async def test_a_token_in_the_subprotocols_or_the_header(server_name: ServerName) -> None:
    offered = [Subprotocol("bearer"), Subprotocol("eyJhbGciOi.J9.sig_-")]
    with trio.fail_after(15):
        async with open_live_server(bearer_app(), server=server_name, shutdown_timeout=1) as server:
            url = server.url("/ws", scheme="ws")
            by_protocol = await trio.to_thread.run_sync(lambda: talk(url, subprotocols=offered))
            by_header = await trio.to_thread.run_sync(
                lambda: talk(url, headers={"Authorization": "Bearer tok"})
            )
    assert by_protocol == ("eyJhbGciOi.J9.sig_-", "bearer")
    assert by_header == ("tok", None)


async def test_no_token_is_a_401_with_its_challenge(server_name: ServerName) -> None:
    def refused(url: str) -> InvalidStatus:
        with pytest.raises(InvalidStatus) as caught:
            talk(url, subprotocols=[Subprotocol("bearer")])
        return caught.value

    with trio.fail_after(15):
        async with open_live_server(bearer_app(), server=server_name, shutdown_timeout=1) as server:
            error = await trio.to_thread.run_sync(refused, server.url("/ws", scheme="ws"))
    assert error.response.status_code == 401
    assert error.response.headers["WWW-Authenticate"] == "Bearer"
    assert error.response.body == b'{"detail":"Not authenticated"}'
