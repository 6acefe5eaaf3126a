"""The codecs' interface where the fuzz tests do not reach it (``server/_codec.py``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fastrapi.server._codec import CodecName, negotiate

CODECS: list[CodecName] = ["wsproto", "websockets"]


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("offer", [None, "permessage-deflate"])
def test_binary_and_text_messages_are_framed(name: CodecName, offer: str | None) -> None:
    _, codec = negotiate(name, offer, compression=True, max_message_size=1024)
    text, binary = codec.message("hé"), codec.message(b"\x00\x01")
    if offer is None:  # an unmasked server frame: FIN and the opcode, the length, the payload
        assert text == b"\x81\x03" + "hé".encode()
        assert binary == b"\x82\x02\x00\x01"
    else:  # compressed: RSV1 set
        assert (text[0], binary[0]) == (0xC1, 0xC2)


def test_without_the_websockets_package_wsproto_is_the_codec() -> None:
    """In a process where ``websockets`` cannot be imported, ``ws="auto"`` is wsproto and
    ``ws="websockets"`` says what to install."""
    script = (
        "import sys; sys.modules['websockets'] = None\n"
        "from fastrapi.server import _codec\n"
        "assert not _codec.HAVE_WEBSOCKETS\n"
        "assert _codec.pick_codec('auto') == 'wsproto'\n"
        "try:\n"
        "    _codec.pick_codec('websockets')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "needs the websockets package: pip install websockets" in done.stdout
