"""Server frames built without a protocol object: for messages on a connection with no
extension (the common case), the frame is a header and the payload (RFC 6455 section 5.2)."""

from __future__ import annotations

import struct
from typing import Final

TEXT: Final = 0x1
BINARY: Final = 0x2
_FIN: Final = 0x80


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One unfragmented, unmasked frame (a server's) carrying ``payload``."""
    size = len(payload)
    if size < 126:
        head = bytes((_FIN | opcode, size))
    elif size < 1 << 16:
        head = struct.pack("!BBH", _FIN | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", _FIN | opcode, 127, size)
    return head + payload
