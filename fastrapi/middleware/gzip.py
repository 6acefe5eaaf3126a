"""Gzip compression of HTTP responses: ``app.add_middleware(GZipMiddleware, minimum_size=1000)``."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Final, final

from ..datastructures import Headers
from .cors import add_vary

if TYPE_CHECKING:
    from .._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["GZipMiddleware"]

_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
_NEVER: Final = ("text/event-stream",)  # a compressor would hold events back


@final
class GZipMiddleware:
    """Compress HTTP responses with gzip for clients that accept it (``Accept-Encoding:
    gzip``), as Starlette's (and so FastAPI's) does.

    A response whose whole body is smaller than ``minimum_size`` goes as it is; so does one that
    has a ``Content-Encoding`` already, and a ``text/event-stream`` (Server-Sent Events) whatever
    its size. A streamed response is compressed chunk by chunk, each flushed at once (no
    ``Content-Length``), so a slow stream still arrives as it is produced. Compressed responses
    get ``Content-Encoding: gzip`` and ``Vary: Accept-Encoding``. WebSockets pass untouched (their
    compression is permessage-deflate, which the native server negotiates).

    Args:
        app: The ASGI app to wrap (given by ``add_middleware``).
        minimum_size: The smallest body, in bytes, worth compressing (default 500).
        compresslevel: zlib's level, 1 (fast) to 9 (small); default 9.

    Raises:
        ValueError: ``compresslevel`` is not 1 to 9, or ``minimum_size`` is negative.
    """

    def __init__(self, app: ASGIApp, minimum_size: int = 500, compresslevel: int = 9) -> None:
        if not 1 <= compresslevel <= 9:
            raise ValueError(f"compresslevel must be 1 to 9, not {compresslevel!r}")
        if minimum_size < 0:
            raise ValueError(f"minimum_size must not be negative, not {minimum_size!r}")
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http" or not _accepts_gzip(scope):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Compressing(self, send).send)


def _accepts_gzip(scope: Scope) -> bool:
    accepted = Headers.from_raw(scope["headers"]).get("accept-encoding", "")
    return any(part.split(";")[0].strip().lower() == "gzip" for part in accepted.split(","))


@final
class _Compressing:
    """One response on its way through the compressor."""

    def __init__(self, gzip: GZipMiddleware, send: Send) -> None:
        self._gzip = gzip
        self._send = send
        self._start: Message | None = None  # held until the first body says how to send
        self._compressor: zlib._Compress | None = None
        self._passing = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self._start = message
            return
        if kind != "http.response.body" or self._passing:
            await self._send(message)
            return
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        start = self._start
        if start is not None:  # the first body
            self._start = None
            headers = Headers.from_raw(start.get("headers", []))
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            small = not more and len(body) < self._gzip.minimum_size
            if "content-encoding" in headers or media in _NEVER or small:
                self._passing = True
                await self._send(start)
                await self._send(message)
                return
            self._compressor = zlib.compressobj(
                self._gzip.compresslevel, zlib.DEFLATED, _GZIP_WBITS
            )
            data = self._compress(body, more)
            raw = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            raw.append((b"content-encoding", b"gzip"))
            add_vary(raw, b"Accept-Encoding")
            if not more:
                raw.append((b"content-length", str(len(data)).encode()))
            await self._send({**start, "headers": raw})
            await self._send({"type": "http.response.body", "body": data, "more_body": more})
            return
        await self._send(
            {"type": "http.response.body", "body": self._compress(body, more), "more_body": more}
        )

    def _compress(self, body: bytes, more: bool) -> bytes:
        compressor = self._compressor
        assert compressor is not None  # made with the first body; not user input
        data = compressor.compress(body)
        return data + compressor.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
