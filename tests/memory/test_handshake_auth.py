"""Handshake refusals a client can read, and the four token carriers, on both servers."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import pytest
import trio

from fastrapi import (
    Depends,
    FastrAPI,
    Header,
    HTTPConnection,
    HTTPException,
    WebSocket,
    WebSocketException,
)
from fastrapi.testing import HandshakeRejected, _handshake, open_live_server

if TYPE_CHECKING:
    from fastrapi.server import ServerName

    from .conftest import Connect

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "handshake_auth.py"


def auth_app() -> FastrAPI:
    spec = importlib.util.spec_from_file_location("handshake_auth", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app: FastrAPI = module.app
    return app


CARRIERS: list[tuple[str, str, dict[str, Any]]] = [
    ("query", "/query?token=secret-ann", {}),
    ("header", "/header", {"headers": {"Authorization": "Bearer secret-ann"}}),
    ("cookie", "/cookie", {"headers": {"Cookie": "session=secret-ann"}}),
    ("subprotocol", "/subprotocol", {"subprotocols": ["bearer", "secret-ann"]}),
]
BAD: list[tuple[str, str, dict[str, Any]]] = [
    ("query", "/query?token=wrong", {}),
    ("query-missing", "/query", {}),
    ("header", "/header", {"headers": {"Authorization": "Basic secret-ann"}}),
    ("cookie", "/cookie", {"headers": {"Cookie": "session=wrong"}}),
    ("subprotocol", "/subprotocol", {"subprotocols": ["bearer"]}),
]


@pytest.mark.parametrize(("carrier", "path", "kwargs"), CARRIERS, ids=[c[0] for c in CARRIERS])
async def test_each_token_carrier_lets_the_user_in(
    carrier: str, path: str, kwargs: dict[str, Any], connect: Connect
) -> None:
    with trio.fail_after(5):
        async with connect(auth_app(), path, **kwargs) as client:
            assert await client.receive_json() == {"hello": "ann"}
            await client.send_text("hi")
            assert await client.receive_json() == {"user": "ann", "text": "hi"}
    if carrier == "subprotocol":
        assert client.subprotocol == "bearer"


@pytest.mark.parametrize(("carrier", "path", "kwargs"), BAD, ids=[c[0] for c in BAD])
async def test_a_bad_token_is_a_401_the_client_can_read(
    carrier: str,
    path: str,
    kwargs: dict[str, Any],
    connect: Connect,
    target: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "fastrapi")
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(auth_app(), path, **kwargs):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == 401
    assert caught.value.headers["www-authenticate"] == "Bearer"
    assert orjson.loads(caught.value.body) == {"detail": "invalid or missing token"}
    assert "refused with 401: invalid or missing token" in caplog.text
    assert "1011" not in caplog.text


async def test_handler_http_exception_before_accept_answers_its_status(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket, retry: Annotated[str, Header()] = "5") -> None:
        raise HTTPException(429, "slow down", headers={"Retry-After": retry})

    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, "/ws"):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert (caught.value.status_code, caught.value.headers["retry-after"]) == (429, "5")
    assert orjson.loads(caught.value.body) == {"detail": "slow down"}


async def test_http_exception_after_accept_is_a_1011(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        raise HTTPException(401)

    with trio.fail_after(5):
        async with connect(app, "/ws", raise_server_exceptions=False) as client:
            closed = await client.wait_closed()
    assert closed.code == 1011


async def test_websocket_exception_before_accept_keeps_its_403(connect: Connect) -> None:
    app = FastrAPI()

    def no(ws: WebSocket) -> None:
        raise WebSocketException(4001, "unauthorized")

    @app.websocket("/ws")
    async def handler(ws: WebSocket, _: Annotated[None, Depends(no)]) -> None:
        await ws.accept()  # pragma: no cover

    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(app, "/ws"):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == 403


@pytest.mark.parametrize("server", ["native", "hypercorn"])
async def test_a_failure_before_accept_is_logged_as_the_403_it_was(
    server: ServerName, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastrAPI()

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        raise RuntimeError("bug before accept")

    with trio.fail_after(5):
        async with open_live_server(app, server=server) as address:
            stream = await trio.open_tcp_stream(address.host, address.port)
            with pytest.raises(HandshakeRejected, match="403"):
                await _handshake(stream, "/ws", (), {})
            await stream.aclose()
    assert "WebSocket handler for /ws (client " in caplog.text
    assert "failed; refused with HTTP 403" in caplog.text
    assert "bug before accept" in caplog.text
    assert "1011" not in caplog.text


async def test_a_handshake_hook_can_refuse(connect: Connect) -> None:
    app = FastrAPI()
    seen: list[str] = []

    @app.middleware("websocket")
    async def only_internal(conn: HTTPConnection) -> None:
        seen.append(conn.url)
        if conn.headers.get("x-internal") != "yes":
            raise HTTPException(403, "internal clients only")

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("in")

    with trio.fail_after(5):
        async with connect(app, "/ws", headers={"x-internal": "yes"}) as client:
            assert await client.receive_text() == "in"
        with pytest.raises(HandshakeRejected) as caught:
            async with connect(app, "/ws?x=1"):
                pytest.fail("the handshake must be refused")  # pragma: no cover
    assert (caught.value.status_code, caught.value.body) == (
        403,
        b'{"detail":"internal clients only"}',
    )
    assert seen[1].endswith("/ws?x=1")


async def test_a_failing_handshake_hook_is_a_500(connect: Connect) -> None:
    app = FastrAPI()

    @app.middleware("websocket")
    async def broken(conn: HTTPConnection) -> None:
        raise RuntimeError("hook bug")

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()  # pragma: no cover

    with trio.fail_after(5), pytest.raises(RuntimeError, match="hook bug"):
        async with connect(app, "/ws"):
            pytest.fail("the handshake must be refused")  # pragma: no cover


def test_middleware_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="'http' or 'websocket'"):
        FastrAPI().middleware("lifespan")  # type: ignore[arg-type]
