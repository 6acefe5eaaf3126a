"""Serving a file over HTTP, for :class:`~fastrapi.responses.FileResponse` (and through it
:class:`~fastrapi.staticfiles.StaticFiles`): validators, conditional requests, byte ranges.

Pure helpers (no I/O) but :func:`read_ranges`, which reads the file in chunks, never whole.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Final

import trio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .datastructures import Headers

CHUNK_SIZE: Final = 64 * 1024
MAX_RANGES: Final = 16
"""More ranges than this in one request and the whole file is sent instead (RFC 9110 14.2
lets a server ignore a Range header; many small ranges are a known denial-of-service)."""

Range = tuple[int, int]
"""A byte range: first and last byte, both included."""


def guess_type(name: str, default: str) -> str:
    """The content type of a file named ``name``, from its extension."""
    kind, _ = mimetypes.guess_type(name)
    return kind or default


def validators(info: os.stat_result) -> tuple[str, str]:
    """The ``ETag`` and ``Last-Modified`` of a file."""
    return f'"{info.st_mtime_ns:x}-{info.st_size:x}"', formatdate(info.st_mtime, usegmt=True)


def not_modified(headers: Headers, etag: str, mtime: float) -> bool:
    """Whether the client's copy (``If-None-Match``, else ``If-Modified-Since``) is current."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return etag in tags or "*" in tags
    since = headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return int(mtime) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False


def parse_range(value: str, size: int) -> list[Range] | None:
    """The byte ranges a ``Range`` header asks of a file of ``size`` bytes, sorted and merged.

    ``None`` means "send the whole file": the header is malformed, not in bytes, or asks for
    too many ranges (a server may ignore a Range header). ``[]`` means no range can be
    satisfied (416).
    """
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    ranges: list[Range] = []
    parts = spec.split(",")
    if len(parts) > MAX_RANGES:
        return None
    for part in parts:
        first, dash, last = part.strip().partition("-")
        first, last = first.strip(), last.strip()
        if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
            return None
        if first == "":
            if last == "":
                return None
            length = int(last)  # the last N bytes
            if length > 0 and size > 0:
                ranges.append((max(size - length, 0), size - 1))
            continue
        start = int(first)
        if last and int(last) < start:
            return None  # invalid: the header is ignored
        if start < size:
            ranges.append((start, min(int(last) if last else size - 1, size - 1)))
    ranges.sort()
    merged: list[Range] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def if_range_holds(value: str | None, etag: str, last_modified: str) -> bool:
    """Whether an ``If-Range`` (if any) still names this version of the file."""
    return value is None or value.strip() in (etag, last_modified)


def multipart_parts(
    ranges: list[Range], size: int, content_type: str
) -> tuple[str, list[bytes], int]:
    """For a ``multipart/byteranges`` body: the boundary, each part's header, and the body's
    total length."""
    boundary = secrets.token_hex(13)
    heads = [
        (
            f"--{boundary}\r\ncontent-type: {content_type}\r\n"
            f"content-range: bytes {start}-{end}/{size}\r\n\r\n"
        ).encode("latin-1")
        for start, end in ranges
    ]
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = sum(len(h) for h in heads) + sum(e - s + 1 for s, e in ranges)
    length += 2 * (len(ranges) - 1) + len(tail)  # the CRLF before each later boundary
    return boundary, heads, length


async def read_ranges(
    path: str | os.PathLike[str],
    ranges: list[Range],
    chunk_size: int,
    heads: list[bytes] | None = None,
    boundary: str = "",
) -> AsyncIterator[bytes]:
    """The bytes of ``ranges`` of the file, chunk by chunk (each part after its head in
    ``heads``, and the closing boundary, for a multipart body).

    Raises:
        OSError: the file cannot be read, or shrank while it was read.
    """
    async with await trio.open_file(path, "rb") as file:
        for index, (start, end) in enumerate(ranges):
            if heads is not None:
                yield (b"\r\n" if index else b"") + heads[index]
            await file.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = await file.read(min(chunk_size, left))
                if not chunk:
                    raise OSError(f"{os.fspath(path)} shrank while it was being sent")
                left -= len(chunk)
                yield chunk
    if heads is not None:
        yield f"\r\n--{boundary}--\r\n".encode()
