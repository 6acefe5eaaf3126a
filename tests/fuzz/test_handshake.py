"""The opening handshake's checks (``_handshake.py``) and the permessage-deflate negotiation
(``_codec.negotiate``), fed headers a hostile client could send.

The property: a request is let through or refused with a 4xx and a reason; a key gives an
accept value or ``None``; an extension offer gives a response header we can parse back (or none,
when nothing in it can be accepted), never an exception.
"""

from __future__ import annotations

import base64
import hashlib
from http import HTTPStatus

import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st
from websockets.headers import parse_extension

from fastrapi import FastrAPI, WebSocket
from fastrapi.datastructures import Headers
from fastrapi.server._codec import CodecName, negotiate
from fastrapi.server._handshake import accept_key, check, reason_phrase, subprotocols
from fastrapi.server._parser import RequestHead
from fastrapi.testing import open_live_server
from tests.fuzz.conftest import memory_kept

CODECS: list[CodecName] = ["wsproto", "websockets"]
GOOD_KEY = "dGhlIHNhbXBsZSBub25jZQ=="

tokens = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
header_values = st.one_of(tokens, st.text(max_size=8))
keys = st.one_of(
    st.binary(min_size=0, max_size=20).map(lambda b: base64.b64encode(b).decode()),
    st.just(GOOD_KEY),
    header_values,
)


@st.composite
def handshakes(draw: st.DrawFn) -> tuple[RequestHead, Headers]:
    names = st.sampled_from(
        [
            "connection",
            "upgrade",
            "sec-websocket-version",
            "sec-websocket-key",
            "sec-websocket-protocol",
            "host",
        ]
    )
    fields = [
        ("connection", draw(st.sampled_from(["Upgrade", "keep-alive, upgrade", "close"]))),
        ("sec-websocket-version", draw(st.sampled_from(["13", "8", "13, 8", ""]))),
        ("sec-websocket-key", draw(keys)),
    ]
    fields += draw(st.lists(st.tuples(names, header_values), max_size=3))
    fields = draw(st.permutations(fields))
    head = RequestHead(
        draw(st.sampled_from([b"GET", b"POST", b"get"])),
        b"/ws",
        draw(st.sampled_from([b"1.1", b"1.0"])),
        [(k.encode(), v.encode("latin-1", "replace")) for k, v in fields],
        None,
        True,
        False,
    )
    return head, Headers(fields)


@given(handshakes())
def test_a_handshake_is_let_through_or_refused_with_a_4xx(
    handshake: tuple[RequestHead, Headers],
) -> None:
    head, headers = handshake
    refusal = check(head, headers)
    if refusal is None:
        assert accept_key(headers["sec-websocket-key"]) is not None
    else:
        assert 400 <= refusal.status < 500
        assert refusal.reason
    offered = subprotocols(headers)
    assert all(p and p == p.strip() and "," not in p for p in offered)


@given(keys)
@example("dGhlIHNhbXBsZSBub25jZQ")  # unpadded
@example("é")  # not ASCII
def test_a_key_gives_its_accept_value_or_none(key: str) -> None:
    value = accept_key(key)
    try:
        raw = base64.b64decode(key, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        assert value is None
    else:
        digest = hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        assert value == base64.b64encode(digest).decode()


@given(st.integers(0, 1000))
@example(599)
def test_a_status_has_its_reason_phrase_or_none(status: int) -> None:
    phrase = reason_phrase(status)
    if status in HTTPStatus._value2member_map_:
        assert phrase == HTTPStatus(status).phrase.encode()
    else:
        assert phrase == b""


params = st.sampled_from(
    [
        "client_max_window_bits",
        "client_max_window_bits=10",
        "client_max_window_bits=abc",
        "server_max_window_bits=8",
        "server_max_window_bits=15",
        "server_max_window_bits=99",
        "server_no_context_takeover",
        "client_no_context_takeover",
        'server_max_window_bits="12"',
        "foo",
        "",
    ]
)
offers = st.one_of(
    st.lists(
        st.tuples(
            st.sampled_from(["permessage-deflate", "x-webkit-deflate-frame", "x"]),
            st.lists(params, max_size=3),
        ),
        max_size=3,
    ).map(lambda exts: ", ".join("; ".join([name, *ps]) for name, ps in exts)),
    tokens,
    header_values,
)


@given(offers)
@example(",,,")  # websockets' parser raised InvalidHeaderFormat from accept()
@example("permessage-deflate; client_max_window_bits=abc")  # wsproto raised ValueError
@example("permessage-deflate; foo=1")  # wsproto accepted it, ignoring foo (RFC 7692 7)
def test_an_extension_offer_is_accepted_or_declined_alike_by_both_codecs(offer: str) -> None:
    headers = []
    for name in CODECS:
        header, codec = negotiate(name, offer, compression=True, max_message_size=1024)
        if header is not None:
            [(extension, _)] = parse_extension(header)
            assert extension == "permessage-deflate"
        assert codec.message("hello")
        headers.append(header)
    assert headers[0] == headers[1], offer


app = FastrAPI()


@app.websocket("/ws")
async def hello(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hello")


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("offer", [b",,,", b"permessage-deflate; client_max_window_bits=abc"])
async def test_a_malformed_extension_offer_is_declined_over_a_socket(
    codec: CodecName, offer: bytes
) -> None:
    """``accept()`` raised (InvalidHeaderFormat with websockets, ValueError with wsproto): the
    handler failed with a traceback in the log and the client got nothing at all."""
    with trio.fail_after(10):
        async with open_live_server(app, ws=codec) as address:
            stream = await trio.open_tcp_stream(address.host, address.port)
            async with stream:
                await stream.send_all(
                    b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                    b"Sec-WebSocket-Extensions: %s\r\n\r\n" % (GOOD_KEY.encode(), offer)
                )
                received = b""
                while not received.endswith(b"\x88\x02\x03\xe8"):  # hello, then close 1000
                    data = await stream.receive_some(4096)
                    assert data, received
                    received += data
    head, _, frames = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert b"sec-websocket-extensions" not in head.lower()
    assert frames == b"\x81\x05hello\x88\x02\x03\xe8"


def test_negotiation_gives_memory_back() -> None:
    inputs = ["permessage-deflate", "permessage-deflate; client_max_window_bits", ",,,", "x"] * 10

    def run(offer: object) -> object:
        assert isinstance(offer, str)
        return [negotiate(name, offer, compression=True, max_message_size=64) for name in CODECS]

    assert memory_kept(run, inputs) < 16 * 1024
