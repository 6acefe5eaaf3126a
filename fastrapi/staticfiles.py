"""Static files: ``app.mount("/static", StaticFiles(directory="static"))``."""

from __future__ import annotations

import mimetypes
import stat
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

import trio

from ._json import dumps
from .datastructures import Headers

if TYPE_CHECKING:
    import os

    from ._types import Receive, Scope, Send

__all__ = ["StaticFiles"]

CHUNK_SIZE: Final = 64 * 1024


@final
class StaticFiles:
    """An ASGI app serving the files under ``directory``, for :meth:`~fastrapi.FastrAPI.mount`.

    It answers GET and HEAD (405 otherwise) with the file's content type (from its name),
    ``Content-Length``, ``ETag`` and ``Last-Modified``; a request whose ``If-None-Match`` or
    ``If-Modified-Since`` still holds gets 304 and no body. Files are streamed in
    ``chunk_size`` pieces, never read whole. Nothing outside ``directory`` is served: a path
    with ``..``, an encoded slash or backslash, a NUL, or a symbolic link that leads out is a
    404, as is a missing file or (unless ``html``) a directory.

    Args:
        directory: The folder to serve; it must exist.
        html: Serve ``index.html`` for a directory's path.
        chunk_size: Bytes read and sent at a time.

    Raises:
        ValueError: ``directory`` is not a directory.
    """

    def __init__(
        self, *, directory: str | os.PathLike[str], html: bool = False, chunk_size: int = CHUNK_SIZE
    ) -> None:
        root = Path(directory).resolve()
        if not root.is_dir():
            raise ValueError(f"StaticFiles directory {str(directory)!r} is not a directory")
        self.directory: Final = root
        self.html = html
        self.chunk_size = chunk_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point (HTTP requests only)."""
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, {"detail": "Method Not Allowed"}, [(b"allow", b"GET, HEAD")])
            return
        found = await trio.to_thread.run_sync(self._lookup, scope)
        if found is None:
            await _answer(send, 404, {"detail": "Not Found"})
            return
        path, info = found
        etag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
        headers = [
            (b"etag", etag.encode()),
            (b"last-modified", formatdate(info.st_mtime, usegmt=True).encode()),
        ]
        if _not_modified(Headers.from_raw(scope.get("headers", ())), etag, info.st_mtime):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        kind, _ = mimetypes.guess_type(path.name)
        kind = kind or "application/octet-stream"
        if kind.startswith("text/") or kind == "application/javascript":
            kind += "; charset=utf-8"
        headers += [
            (b"content-type", kind.encode()),
            (b"content-length", str(info.st_size).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        left = info.st_size  # what the head promised, even if the file grows meanwhile
        async with await trio.open_file(path, "rb") as file:
            while left > 0:
                chunk = await file.read(min(self.chunk_size, left))
                if not chunk:
                    break  # the file shrank: the connection ends short, as the server decides
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        if left > 0:
            raise OSError(f"{path} shrank while it was being sent")

    def _lookup(self, scope: Scope) -> tuple[Path, os.stat_result] | None:
        """The file a request names and its stat, or ``None`` if it must not be served."""
        raw = bytes(scope.get("raw_path") or b"").lower()
        if b"%2f" in raw or b"%5c" in raw or b"%00" in raw:
            return None  # an encoded slash or NUL: never a file name of ours
        parts = [p for p in str(scope["path"]).split("/") if p not in ("", ".")]
        if any(p == ".." or "\\" in p or "\x00" in p for p in parts):
            return None
        try:
            path = self.directory.joinpath(*parts).resolve(strict=True)
            if not path.is_relative_to(self.directory):
                return None  # a symbolic link that leads out
            if path.is_dir() and self.html:
                path = path / "index.html"
            info = path.stat()
        except (OSError, RuntimeError):  # missing, unreadable, a symlink loop
            return None
        return (path, info) if stat.S_ISREG(info.st_mode) else None


def _not_modified(headers: Headers, etag: str, mtime: float) -> bool:
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


async def _answer(
    send: Send, status: int, detail: object, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = dumps(detail)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
