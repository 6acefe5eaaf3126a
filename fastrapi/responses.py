"""HTTP responses. A handler returns one of these, or a dict/list (JSON) or a str (text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ._json import dumps

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._types import Send

__all__ = ["HTMLResponse", "JSONResponse", "PlainTextResponse", "Response"]


class Response:
    """An HTTP response with a body of bytes (or text, encoded as UTF-8).

    Args:
        content: The body.
        status_code: The HTTP status.
        headers: Extra headers; ``content-length`` and ``content-type`` are set for you.
        media_type: The ``content-type`` without its charset (the class's default if ``None``).
    """

    media_type: ClassVar[str | None] = None

    def __init__(
        self,
        content: bytes | str = b"",
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.body = self.render(content)
        self.status_code = status_code
        self.headers = dict(headers or {})
        kind = media_type or self.media_type
        if kind is not None and "content-type" not in {k.lower() for k in self.headers}:
            if kind.startswith("text/"):
                kind += "; charset=utf-8"
            self.headers["content-type"] = kind

    def render(self, content: object) -> bytes:
        """Turn ``content`` into the body bytes."""
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode()
        raise TypeError(f"{type(self).__name__} takes str or bytes, not {type(content).__name__}")

    async def send_to(self, send: Send, *, head: bool = False) -> None:
        """Send this response over ASGI; ``head`` leaves the body out (a HEAD request)."""
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
        raw.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if head else self.body})


class PlainTextResponse(Response):
    """A ``text/plain`` response."""

    media_type = "text/plain"


class HTMLResponse(Response):
    """A ``text/html`` response."""

    media_type = "text/html"


class JSONResponse(Response):
    """An ``application/json`` response; ``content`` is serialised with orjson (pydantic
    models in it as their JSON form).

    Raises:
        TypeError: ``content`` cannot be serialised.
    """

    media_type = "application/json"

    def __init__(
        self,
        content: object,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(dumps(content), status_code, headers, media_type)
