"""Request forms: urlencoded through the standard library, multipart through python-multipart.

The body arrives in chunks (already bounded by ``max_body_size``); a multipart body is parsed as
it comes. Text fields are kept in memory; each file goes to an
:class:`~fastrapi.datastructures.UploadFile` (a ``SpooledTemporaryFile``: memory up to 1 MiB,
then disk, written from a worker thread once on disk). A malformed or truncated body is an
``HTTPException(400)``, and so is one with more than ``MAX_PARTS`` parts or a text field over
``MAX_FIELD_SIZE``; the files made for it are closed.
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from .datastructures import SPOOL_MAX_SIZE, FormData, Headers, UploadFile
from .exceptions import HTTPException

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

MAX_PARTS: Final = 1000
"""Most parts (fields and files) of one multipart body, as Starlette's default."""
MAX_FIELD_SIZE: Final = 2**20
"""Largest text field of a multipart body, in bytes (files are bounded by ``max_body_size``)."""
MISSING_MULTIPART: Final = (
    'Form data requires "python-multipart" to be installed: pip install python-multipart'
)


def multipart_installed() -> bool:
    """Whether python-multipart can be imported (forms need it)."""
    try:
        import python_multipart  # noqa: F401
    except ImportError:
        return False
    return True


def is_form(content_type: str) -> bool:
    """Whether ``content_type`` is one of the two form types."""
    kind = content_type.partition(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


async def parse_form(content_type: str, chunks: AsyncGenerator[bytes, None]) -> FormData:
    """The form in a body of ``content_type``.

    Raises:
        HTTPException: 415 for another content type, 400 for a malformed body, 413 (from
            ``chunks``) for one too large.
        RuntimeError: python-multipart is not installed.
    """
    try:
        from python_multipart.multipart import parse_options_header
    except ImportError:
        raise RuntimeError(MISSING_MULTIPART) from None

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
    """python-multipart's callbacks, collecting the parts; file data waits in ``pending`` until
    the caller writes it (the callbacks cannot await)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | UploadFile]] = []
        self.files: list[UploadFile] = []
        self.pending: list[tuple[UploadFile, bytes]] = []
        self.done = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._field = b""
        self._value = b""
        self._name = ""
        self._file: UploadFile | None = None
        self._data: list[bytes] = []
        self._size = 0

    def on_part_begin(self) -> None:
        if len(self.items) >= MAX_PARTS:
            raise HTTPException(400, f"multipart body with more than {MAX_PARTS} parts")
        self._headers, self._data, self._size, self._file = [], [], 0, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers.append((self._field.lower(), self._value))
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        headers = Headers.from_raw(self._headers)
        _, disposition = parse_options_header(headers.get("content-disposition"))
        if b"name" not in disposition:
            raise HTTPException(400, "a multipart part has no name")
        self._name = disposition[b"name"].decode("utf-8", "replace")
        if b"filename" in disposition:
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE)  # noqa: SIM115
            self._file = UploadFile(
                spool,  # type: ignore[arg-type]  # a binary file object
                size=0,
                filename=disposition[b"filename"].decode("utf-8", "replace"),
                headers=headers,
            )
            self.files.append(self._file)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self.pending.append((self._file, data[start:end]))
            return
        self._size += end - start
        if self._size > MAX_FIELD_SIZE:
            raise HTTPException(400, f"a multipart field is over {MAX_FIELD_SIZE} bytes")
        self._data.append(data[start:end])

    def on_part_end(self) -> None:
        if self._file is not None:
            self.items.append((self._name, self._file))
        else:
            self.items.append((self._name, b"".join(self._data).decode("utf-8", "replace")))

    def on_end(self) -> None:
        self.done = True


async def _multipart(boundary: bytes, chunks: AsyncGenerator[bytes, None]) -> FormData:
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser

    parts = _Parts()
    callbacks: dict[str, Any] = {
        name: getattr(parts, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
            "on_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]  # a TypedDict
    empty = True
    try:
        async with contextlib.aclosing(chunks):  # closed now, not by the GC, if parsing fails
            async for chunk in chunks:
                empty = False
                parser.write(chunk)
                for upload, data in parts.pending:
                    await upload.write(data)
                parts.pending.clear()
        if empty:  # no body at all: an empty form (its fields are missing), as Starlette's
            return FormData(())
        parser.finalize()
        if not parts.done:
            raise HTTPException(400, "multipart body ends before its closing boundary")
        for upload in parts.files:
            await upload.seek(0)
    except BaseException as exc:
        for upload in parts.files:
            upload.file.close()
        if isinstance(exc, MultipartParseError):
            raise HTTPException(400, f"malformed multipart body: {exc}") from None
        raise
    return FormData(parts.items)
