"""Static files: ``app.mount("/static", StaticFiles(directory="static"))``."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING, Final, final

import trio

from ._files import CHUNK_SIZE, guess_type
from ._json import dumps
from .responses import FileResponse

if TYPE_CHECKING:
    import os

    from ._types import Receive, Scope, Send

__all__ = ["StaticFiles"]


@final
class StaticFiles:
    """An ASGI app serving the files under ``directory``, for :meth:`~fastrapi.FastrAPI.mount`.

    It answers GET and HEAD (405 otherwise) with the file's content type (from its name),
    ``Content-Length``, ``ETag`` and ``Last-Modified``; a request whose ``If-None-Match`` or
    ``If-Modified-Since`` still holds gets 304 and no body; a ``Range`` gets 206 (each file
    goes out through :class:`~fastrapi.responses.FileResponse`). Files are streamed in
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
        kind = guess_type(path.name, "application/octet-stream")
        if kind.startswith("text/") or kind == "application/javascript":
            kind += "; charset=utf-8"
        response = FileResponse(path, media_type=kind, stat_result=info)
        response.chunk_size = self.chunk_size
        await response(scope, receive, send)

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
