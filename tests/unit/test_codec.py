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


DECLINED = None


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize(
    ("offer", "response"),
    [
        ("permessage-deflate", "permessage-deflate"),
        # RFC 7692 7: an unknown parameter, one given twice, or an invalid value declines the
        # offer; the next one is considered
        ("permessage-deflate; foo=1", DECLINED),
        ("permessage-deflate; foo", DECLINED),
        ("permessage-deflate; client_no_context_takeoverx", DECLINED),
        (
            "permessage-deflate; foo, permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover",
        ),
        ("permessage-deflate; client_no_context_takeover=1", DECLINED),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", DECLINED),
        ("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", DECLINED),
        ("permessage-deflate; server_max_window_bits", DECLINED),  # a value is required
        ("permessage-deflate; server_max_window_bits=16", DECLINED),
        ("permessage-deflate; client_max_window_bits=09", DECLINED),  # no leading zero
        ("permessage-deflate; server_max_window_bits=8", DECLINED),  # zlib cannot deflate so
        (
            "permessage-deflate; server_max_window_bits=abc, permessage-deflate",
            "permessage-deflate",
        ),
        ("permessage-deflate; client_max_window_bits", "permessage-deflate"),
        (
            "permessage-deflate; client_max_window_bits=8",
            "permessage-deflate; client_max_window_bits=8",
        ),
        (
            'permessage-deflate; client_max_window_bits="10"',
            "permessage-deflate; client_max_window_bits=10",
        ),
        (
            "x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover; "
            "server_no_context_takeover; client_max_window_bits=12; server_max_window_bits=11",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=11; client_max_window_bits=12",
        ),
        # the first acceptable offer is the one taken, in the client's order of preference
        (
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            "permessage-deflate; server_max_window_bits=10",
        ),
        ('permessage-deflate; x="a b", permessage-deflate', DECLINED),  # does not parse
        (
            ",permessage-deflate ;  client_no_context_takeover , ,",
            "permessage-deflate; client_no_context_takeover",
        ),
    ],
)
def test_a_deflate_offer_we_cannot_take_as_given_is_declined_and_the_next_considered(
    name: CodecName, offer: str, response: str | None
) -> None:
    header, codec = negotiate(name, offer, compression=True, max_message_size=1024)
    assert header == response
    compressed = codec.message("hello")[0] & 0x40  # RSV1
    assert bool(compressed) is (response is not None)
