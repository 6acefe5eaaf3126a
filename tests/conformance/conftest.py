"""A raw-frame client for the conformance tests: no WebSocket library on the client side."""

from __future__ import annotations

import base64
import contextlib
import os
import struct
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import trio

from fastrapi import FastrAPI, WebSocket, WebSocketDisconnect
from fastrapi.server import _codec
from fastrapi.testing import _serving

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
) -> bytes:
    """A client frame (RFC 6455 5.2); ``length`` lies about the payload length if given."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 2**16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    keystream = (key * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")
    return head + key + masked.to_bytes(len(payload), "big")


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


@dataclass
class Frame:
    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        """The code of a close frame (``None``: no code, 1005)."""
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


class RawClient:
    """Writes bytes, reads server frames; checks the server never masks (RFC 6455 5.1)."""

    def __init__(self, stream: trio.abc.Stream, buffered: bytes = b"") -> None:
        self.stream = stream
        self.buffer = bytearray(buffered)

    async def send(self, *frames: bytes) -> None:
        await self.stream.send_all(b"".join(frames))

    async def _need(self, n: int) -> bool:
        while len(self.buffer) < n:
            try:
                data = await self.stream.receive_some(2**20)
            except trio.BrokenResourceError:
                # a socket peer that closed with our last frame unread resets; that is an end too
                return False
            if not data:
                return False
            self.buffer += data
        return True

    async def read(self) -> Frame | None:
        """The next frame, or ``None`` when the server closed the connection."""
        if not await self._need(2):
            return None
        b0, b1 = self.buffer[0], self.buffer[1]
        assert not b1 & 0x80, "a server must not mask its frames"
        n, at = b1 & 0x7F, 2
        if n == 126:
            await self._need(4)
            n, at = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif n == 127:
            await self._need(10)
            n, at = struct.unpack("!Q", self.buffer[2:10])[0], 10
        assert await self._need(at + n), "the connection ended inside a frame"
        payload = bytes(self.buffer[at : at + n])
        del self.buffer[: at + n]
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, payload)

    async def read_data(self) -> Frame:
        """The next frame that is not a ping."""
        while (got := await self.read()) is not None:
            if got.opcode != OP_PING:
                return got
        raise AssertionError("the connection ended")

    async def expect_close(self, code: int | None) -> Frame:
        """Read until the server's close (skipping data and pings); check its code, then the
        end of the connection (the server closes TCP after a close handshake)."""
        while (got := await self.read()) is not None:
            if got.opcode == OP_CLOSE:
                assert got.close_code == code, (got.close_code, got.payload)
                # the reply; a server that closed TCP already makes it fail (EPIPE), as it may
                with contextlib.suppress(trio.BrokenResourceError):
                    await self.send(frame(OP_CLOSE, got.payload[:2]))
                assert await self.read() is None
                return got
        raise AssertionError("the connection ended without a close frame")


def echo_app(**options: Any) -> FastrAPI:
    """The echo app (``/echo``) and ``/close/{code}``; ``options`` replace its settings."""
    app = FastrAPI(**{"max_message_size": 8 * 2**20, "ping_interval": None, **options})

    @app.websocket("/echo")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                await ws.send(await ws.receive())
        except WebSocketDisconnect:
            pass

    @app.websocket("/close/{code:int}")
    async def close(ws: WebSocket, code: int) -> None:
        await ws.accept()
        await ws.close(code, "bye")

    return app


def ending(
    codes: list[int], step: Callable[[WebSocket], Awaitable[object]], **options: Any
) -> FastrAPI:
    """An app (no pings, unless ``options`` say) whose handler accepts, awaits ``step(ws)``
    and records the code of the ``WebSocketDisconnect`` it raises in ``codes``."""
    app = FastrAPI(**{"ping_interval": None, **options})

    @app.websocket("/ws")
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        try:
            await step(ws)
        except WebSocketDisconnect as exc:
            codes.append(exc.code)

    return app


@pytest.fixture(params=["websockets", "wsproto"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each conformance case runs on both codecs."""
    if request.param == "wsproto":
        monkeypatch.setattr(_codec, "HAVE_WEBSOCKETS", False)
    name: str = request.param
    return name


@asynccontextmanager
async def connect(
    path: str = "/echo",
    *,
    extensions: str | None = None,
    compression: bool = False,
    app: FastrAPI | None = None,
    lockstep: bool = False,
) -> AsyncIterator[tuple[RawClient, dict[str, str]]]:
    """Open a WebSocket to ``app`` (the echo app by default) by hand; yield the client and the
    response headers. ``lockstep``: over a stream that is no socket (no inline reads)."""
    app = app or echo_app()
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    )
    if extensions:
        request += f"Sec-WebSocket-Extensions: {extensions}\r\n"
    errors: list[Exception] = []
    async with _serving(
        app, "native", errors, compression=compression, lockstep=lockstep
    ) as stream:
        await stream.send_all((request + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some()
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines[0]
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        yield RawClient(stream, rest), headers
    assert not errors
