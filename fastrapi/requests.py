"""The HTTP request an HTTP handler may ask for (``async def f(request: Request)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import orjson

from ._connection import HTTPConnection
from ._forms import parse_form
from .datastructures import UploadFile
from .exceptions import HTTPException

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from ._types import Message, Receive, Scope
    from .datastructures import FormData

__all__ = ["Request"]

_DEFAULT_MAX_BODY: Final = 2**20


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class Request(HTTPConnection):
    """One HTTP request: method, URL, headers, query and path parameters, and its body.

    fastrapi makes one for each request. A custom route class (see
    :meth:`~fastrapi.routing.APIRoute.get_route_handler`) may make its own from the one it got,
    as with Starlette: ``MyRequest(request.scope, request.receive)``; a subclass may override
    :meth:`body` (keeping what it read in ``self._body``).

    Args:
        scope: The request's ASGI scope.
        receive: Its ASGI ``receive`` (none: an empty body).
        send: Accepted for Starlette's sake; unused.
        path_params: The path parameters (default: the scope's ``"path_params"``).
        max_body_size: Largest body read (default: the app's ``max_body_size``).
    """

    _body: bytes
    """The body once read (absent until then)."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive | None = None,
        send: object = None,
        *,
        path_params: dict[str, object] | None = None,
        max_body_size: int | None = None,
    ) -> None:
        super().__init__(
            scope, scope.get("path_params", {}) if path_params is None else path_params
        )
        self._receive = receive or _no_body
        if max_body_size is None:
            max_body_size = getattr(scope.get("app"), "max_body_size", _DEFAULT_MAX_BODY)
        self._max_body_size = max_body_size
        self._streamed = False
        self._form: FormData | None = None

    @property
    def receive(self) -> Receive:
        """The request's ASGI ``receive``."""
        return self._receive

    @property
    def method(self) -> str:
        """The HTTP method, upper-case."""
        return str(self._scope["method"])

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """The request body, chunk by chunk as it arrives (once; after :meth:`body`, the kept
        body in one chunk).

        Raises:
            HTTPException: 413 as soon as more than the app's ``max_body_size`` has arrived.
            RuntimeError: the body was streamed already.
        """
        if hasattr(self, "_body"):
            yield self._body
            return
        self._start_reading()
        size = 0
        more = True
        while more:
            chunk, more, size = await self._next_chunk(size)
            if chunk:
                yield chunk

    async def body(self) -> bytes:
        """The whole request body (read once, then kept).

        Raises:
            HTTPException: 413 when the body is over the app's ``max_body_size`` (found while
                reading, never after).
        """
        if hasattr(self, "_body"):
            return self._body
        if type(self).stream is not Request.stream:  # a subclass's stream: its chunks
            self._body = b"".join([chunk async for chunk in self.stream()])
            return self._body
        # (no async generator: under Trio each one costs a finaliser hook and a WeakSet entry)
        self._start_reading()
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            chunk, more, size = await self._next_chunk(size)
            if chunk:
                chunks.append(chunk)
        self._body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._body

    def _start_reading(self) -> None:
        if self._streamed:
            raise RuntimeError("the request body was streamed already")
        self._streamed = True

    async def _next_chunk(self, size: int) -> tuple[bytes, bool, int]:
        """The next chunk of the body, whether more follows, and the size read with it.

        Raises:
            HTTPException: 413 when the size goes over ``max_body_size``.
        """
        message = await self._receive()
        if message["type"] != "http.request":  # http.disconnect: the client left
            return b"", False, size
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > self._max_body_size:
            raise HTTPException(413, f"request body over {self._max_body_size} bytes")
        return chunk, message.get("more_body", False), size

    async def form(self) -> FormData:
        """The body as a form: ``application/x-www-form-urlencoded`` or ``multipart/form-data``
        (files as :class:`~fastrapi.datastructures.UploadFile`, spooled to disk past 1 MiB and
        closed after the response). Read once, then kept.

        Raises:
            HTTPException: 415 for another content type, 400 for a malformed or truncated
                body, 413 for one over ``max_body_size``.
        """
        if self._form is None:
            self._form = await parse_form(self.headers.get("content-type", ""), self.stream())
        return self._form

    async def close(self) -> None:
        """Close the files of the form read from the body, if any (fastrapi does it after the
        response; it does not wait)."""
        if self._form is not None:
            for _, value in self._form.multi_items():
                if isinstance(value, UploadFile):
                    value.file.close()

    async def json(self) -> object:
        """The body parsed as JSON.

        Raises:
            HTTPException: 400 when the body is not valid JSON, 413 when it is too large.
        """
        try:
            return orjson.loads(await self.body())
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
