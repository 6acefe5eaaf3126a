"""The wire of a published message: encoded once per publish, shared by every subscriber.

``publish(topic, data)`` turns ``data`` into one :class:`Wire`: its text or bytes (what an ASGI
server or a compressing codec sends) and, built once on first need, the unmasked server frame
of RFC 6455 section 5.2 (FIN, opcode, payload length, payload), which a connection without
extensions writes as is. A thousand subscribers share these bytes; nobody encodes again.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Final, final

import orjson

from .._frame import BINARY, TEXT, server_frame
from .._json import check_finite

if TYPE_CHECKING:
    from ._backend import Position

# The Hub's presence notices (``presence_events``), as orjson writes them: the protocol sends
# them as its join and leave messages.
_NOTICES: Final = {b'{"type":"user_joined",': "join", b'{"type":"user_left",': "leave"}


@final
class Wire:
    """One message as it goes out: ``data`` (``str`` for text, ``bytes`` for binary), its
    payload bytes, and its frame."""

    __slots__ = ("_frame", "data", "is_json", "payload")

    def __init__(self, data: str | bytes, payload: bytes, *, is_json: bool = False) -> None:
        self.data = data
        self.payload = payload
        self.is_json = is_json
        """Whether the text is the JSON of published data (not a published ``str``)."""
        self._frame: bytes | None = None

    @property
    def is_text(self) -> bool:
        return isinstance(self.data, str)

    @property
    def frame(self) -> bytes:
        """The server frame, built on first use."""
        if self._frame is None:
            self._frame = server_frame(TEXT if self.is_text else BINARY, self.payload)
        return self._frame

    def __len__(self) -> int:
        return len(self.payload)


def encode(data: object, validate: bool = False) -> Wire:
    """``str`` is a text message, bytes a binary one, anything else JSON (in a text message).
    With ``validate``, JSON is checked for floats it cannot carry (orjson writes them as null).

    Raises:
        TypeError: ``data`` cannot be serialised to JSON.
        ValueError: with ``validate``, ``data`` holds a NaN or an infinity.
    """
    if isinstance(data, str):
        return Wire(data, data.encode())
    if isinstance(data, bytes | bytearray | memoryview):
        payload = bytes(data)
        return Wire(payload, payload)
    try:
        payload = orjson.dumps(data)
    except orjson.JSONEncodeError as exc:
        raise TypeError(
            f"publish() cannot serialise {type(data).__name__} to JSON: {exc}"
        ) from None
    if validate:
        check_finite(payload, data, "publish()")
    return Wire(payload.decode(), payload, is_json=True)


def envelope(wire: Wire, topic: str, position: Position) -> Wire:
    """``wire`` inside ``{"topic", "epoch", "offset", "data"}``, so a client can keep its
    position: JSON data goes in as JSON, text as a JSON string. Binary is left as it is."""
    if not wire.is_text:
        return wire
    head = orjson.dumps({"topic": topic, "epoch": position.epoch, "offset": position.offset})
    body = wire.payload if wire.is_json else orjson.dumps(wire.data)
    payload = head[:-1] + b',"data":' + body + b"}"
    return Wire(payload.decode(), payload, is_json=True)


def publication(wire: Wire, topic: str, position: Position) -> Wire:
    """``wire`` as a ``fastrapi.hub.v1`` message: ``{"type": "publication", "topic", "epoch",
    "offset", "data"}`` (binary data in base64, with ``"encoding": "base64"``), or the Hub's
    presence notice as ``{"type": "join" | "leave", "topic", "epoch", "member", "offset"}``
    (it takes an offset in the topic, so a client's position moves past it)."""
    head = {"type": "publication", "topic": topic, "epoch": position.epoch}
    if not wire.is_text:
        body = (
            orjson.dumps({**head, "offset": position.offset, "encoding": "base64"})[:-1]
            + b',"data":"'
            + base64.b64encode(wire.payload)
            + b'"}'
        )
        return Wire(body.decode(), body, is_json=True)
    kind = notice_kind(wire)
    if kind is not None:
        notice = orjson.loads(wire.payload)
        member = {"member": notice.get("presence"), "offset": position.offset}
        payload = orjson.dumps({**head, "type": kind, **member})
        return Wire(payload.decode(), payload, is_json=True)
    data = wire.payload if wire.is_json else orjson.dumps(wire.data)
    payload = orjson.dumps({**head, "offset": position.offset})[:-1] + b',"data":' + data + b"}"
    return Wire(payload.decode(), payload, is_json=True)


def notice_kind(wire: Wire) -> str | None:
    """``"join"`` or ``"leave"`` if ``wire`` reads as the Hub's presence notice (its JSON
    begins ``{"type":"user_joined",`` or ``{"type":"user_left",``), else ``None``."""
    if wire.is_json and wire.payload.startswith(b'{"type":"user_'):
        for prefix, kind in _NOTICES.items():
            if wire.payload.startswith(prefix):
                return kind
    return None
