"""Request forms: urlencoded through the standard library, multipart through python-multipart.

The body arrives in chunks (already bounded by ``max_body_size``); a multipart body is parsed as
it comes, parts kept in memory. A malformed or truncated body is an ``HTTPException(400)``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from .datastructures import FormData, Headers, UploadFile
from .exceptions import HTTPException

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator


async def parse_form(content_type: str, chunks: AsyncGenerator[bytes, None]) -> FormData:
    """The form in a body of ``content_type``.

    Raises:
        HTTPException: 415 for another content type, 400 for a malformed body, 413 (from
            ``chunks``) for one too large.
    """
    kind, options = parse_options_header(content_type)
    if kind == b"application/x-www-form-urlencoded":
        body = b"".join([chunk async for chunk in chunks])
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise HTTPException(400, "form body is not UTF-8") from None
        return FormData(pairs)
    if kind == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise HTTPException(400, "multipart body without a boundary")
        return await _multipart(boundary, chunks)
    raise HTTPException(415, f"expected a form, got content-type {content_type!r}")


class _Parts:
    """python-multipart's callbacks, collecting the parts."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | UploadFile]] = []
        self.done = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._field = b""
        self._value = b""
        self._data: list[bytes] = []

    def on_part_begin(self) -> None:
        self._headers, self._data = [], []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers.append((self._field.lower(), self._value))
        self._field = self._value = b""

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])

    def on_part_end(self) -> None:
        headers = Headers.from_raw(self._headers)
        _, disposition = parse_options_header(headers.get("content-disposition"))
        if b"name" not in disposition:
            raise HTTPException(400, "a multipart part has no name")
        name = disposition[b"name"].decode("utf-8", "replace")
        content = b"".join(self._data)
        if b"filename" in disposition:
            upload = UploadFile(
                disposition[b"filename"].decode("utf-8", "replace"),
                headers.get("content-type", "application/octet-stream"),
                content,
            )
            self.items.append((name, upload))
        else:
            self.items.append((name, content.decode("utf-8", "replace")))

    def on_end(self) -> None:
        self.done = True


async def _multipart(boundary: bytes, chunks: AsyncGenerator[bytes, None]) -> FormData:
    parts = _Parts()
    callbacks = {
        name: getattr(parts, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_part_data",
            "on_part_end",
            "on_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]  # a TypedDict
    try:
        async with contextlib.aclosing(chunks):  # closed now, not by the GC, if parsing fails
            async for chunk in chunks:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise HTTPException(400, f"malformed multipart body: {exc}") from None
    if not parts.done:
        raise HTTPException(400, "multipart body ends before its closing boundary")
    return FormData(parts.items)
