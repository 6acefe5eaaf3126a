"""Read-only views of a request's headers, query string and form, uploaded files, and a peer
address."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, BinaryIO, Final, NamedTuple, TypeVar, final
from urllib.parse import parse_qsl

import trio
from pydantic_core import core_schema

if TYPE_CHECKING:
    import pydantic

_T = TypeVar("_T")

__all__ = ["Address", "FormData", "Headers", "QueryParams", "UploadFile", "parse_cookies"]


class Address(NamedTuple):
    """A host and port: the peer (``ws.client``) or where a server listens."""

    host: str
    port: int

    def url(self, path: str = "/", scheme: str = "http") -> str:
        """The URL of ``path`` on this address, e.g. ``address.url("/ws", scheme="ws")``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{path}"


class _MultiMapping(Mapping[str, str]):
    """A mapping whose keys may repeat; ``m[key]`` is the last value, ``getlist`` gives all."""

    __slots__ = ("_items", "_last")

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items = [(self._key(k), v) for k, v in items]
        self._last = dict(self._items)

    @staticmethod
    def _key(key: str) -> str:
        return key

    def __getitem__(self, key: str) -> str:
        return self._last[self._key(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._key(key) in self._last

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key``, in order; ``[]`` if there is none."""
        key = self._key(key)
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (key, value) pair, in order, repeats included."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


@final
class Headers(_MultiMapping):
    """HTTP headers: case-insensitive keys (stored lower-case), decoded as latin-1."""

    __slots__ = ()

    @classmethod
    def from_raw(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Headers from the raw byte pairs of an ASGI scope."""
        return cls((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)

    @staticmethod
    def _key(key: str) -> str:
        return key.lower()


@final
class QueryParams(_MultiMapping):
    """The parameters of a query string; ``getlist`` gives every value of a repeated key."""

    __slots__ = ()

    @classmethod
    def from_query_string(cls, query: bytes | str) -> QueryParams:
        """Parse an URL-encoded query string (``b"a=1&b=2"``)."""
        text = query.decode("latin-1") if isinstance(query, bytes) else query
        if "%" in text or "+" in text:
            return cls(parse_qsl(text, keep_blank_values=True))
        # nothing to decode (most queries): parse_qsl's split, without its per-field work
        return cls(
            (name, value)
            for name, _, value in (field.partition("=") for field in text.split("&") if field)
        )


def parse_cookies(header: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` header; a malformed header gives no cookies, not an error."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


SPOOL_MAX_SIZE: Final = 2**20
"""Bytes of an uploaded file kept in memory; past this it is spooled to a temporary file."""


class UploadFile:
    """A file of a multipart form (FastAPI's ``UploadFile``): its name, content type and
    headers, and its bytes in :attr:`file`, a ``SpooledTemporaryFile`` kept in memory up to
    1 MiB and on disk past that.

    The async methods run the file's I/O in a worker thread once it is on disk, so a large
    upload never blocks the server. A route's upload files are closed after its response.

    Args:
        file: The file object holding the bytes (read from its current position).
        size: Its size in bytes, if known (kept up to date by :meth:`write`).
        filename: The name the client gave, if any.
        headers: The part's headers (``content-type`` among them).
    """

    def __init__(
        self,
        file: BinaryIO,
        *,
        size: int | None = None,
        filename: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.file = file
        self.size = size
        self.filename = filename
        self.headers: Mapping[str, str] = headers if headers is not None else Headers(())

    @property
    def content_type(self) -> str | None:
        """The part's ``Content-Type``, if it had one."""
        return self.headers.get("content-type")

    @property
    def _in_memory(self) -> bool:
        return not getattr(self.file, "_rolled", True)

    async def _io(self, call: Callable[[], _T]) -> _T:
        if self._in_memory:
            return call()
        return await trio.to_thread.run_sync(call)

    async def write(self, data: bytes) -> None:
        """Append ``data`` at the file's position (and count it in :attr:`size`)."""
        if self.size is not None:
            self.size += len(data)
        await self._io(partial(self.file.write, data))

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes from the current position (all of the rest by default)."""
        return await self._io(partial(self.file.read, size))

    async def seek(self, offset: int) -> None:
        """Move to byte ``offset`` (``await file.seek(0)`` to read again)."""
        await self._io(partial(self.file.seek, offset))

    async def close(self) -> None:
        """Close the file (a temporary file on disk is deleted)."""
        await self._io(self.file.close)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated as itself: a form field that is text, not a file, is an error."""
        return core_schema.no_info_plain_validator_function(_upload_file)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: pydantic.GetJsonSchemaHandler
    ) -> dict[str, Any]:
        """A binary string in the API documents (OpenAPI 3.1's, as FastAPI has it)."""
        return {"type": "string", "contentMediaType": "application/octet-stream"}

    def __repr__(self) -> str:
        return (
            f"UploadFile(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"
        )


def _upload_file(value: object) -> UploadFile:
    if not isinstance(value, UploadFile):
        raise ValueError(f"Expected UploadFile, received: {type(value)}")
    return value


@final
class FormData(Mapping[str, "str | UploadFile"]):
    """A request's form fields (the last value of each name; :meth:`getlist` for all)."""

    def __init__(self, items: Iterable[tuple[str, str | UploadFile]]) -> None:
        self._items = list(items)
        self._last = dict(self._items)

    def __getitem__(self, key: str) -> str | UploadFile:
        return self._last[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def getlist(self, key: str) -> list[str | UploadFile]:
        """Every value of ``key``, in order."""
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, str | UploadFile]]:
        """Every (name, value) pair, in order."""
        return list(self._items)

    async def close(self) -> None:
        """Close every uploaded file of the form."""
        for _, value in self._items:
            if isinstance(value, UploadFile):
                await value.close()

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"
