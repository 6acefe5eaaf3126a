"""The app on 127.0.0.1, on both servers, with clients we did not write."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import struct
from typing import TYPE_CHECKING

import pytest
import trio
from trio_websocket import open_websocket_url
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect
from fastrapi.testing import open_live_server

if TYPE_CHECKING:
    from fastrapi.datastructures import Address
    from fastrapi.server import ServerName

pytestmark = pytest.mark.integration


def make_app() -> FastrAPI:
    app = FastrAPI()

    @app.websocket("/chat/{room}")
    async def chat(ws: WebSocket, room: str, username: str = "Anonymous") -> None:
        await ws.accept()
        try:
            while True:
                message = await ws.receive()
                if isinstance(message, bytes):
                    await ws.send_bytes(message[::-1])
                else:
                    await ws.send_json({"room": room, "user": username, "text": message})
        except WebSocketDisconnect:
            pass

    @app.websocket("/fail")
    async def fail(ws: WebSocket) -> None:
        await ws.accept()
        raise RuntimeError("handler bug")

    @app.websocket("/bye")
    async def bye(ws: WebSocket) -> None:
        await ws.accept()
        await ws.close(4000, "see you")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def test_trio_websocket_client(server_name: ServerName) -> None:
    with trio.fail_after(10):
        async with open_live_server(make_app(), server=server_name, shutdown_timeout=1) as server:
            url = server.url("/chat/lobby?username=ann", scheme="ws")
            async with open_websocket_url(url) as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == '{"room":"lobby","user":"ann","text":"hi"}'
                await ws.send_message(b"abc")
                assert await ws.get_message() == b"cba"


async def test_websockets_library_client(server_name: ServerName) -> None:
    def talk(url: str) -> tuple[str | bytes, int | None, str | None]:
        with connect(url) as ws:
            ws.send("hello")
            reply = ws.recv(timeout=5)
        with connect(url.replace("/chat/x", "/bye")) as ws:
            with contextlib.suppress(Exception):
                ws.recv(timeout=5)
            return reply, ws.close_code, ws.close_reason

    with trio.fail_after(15):
        async with open_live_server(make_app(), server=server_name, shutdown_timeout=1) as server:
            reply, code, reason = await trio.to_thread.run_sync(
                talk, server.url("/chat/x", scheme="ws")
            )
    assert reply == '{"room":"x","user":"Anonymous","text":"hello"}'
    assert (code, reason) == (4000, "see you")


async def test_handler_error_closes_1011_is_logged_and_the_server_carries_on(
    caplog: pytest.LogCaptureFixture, server_name: ServerName
) -> None:
    def close_code(url: str) -> int | None:
        with connect(url) as ws:
            with pytest.raises(ConnectionClosedError):
                ws.recv(timeout=5)
            return ws.close_code

    caplog.set_level(logging.ERROR, "fastrapi")
    with trio.fail_after(10):
        async with open_live_server(make_app(), server=server_name, shutdown_timeout=1) as server:
            # (the websockets client here: trio-websocket 0.12.2 leaks its socket when the
            # server closes first, which pytest reports as an unraisable ResourceWarning)
            code = await trio.to_thread.run_sync(close_code, server.url("/fail", scheme="ws"))
            async with open_websocket_url(server.url("/chat/after", scheme="ws")) as ws:
                await ws.send_message("still serving")
                assert "still serving" in str(await ws.get_message())
    assert code == 1011
    [record] = [r for r in caplog.records if r.name == "fastrapi"]
    assert "/fail" in record.getMessage()
    assert "127.0.0.1:" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "handler bug"


async def raw_request(server: Address, request: bytes) -> tuple[bytes, trio.SocketStream, bytes]:
    """Send ``request``; return the response head, the stream, and what followed the head."""
    stream = await trio.open_tcp_stream(server.host, server.port)
    await stream.send_all(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some()
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, stream, rest


def handshake(path: str, key: bytes) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(key).decode()}\r\n\r\n"
    ).encode()


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + body


async def test_raw_socket_handshake_and_frame(server_name: ServerName) -> None:
    with trio.fail_after(10):
        async with open_live_server(make_app(), server=server_name, shutdown_timeout=1) as server:
            head, stream, rest = await raw_request(server, handshake("/chat/raw", os.urandom(16)))
            assert head.startswith(b"HTTP/1.1 101 ")
            async with stream:
                await stream.send_all(masked_text_frame(b"raw"))
                opcode, payload, rest = await read_frame(stream, rest)
                while opcode == 0x9:  # a ping of the server's own: skip it
                    opcode, payload, rest = await read_frame(stream, rest)
    assert opcode == 0x1
    assert payload == b'{"room":"raw","user":"Anonymous","text":"raw"}'


async def read_frame(stream: trio.SocketStream, data: bytes) -> tuple[int, bytes, bytes]:
    """One short unmasked server frame from ``data`` and the stream: opcode, payload, rest."""
    while len(data) < 2 or len(data) < 2 + (data[1] & 0x7F):
        data += await stream.receive_some()
    assert data[1] < 126, "a short frame"
    end = 2 + data[1]
    return data[0] & 0x0F, data[2:end], data[end:]


@pytest.mark.parametrize(("path", "status"), [("/nowhere", b"404"), ("/chat/a/b", b"404")])
async def test_unknown_websocket_route_is_an_http_404(
    path: str, status: bytes, server_name: ServerName
) -> None:
    with trio.fail_after(10):
        async with open_live_server(make_app(), server=server_name, shutdown_timeout=1) as server:
            head, stream, _ = await raw_request(server, handshake(path, os.urandom(16)))
            await stream.aclose()
    assert head.split(b" ")[1] == status


async def test_http_route_beside_the_websockets(server_name: ServerName) -> None:
    with trio.fail_after(10):
        async with open_live_server(make_app(), server=server_name, shutdown_timeout=1) as server:
            request = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            head, stream, body = await raw_request(server, request)
            async with stream:
                while chunk := await stream.receive_some():
                    body += chunk
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b'{"status":"ok"}'
