"""HTTP responses. A handler returns one of these, or a dict/list (JSON) or a str (text).

Every response is an ASGI app (``await response(scope, receive, send)``), as Starlette's are.
A plain :class:`Response` has its body and headers ready when it is made, so sending it is two
ASGI messages and nothing else; :class:`StreamingResponse` and :class:`FileResponse` send their
body in pieces, and stop as soon as the client leaves.
"""

from __future__ import annotations

import http.cookies
import logging
import os
import stat
import time
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from email.utils import format_datetime, formatdate
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import quote

import orjson
import trio

from . import _files
from ._json import dumps
from ._streams import ContentStream, iterate, stream_until_disconnect
from .datastructures import Headers
from .exceptions import FastAPIDeprecationWarning

if TYPE_CHECKING:
    from ._types import Receive, Scope, Send
    from .background import BackgroundTasks

__all__ = [
    "FileResponse",
    "HTMLResponse",
    "JSONResponse",
    "MutableHeaders",
    "ORJSONResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "Response",
    "StreamingResponse",
    "UJSONResponse",
]

logger: Final = logging.getLogger("fastrapi")

RawHeaders = list[tuple[bytes, bytes]]


class MutableHeaders:
    """A response's headers: case-insensitive, in order, and a name may repeat (several
    ``set-cookie``). ``headers[name]`` is the first value, :meth:`getlist` every one;
    ``headers[name] = value`` replaces every value, :meth:`append` adds one.

    It is a view of the response's raw header list (lower-case names, latin-1 bytes): a change
    here is what is sent.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: RawHeaders | None = None) -> None:
        self.raw: RawHeaders = raw if raw is not None else []
        """The ``(name, value)`` byte pairs, names lower-case."""

    def _indexes(self, key: str) -> list[int]:
        name = key.lower().encode("latin-1")
        return [i for i, (k, _) in enumerate(self.raw) if k == name]

    def __getitem__(self, key: str) -> str:
        name = key.lower().encode("latin-1")
        for k, v in self.raw:
            if k == name:
                return v.decode("latin-1")
        raise KeyError(key)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key``, or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in order."""
        return [self.raw[i][1].decode("latin-1") for i in self._indexes(key)]

    def __setitem__(self, key: str, value: str) -> None:
        found = self._indexes(key)
        pair = (key.lower().encode("latin-1"), value.encode("latin-1"))
        if not found:
            self.raw.append(pair)
            return
        self.raw[found[0]] = pair
        for i in reversed(found[1:]):
            del self.raw[i]

    def __delitem__(self, key: str) -> None:
        found = self._indexes(key)
        if not found:
            raise KeyError(key)
        for i in reversed(found):
            del self.raw[i]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._indexes(key))

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.raw)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MutableHeaders):
            return sorted(self.raw) == sorted(other.raw)
        if isinstance(other, Mapping):
            return sorted(self.items()) == sorted((k.lower(), v) for k, v in other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def keys(self) -> list[str]:
        """Every name, repeats included, in order."""
        return [k.decode("latin-1") for k, _ in self.raw]

    def values(self) -> list[str]:
        """Every value, in order."""
        return [v.decode("latin-1") for _, v in self.raw]

    def items(self) -> list[tuple[str, str]]:
        """Every (name, value) pair, repeats included, in order."""
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw]

    def append(self, key: str, value: str) -> None:
        """Add a value of ``key``, keeping those it has (a second ``set-cookie``)."""
        self.raw.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def setdefault(self, key: str, value: str) -> str:
        """The first value of ``key``; set it to ``value`` first if it has none."""
        found = self.get(key)
        if found is None:
            self.append(key, value)
            return value
        return found

    def update(self, other: Mapping[str, str]) -> None:
        """Set every header of ``other`` (replacing their values here)."""
        for key, value in other.items():
            self[key] = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.items()!r})"


def _no_body(status_code: int) -> bool:
    return status_code < 200 or status_code in (204, 304)


class Response:
    """An HTTP response with a body of bytes (or text, encoded as UTF-8).

    Args:
        content: The body (``None``: empty); a subclass may take other content and
            :meth:`render` it.
        status_code: The HTTP status.
        headers: Extra headers; ``content-length`` and ``content-type`` are set for you
            (unless given here).
        media_type: The ``content-type`` (the class's default if ``None``); a ``text/`` type
            gets ``; charset=utf-8``.
        background: Run after the response is sent (a :class:`~fastrapi.BackgroundTasks`, or
            any ``async``/plain callable of no arguments); see :doc:`/background`.

    ``status_code``, ``headers`` (:class:`MutableHeaders`) and ``background`` may be changed
    until the response is sent. :meth:`set_cookie` and :meth:`delete_cookie` add cookies.
    """

    media_type: ClassVar[str | None] = None
    charset: ClassVar[str] = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | Any | None = None,
    ) -> None:
        self._start(status_code, media_type, background)
        self.body = self.render(content)
        self.raw_headers = self._head(headers)

    def _start(
        self, status_code: int, media_type: str | None, background: BackgroundTasks | Any | None
    ) -> None:
        """What every response's constructor sets first."""
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type  # type: ignore[misc]  # this response's own
        self.background = background

    def render(self, content: Any) -> bytes:
        """Turn ``content`` into the body bytes.

        Raises:
            TypeError: ``content`` is not ``str``, ``bytes`` or ``None``.
        """
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode(self.charset)
        if isinstance(content, memoryview | bytearray):
            return bytes(content)
        raise TypeError(f"{type(self).__name__} takes str or bytes, not {type(content).__name__}")

    def _head(self, headers: Mapping[str, str] | None, length: bool = True) -> RawHeaders:
        """The raw headers: the given ones, then ``content-length`` and ``content-type``
        where they are missing."""
        raw: RawHeaders = []
        has_length = has_type = False
        if headers:
            for key, value in headers.items():
                name = key.lower().encode("latin-1")
                has_length = has_length or name == b"content-length"
                has_type = has_type or name == b"content-type"
                raw.append((name, value.encode("latin-1")))
        if length and not has_length and not _no_body(self.status_code):
            raw.append((b"content-length", str(len(self.body)).encode()))
        kind = self.media_type
        if kind is not None and not has_type:
            if kind.startswith("text/") and "charset=" not in kind:
                kind += "; charset=" + self.charset
            raw.append((b"content-type", kind.encode("latin-1")))
        return raw

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """(Re)make the raw headers from ``headers`` and the body (Starlette's name, for
        subclasses that change the body after ``__init__``)."""
        self.raw_headers = self._head(headers)

    @property
    def headers(self) -> MutableHeaders:
        """The headers to send (a view: changing it changes the response)."""
        return MutableHeaders(self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Add a ``set-cookie`` header (Starlette's parameters; several cookies may be set).

        ``expires`` is a date, an HTTP date string, or seconds from now.

        Raises:
            ValueError: ``samesite`` is not ``"lax"``, ``"strict"`` or ``"none"``, or
                ``key`` is not a valid cookie name.
        """
        cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        try:
            cookie[key] = value
        except http.cookies.CookieError as exc:
            raise ValueError(f"invalid cookie name {key!r}: {exc}") from None
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            if isinstance(expires, datetime):
                morsel["expires"] = format_datetime(expires, usegmt=True)
            elif isinstance(expires, int):
                morsel["expires"] = formatdate(time.time() + expires, usegmt=True)
            else:
                morsel["expires"] = expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in ("strict", "lax", "none"):
                raise ValueError(f"samesite must be 'strict', 'lax' or 'none', not {samesite!r}")
            morsel["samesite"] = samesite
        text = cookie.output(header="").strip()
        if partitioned:
            text += "; Partitioned"
        self.raw_headers.append((b"set-cookie", text.encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        """Tell the client to drop the cookie ``key`` (one that expired already)."""
        self.set_cookie(
            key,
            max_age=0,
            expires=0,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )

    async def send_to(self, send: Send, *, head: bool = False) -> None:
        """Send this response over ASGI; ``head`` leaves the body out (a HEAD request)."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": b"" if head else self.body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send this response: the ASGI app form (``await response(scope, receive, send)``)."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else self.body}
        )


class PlainTextResponse(Response):
    """A ``text/plain`` response."""

    media_type = "text/plain"


class HTMLResponse(Response):
    """A ``text/html`` response."""

    media_type = "text/html"


class JSONResponse(Response):
    """An ``application/json`` response; ``content`` is serialised with orjson (compact,
    UTF-8), pydantic models and anything :func:`~fastrapi.encoders.jsonable_encoder` knows
    (sets, ``Decimal``...) included.

    Raises:
        TypeError: ``content`` cannot be serialised.
    """

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | Any | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        """``content`` as JSON bytes."""
        return dumps(content)


class ORJSONResponse(JSONResponse):
    """FastAPI's orjson response: a :class:`JSONResponse` that also takes non-string dict keys
    (fastrapi's JSON is orjson already). Deprecated, as in FastAPI: each one made warns
    :class:`~fastrapi.exceptions.FastAPIDeprecationWarning`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _deprecated(type(self))
        super().__init__(*args, **kwargs)

    def render(self, content: Any) -> bytes:
        """``content`` as JSON bytes (non-string keys allowed)."""
        return dumps(content, orjson.OPT_NON_STR_KEYS)


class UJSONResponse(JSONResponse):
    """FastAPI's ``UJSONResponse``: rendered with ``ujson`` when it is installed, else as
    :class:`JSONResponse` (the same JSON; orjson is faster anyway). Deprecated, as in FastAPI:
    each one made warns :class:`~fastrapi.exceptions.FastAPIDeprecationWarning`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _deprecated(type(self))
        super().__init__(*args, **kwargs)

    def render(self, content: Any) -> bytes:
        """``content`` as JSON bytes."""
        try:
            import ujson  # type: ignore[import-untyped,import-not-found,unused-ignore]  # optional
        except ImportError:
            return dumps(content)
        return ujson.dumps(content, ensure_ascii=False).encode()  # type: ignore[no-any-return,unused-ignore]


def _deprecated(cls: type[Response]) -> None:
    warnings.warn(
        f"{cls.__name__} is deprecated (as in FastAPI): JSONResponse is orjson already",
        FastAPIDeprecationWarning,
        stacklevel=3,
    )


class RedirectResponse(Response):
    """A redirect to ``url`` (307 by default: the client repeats the method and body)."""

    def __init__(
        self,
        url: str,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTasks | Any | None = None,
    ) -> None:
        super().__init__(b"", status_code, headers, None, background)
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")


class StreamingResponse(Response):
    """A response whose body comes from an iterator, sent piece by piece as it yields
    (``transfer-encoding: chunked`` unless ``content-length`` is given).

    ``content`` is an async iterable or a plain iterable of ``str`` or ``bytes``; a plain one
    is iterated in a worker thread, so a blocking generator does not stop the server. When
    the client leaves, the iteration is cancelled at once (an async generator gets
    ``trio.Cancelled`` at its ``await``, then is closed); an error of the iterator is logged
    and ends the connection (the client sees a truncated body).
    """

    def __init__(
        self,
        content: ContentStream,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | Any | None = None,
    ) -> None:
        self._start(status_code, media_type, background)
        self.body = b""
        self.body_iterator = content
        self.raw_headers = self._head(headers, length=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head, then each piece as it comes; stop when the client leaves."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        await stream_until_disconnect(self._pieces(), scope, receive, send)

    async def send_to(self, send: Send, *, head: bool = False) -> None:
        """Send this response without watching for the client leaving (see ``__call__``)."""

        async def never() -> Any:
            await trio.sleep_forever()

        await self({"method": "HEAD" if head else "GET", "path": ""}, never, send)

    async def _pieces(self) -> AsyncIterator[bytes]:
        charset = self.charset
        async for piece in iterate(self.body_iterator):
            yield piece.encode(charset) if isinstance(piece, str) else bytes(piece)


class FileResponse(Response):
    """A file, streamed in ``chunk_size`` pieces (never read whole), with HTTP's file
    features: ``ETag`` and ``Last-Modified`` (a GET or HEAD whose ``If-None-Match`` or
    ``If-Modified-Since`` still holds gets 304 and no body), ``Accept-Ranges`` and byte ranges
    (``Range: bytes=0-99`` gets 206 with ``Content-Range``; several ranges a
    ``multipart/byteranges`` body; a range past the end 416; a malformed header, or more than
    16 ranges, the whole file), HEAD (the headers only).

    Args:
        path: The file. It is looked at when the response is sent: a missing or unreadable
            file is logged (with its path) and answered 500, a directory likewise.
        status_code: The status of a full response.
        headers: Extra headers.
        media_type: The content type (default: from ``filename`` or ``path``, else
            ``text/plain``).
        background: Run after the response is sent.
        filename: Sets ``Content-Disposition`` (``attachment; filename="..."``, or RFC 5987's
            ``filename*=utf-8''...`` for a non-ASCII name). Only its last path component is
            used: ``"../../etc/passwd"`` is sent as ``passwd``.
        stat_result: The file's ``os.stat`` if you have it (saves a call).
        method: Ignored (Starlette's; the request's method is used).
        content_disposition_type: ``"attachment"`` (download) or ``"inline"``.
    """

    chunk_size: int = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike[str],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTasks | Any | None = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        method: str | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        self.path = path
        self.filename = filename
        self.stat_result = stat_result
        if media_type is None:
            media_type = _files.guess_type(filename or os.fspath(path), "text/plain")
        self._start(status_code, media_type, background)
        self.body = b""
        self.raw_headers = self._head(headers, length=False)
        if filename is not None:
            self.raw_headers.append(
                (b"content-disposition", _disposition(content_disposition_type, filename))
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the file (or 304, 206, 416 as the request's headers ask)."""
        info = self.stat_result
        try:
            if info is None:
                info = await trio.to_thread.run_sync(os.stat, self.path)
            if not stat.S_ISREG(info.st_mode):
                raise IsADirectoryError(f"{os.fspath(self.path)!r} is not a regular file")
        except OSError as exc:
            logger.error(
                "FileResponse for %s %s: file at path %r cannot be sent: %s",
                scope.get("method", "?"),
                scope.get("path", "?"),
                os.fspath(self.path),
                exc,
            )
            await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            return
        size = info.st_size
        etag, modified = _files.validators(info)
        head = list(self.raw_headers)
        names = {k for k, _ in head}
        if b"etag" not in names:
            head.append((b"etag", etag.encode()))
        if b"last-modified" not in names:
            head.append((b"last-modified", modified.encode()))
        head.append((b"accept-ranges", b"bytes"))
        method = scope.get("method", "GET")
        status = self.status_code
        ranges: list[_files.Range] | None = None
        if method in ("GET", "HEAD") and status == 200:
            request = Headers.from_raw(scope.get("headers", ()))
            if _files.not_modified(request, etag, info.st_mtime):
                validators = [(k, v) for k, v in head if k in (b"etag", b"last-modified")]
                start = {"type": "http.response.start", "status": 304, "headers": validators}
                await send(start)
                await send({"type": "http.response.body", "body": b""})
                return
            asked = request.get("range")
            if asked is not None and _files.if_range_holds(request.get("if-range"), etag, modified):
                ranges = _files.parse_range(asked, size)
        if ranges == []:
            refusal = PlainTextResponse(
                "Range Not Satisfiable", 416, headers={"content-range": f"bytes */{size}"}
            )
            await refusal(scope, receive, send)
            return
        heads: list[bytes] | None = None
        boundary = ""
        if ranges is None:
            ranges = [(0, size - 1)] if size else []
            length = size
        else:
            status = 206
            if len(ranges) == 1:
                first, last = ranges[0]
                head.append((b"content-range", f"bytes {first}-{last}/{size}".encode()))
                length = last - first + 1
            else:
                kind = self.media_type or "application/octet-stream"
                boundary, heads, length = _files.multipart_parts(ranges, size, kind)
                head = [(k, v) for k, v in head if k != b"content-type"]
                head.append(
                    (b"content-type", f"multipart/byteranges; boundary={boundary}".encode())
                )
        head.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": head})
        if method == "HEAD" or not ranges:
            await send({"type": "http.response.body", "body": b""})
            return
        pieces = _files.read_ranges(self.path, ranges, self.chunk_size, heads, boundary)
        await stream_until_disconnect(pieces, scope, receive, send)


def _disposition(kind: str, filename: str) -> bytes:
    """A ``Content-Disposition`` value naming ``filename``'s last path component only (no
    directories, no control characters, no quotes that could end the value early)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c != '"') or "download"
    quoted = quote(name)
    if quoted != name:
        return f"{kind}; filename*=utf-8''{quoted}".encode("latin-1")
    return f'{kind}; filename="{name}"'.encode("latin-1")
