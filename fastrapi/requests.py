"""The HTTP request an HTTP handler may ask for (``async def f(request: Request)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, final

import orjson

from ._connection import HTTPConnection
from .exceptions import HTTPException

if TYPE_CHECKING:
    from ._types import Receive, Scope

__all__ = ["Request"]


@final
class Request(HTTPConnection):
    """One HTTP request: method, URL, headers, query and path parameters, and its body.

    Created by fastrapi for each request; never construct one yourself.
    """

    def __init__(
        self, scope: Scope, path_params: dict[str, object], receive: Receive, max_body_size: int
    ) -> None:
        super().__init__(scope, path_params)
        self._receive = receive
        self._max_body_size = max_body_size
        self._body: bytes | None = None

    @property
    def method(self) -> str:
        """The HTTP method, upper-case."""
        return str(self._scope["method"])

    async def body(self) -> bytes:
        """The whole request body (read once, then kept).

        Raises:
            HTTPException: 413 when the body is over the app's ``max_body_size``.
        """
        if self._body is None:
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await self._receive()
                if message["type"] != "http.request":  # http.disconnect: the client left
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._max_body_size:
                    raise HTTPException(413, f"request body over {self._max_body_size} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> object:
        """The body parsed as JSON.

        Raises:
            HTTPException: 400 when the body is not valid JSON, 413 when it is too large.
        """
        try:
            return orjson.loads(await self.body())
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
