"""RFC 6455 close codes: the ``CloseCode`` names and the check on codes we send."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

MAX_REASON_BYTES: Final = 123  # RFC 6455 5.5: a control frame payload is at most 125 bytes


class CloseCode(IntEnum):
    """The close codes of RFC 6455 section 7.4.1 (names as in wsproto)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXT = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE_FAILED = 1015


# 1005, 1006 and 1015 only report what happened; they must never be sent (RFC 6455 7.4.1).
_SENDABLE: Final = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015))


def validate_close(code: int, reason: str) -> None:
    """Check that ``code`` and ``reason`` may go into a close frame we send.

    Raises:
        ValueError: ``code`` is reserved or out of range, or ``reason`` is over 123 bytes.
    """
    if code not in _SENDABLE and not 3000 <= code <= 4999:
        raise ValueError(f"close code {code} cannot be sent: use 1000-1003, 1007-1014 or 3000-4999")
    if len(reason.encode()) > MAX_REASON_BYTES:
        raise ValueError(f"close reason is {len(reason.encode())} bytes in UTF-8, at most 123")
