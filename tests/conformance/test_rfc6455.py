"""RFC 6455 (and RFC 7692) behaviours, in raw frames, on both codecs.

The cases follow the Autobahn|Testsuite's categories; each names the section it checks.
"""

from __future__ import annotations

import itertools
import zlib

import pytest
import trio
import trio.testing

from .conftest import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RawClient,
    close_payload,
    connect,
    frame,
)

pytestmark = pytest.mark.usefixtures("codec")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 4 * 2**20])
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_BINARY])
async def test_5_2_framing_echo_by_size(opcode: int, size: int) -> None:
    """5.2: payload lengths in 7, 16 and 64 bits, text and binary, from 0 bytes to 4 MiB."""
    payload = b"*" * size
    with trio.fail_after(20):
        async with connect() as (client, _):
            await client.send(frame(opcode, payload))
            echoed = await client.read_data()
            assert (echoed.opcode, echoed.fin, echoed.payload) == (opcode, True, payload)
            await client.send(frame(OP_CLOSE, close_payload(1000)))
            assert (await client.read_data()).close_code == 1000


async def test_5_4_fragments_with_interleaved_pings() -> None:
    """5.4 and 5.5.2: control frames between fragments are answered; the message is whole."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(
                frame(OP_TEXT, b"frag", fin=False),
                frame(OP_PING, b"p1"),
                frame(OP_CONT, b"men", fin=False),
                frame(OP_PING, b"p2"),
                frame(OP_CONT, b"ted"),
            )
            seen = [await client.read() for _ in range(3)]
            assert [(f.opcode, f.payload) for f in seen if f] == [
                (OP_PONG, b"p1"),
                (OP_PONG, b"p2"),
                (OP_TEXT, b"fragmented"),
            ]
            await client.send(frame(OP_CLOSE, close_payload(1000)))
            await client.expect_close(1000)


@pytest.mark.parametrize("payload", [b"", b"hello", b"\xff" * 125])
async def test_5_5_2_ping_is_answered_with_its_payload(payload: bytes) -> None:
    """5.5.2/5.5.3: a pong carries the ping's payload (up to 125 bytes)."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(frame(OP_PING, payload))
            pong = await client.read()
            assert pong is not None
            assert (pong.opcode, pong.payload) == (OP_PONG, payload)
            await client.send(frame(OP_PONG, b"unsolicited"))  # 5.5.3: ignored
            await client.send(frame(OP_TEXT, b"after"))
            assert (await client.read_data()).payload == b"after"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (frame(OP_PING, b"x" * 126), "5.5: control frame over 125 bytes"),
        (frame(OP_PING, b"x", fin=False), "5.5: fragmented control frame"),
        (frame(OP_TEXT, b"x", rsv=1), "5.2: RSV1 without an extension"),
        (frame(OP_TEXT, b"x", rsv=2), "5.2: RSV2"),
        (frame(OP_BINARY, b"x", rsv=4), "5.2: RSV3"),
        (frame(0x3, b"x"), "5.2: reserved data opcode 3"),
        (frame(0x7, b"x"), "5.2: reserved data opcode 7"),
        (frame(0xB, b"x"), "5.2: reserved control opcode 11"),
        (frame(0xF, b"x"), "5.2: reserved control opcode 15"),
        (frame(OP_CONT, b"x"), "5.4: continuation without a start"),
        (frame(OP_TEXT, b"a", fin=False) + frame(OP_TEXT, b"b"), "5.4: new message mid-way"),
        (frame(OP_TEXT, b"x", mask=False), "5.1: unmasked client frame"),
        (frame(OP_CLOSE, b"\x03"), "5.5.1: close payload of 1 byte"),
    ],
)
async def test_protocol_errors_close_with_1002(data: bytes, why: str) -> None:
    """Protocol errors fail the connection with 1002 (7.4.1), after the answer to the message
    before them, though both came in one piece (Autobahn 3.2, 4.1.3, 5.15 "strict")."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(frame(OP_TEXT, b"before"), data)
            first = await client.read_data()
            assert (first.opcode, first.payload) == (OP_TEXT, b"before"), why
            close = await client.read_data()
            assert (close.opcode, close.close_code) == (OP_CLOSE, 1002), why


@pytest.mark.parametrize(
    "frames",
    [
        [frame(OP_TEXT, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")],
        [frame(OP_TEXT, b"\xce\xba\xe1", fin=False), frame(OP_CONT, b"\xff\xcf\x83")],
        [frame(OP_TEXT, b"ok", fin=False), frame(OP_CONT, b"\xc0\xaf")],
        [frame(OP_CLOSE, close_payload(1000, b"\xff\xfe"))],
    ],
    ids=["whole", "fragmented", "overlong", "close-reason"],
)
async def test_8_1_invalid_utf8_closes_with_1007(frames: list[bytes]) -> None:
    """8.1: text (and close reasons, 5.5.1) must be valid UTF-8, else 1007."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(*frames)
            close = await client.read_data()
            assert (close.opcode, close.close_code) == (OP_CLOSE, 1007)


async def test_6_valid_utf8_in_fragments_split_inside_a_character() -> None:
    """8.1: a character may be split across fragments."""
    text = "κόσμε €𝄞".encode()
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(
                *[
                    frame(OP_TEXT if i == 0 else OP_CONT, text[i : i + 1], fin=i == len(text) - 1)
                    for i in range(len(text))
                ]
            )
            echoed = await client.read_data()
            assert echoed.payload == text


async def _send_in_pieces(client: RawClient, data: bytes, *cuts: int) -> None:
    """Send ``data`` cut at ``cuts``, letting the server read each piece on its own."""
    for start, end in itertools.pairwise((0, *cuts, len(data))):
        await client.send(data[start:end])
        await trio.testing.wait_all_tasks_blocked()


@pytest.mark.parametrize("fragmented", [False, True], ids=["one-frame", "continuation"])
async def test_6_4_invalid_utf8_fails_at_the_piece_that_carries_it(fragmented: bool) -> None:
    """6.4.3/6.4.4: invalid UTF-8 fails the connection as soon as its bytes arrive, though the
    frame that carries it is not whole (and never will be: the rest is never sent)."""
    valid, invalid = "κόσμε".encode(), b"\xed\xa0\x80"  # a surrogate: never UTF-8
    whole = frame(OP_CONT if fragmented else OP_TEXT, valid + invalid + b"rest", fin=False)
    head = 6  # a masked frame's header, for a payload under 126 bytes
    with trio.fail_after(5):
        async with connect() as (client, _):
            if fragmented:
                await client.send(frame(OP_TEXT, b"first fragment", fin=False))
            await _send_in_pieces(client, whole[: head + len(valid) + len(invalid)], head + 3)
            close = await client.read_data()
            assert (close.opcode, close.close_code) == (OP_CLOSE, 1007)


async def test_6_valid_utf8_in_pieces_of_frames_is_not_failed() -> None:
    """A character cut between two reads, in a text frame or a continuation, and bytes that
    are no UTF-8 in a binary message cut likewise, are all echoed whole."""
    text = "κόσμε €𝄞".encode()
    binary = b"\xff\xfe" * 100
    with trio.fail_after(5):
        async with connect() as (client, _):
            await _send_in_pieces(client, frame(OP_TEXT, text), 6 + 1, 6 + 8)
            assert (await client.read_data()).payload == text
            first, rest = frame(OP_TEXT, text[:3], fin=False), frame(OP_CONT, text[3:])
            await _send_in_pieces(client, first + rest, len(first) + 6 + 1)
            assert (await client.read_data()).payload == text
            first, rest = frame(OP_BINARY, binary[:5], fin=False), frame(OP_CONT, binary[5:])
            await _send_in_pieces(client, first + rest, len(first) + 8 + 3, len(first) + 8 + 50)
            assert (await client.read_data()).payload == binary
            # cut inside the header (its first byte, then inside the mask key), then the payload
            await _send_in_pieces(client, frame(OP_TEXT, text), 1, 4, 6 + 2)
            assert (await client.read_data()).payload == text


async def test_6_compressed_text_in_pieces_is_checked_when_whole() -> None:
    """RFC 7692: a compressed message's payload is no UTF-8 until inflated (in every frame:
    RSV1 marks only the first), so it is not checked in pieces; whole messages round-trip."""
    text = "κόσμε compressed κόσμε ".encode() * 20
    with trio.fail_after(5):
        offer = "permessage-deflate; server_no_context_takeover"  # each answer on its own
        async with connect(extensions=offer, compression=True) as (client, _):
            data = frame(OP_TEXT, deflate(text), rsv=4)
            await _send_in_pieces(client, data, 6 + 5, 6 + 20)
            assert inflate((await client.read_data()).payload) == text
            compressed = deflate(text)
            first = frame(OP_TEXT, compressed[:10], fin=False, rsv=4)
            await _send_in_pieces(client, first + frame(OP_CONT, compressed[10:]), len(first) + 9)
            assert inflate((await client.read_data()).payload) == text


# (1012-1014 were registered after RFC 6455; wsproto still refuses them, so they are left out)
@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999])
async def test_7_4_1_valid_close_codes_are_echoed(code: int) -> None:
    """7.4.1 and 5.5.1: the server answers a close with the same code, then closes TCP."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(frame(OP_CLOSE, close_payload(code, b"reason")))
            await client.expect_close(code)


async def test_7_1_5_close_without_a_code_is_echoed_empty() -> None:
    """7.1.5: a close without a status code is answered without one (1005)."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(frame(OP_CLOSE))
            await client.expect_close(None)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
async def test_7_4_2_invalid_close_codes_close_with_1002(code: int) -> None:
    """7.4.2: reserved or out-of-range close codes are a protocol error."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(frame(OP_CLOSE, close_payload(code)))
            close = await client.read_data()
            assert (close.opcode, close.close_code) == (OP_CLOSE, 1002)


async def test_5_4_close_in_the_middle_of_a_fragmented_message() -> None:
    """5.4: a close may come between fragments (a control frame); it is echoed (Autobahn 7.1.5)."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(
                frame(OP_TEXT, b"half", fin=False), frame(OP_CLOSE, close_payload(1000))
            )
            await client.expect_close(1000)


async def test_7_after_close_nothing_more_is_processed() -> None:
    """1.4 and 5.5.1: after its close, the server ignores further frames from the peer."""
    with trio.fail_after(5):
        async with connect() as (client, _):
            await client.send(frame(OP_CLOSE, close_payload(1000)), frame(OP_TEXT, b"late"))
            await client.expect_close(1000)


async def test_7_server_initiated_close_handshake() -> None:
    """7.1.2: the server closes first, waits for the client's close, then closes TCP."""
    with trio.fail_after(5):
        async with connect("/close/4000") as (client, _):
            close = await client.read_data()
            assert (close.close_code, close.payload[2:]) == (4000, b"bye")
            await client.send(frame(OP_CLOSE, close.payload[:2]))
            assert await client.read() is None


async def test_message_over_the_limit_closes_with_1009() -> None:
    """7.4.1: 1009 for a message too big to process (here over max_message_size: 8 MiB)."""
    with trio.fail_after(20):
        async with connect() as (client, _):
            await client.send(
                frame(OP_BINARY, b"x" * 2**22, fin=False), frame(OP_CONT, b"x" * (2**22 + 1))
            )
            close = await client.read_data()
            assert (close.opcode, close.close_code) == (OP_CLOSE, 1009)


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def inflate(data: bytes) -> bytes:
    return zlib.decompressobj(wbits=-15).decompress(data + b"\x00\x00\xff\xff")


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "x-unknown, permessage-deflate",
    ],
)
async def test_rfc7692_permessage_deflate(offer: str) -> None:
    """RFC 7692: permessage-deflate is negotiated; compressed messages (RSV1) round-trip."""
    text = b"hello hello hello hello compressed world " * 20
    with trio.fail_after(5):
        async with connect(extensions=offer, compression=True) as (client, headers):
            assert headers["sec-websocket-extensions"].startswith("permessage-deflate")
            await client.send(frame(OP_TEXT, deflate(text), rsv=4))
            echoed = await client.read_data()
            assert echoed.rsv == 4, "the answer is compressed too"
            assert inflate(echoed.payload) == text


async def test_rfc7692_7_an_offer_with_an_unknown_parameter_is_declined_not_the_next() -> None:
    """RFC 7692 7: an offer with a parameter the server does not know is declined (not the
    handshake); the next offer is accepted, and its parameters hold."""
    text = b"said twice, deflated twice alike " * 10
    offer = "permessage-deflate; x-unknown=1, permessage-deflate; server_no_context_takeover"
    with trio.fail_after(5):
        async with connect(extensions=offer, compression=True) as (client, headers):
            accepted = headers["sec-websocket-extensions"]
            assert accepted == "permessage-deflate; server_no_context_takeover"
            for _ in range(2):  # no context kept: the same message deflates the same
                await client.send(frame(OP_TEXT, deflate(text), rsv=4))
                echoed = await client.read_data()
                assert (echoed.rsv, echoed.payload) == (4, deflate(text))
        async with connect(extensions="permessage-deflate; x-unknown", compression=True) as (
            client,
            headers,
        ):
            assert "sec-websocket-extensions" not in headers
            await client.send(frame(OP_TEXT, b"plain"))
            echoed = await client.read_data()
            assert (echoed.rsv, echoed.payload) == (0, b"plain")


async def test_rfc7692_no_compression_when_turned_off() -> None:
    """RFC 7692 5: a server may decline the extension (compression=None/False)."""
    with trio.fail_after(5):
        async with connect(extensions="permessage-deflate") as (client, headers):
            assert "sec-websocket-extensions" not in headers
            await client.send(frame(OP_TEXT, b"plain"))
            echoed = await client.read_data()
            assert (echoed.rsv, echoed.payload) == (0, b"plain")


async def test_5_5_2_a_pong_to_a_peer_that_hung_up_is_not_an_error() -> None:
    """5.5.2: the pong for a ping can find the peer gone; the connection just ends (1006)."""
    with trio.fail_after(5):
        async with connect() as (client, _):  # (connect() checks that the server logged no error)
            await client.send(frame(OP_PING, b"are you there"))
            await client.stream.aclose()
