"""The WebSocket opening handshake of RFC 6455 section 4.2, checked and answered. Pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..datastructures import Headers
    from ._parser import RequestHead

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a handshake is refused: the HTTP status, a short text, extra headers."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


def reason_phrase(status: int) -> bytes:
    """The status line's reason phrase (``b"OK"`` for 200); empty for a status we don't know."""
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def check(request: RequestHead, headers: Headers) -> Refusal | None:
    """Check a WebSocket upgrade request; ``None`` if it may proceed to the app."""
    if request.method != b"GET":
        return Refusal(405, "a WebSocket handshake must be a GET", (("allow", "GET"),))
    if request.http_version != b"1.1":
        return Refusal(400, "a WebSocket handshake needs HTTP/1.1")
    connection = {t.strip().lower() for v in headers.getlist("connection") for t in v.split(",")}
    if "upgrade" not in connection:
        return Refusal(400, "the Connection header must contain 'upgrade'")
    if headers.get("sec-websocket-version") != "13":
        return Refusal(
            426, "only WebSocket version 13 is supported", (("sec-websocket-version", "13"),)
        )
    if not _valid_key(headers.get("sec-websocket-key", "")):
        return Refusal(400, "Sec-WebSocket-Key must be 16 bytes in base64")
    return None


def _valid_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def accept_key(key: str) -> str | None:
    """The ``Sec-WebSocket-Accept`` value for ``key``; ``None`` if ``key`` is malformed."""
    if not _valid_key(key):
        return None
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode()


def subprotocols(headers: Headers) -> list[str]:
    """The subprotocols offered in ``Sec-WebSocket-Protocol``, in order."""
    return [
        p.strip()
        for value in headers.getlist("sec-websocket-protocol")
        for p in value.split(",")
        if p.strip()
    ]
