"""Read-only views of a request's headers, query string and form, and a peer address."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import NamedTuple, final
from urllib.parse import parse_qsl

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
        return cls(parse_qsl(text, keep_blank_values=True))


def parse_cookies(header: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` header; a malformed header gives no cookies, not an error."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


@final
@dataclass(frozen=True, slots=True)
class UploadFile:
    """A file of a multipart form: its name, content type and bytes (kept in memory, bounded
    by the app's ``max_body_size``)."""

    filename: str
    content_type: str
    content: bytes


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

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"
