"""Both WebSocket codecs, fed frames a hostile client could send (``_codec.py``).

The property: whatever the bytes, a codec returns whole messages, pongs and at most one close,
last; the close carries a code a server may send or a peer may have chosen; nothing raises and
nothing is returned after the close. The two codecs agree on the messages and the close code.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fastrapi._transport import Close
from fastrapi.server._codec import CodecName, Pong, negotiate
from tests.conformance.conftest import frame
from tests.fuzz.conftest import memory_kept

if TYPE_CHECKING:
    from fastrapi._transport import Data

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CODECS: list[CodecName] = ["wsproto", "websockets"]
LIMIT = 256  # max_message_size: small, so that 1009 is reached
SENT_BY_US = {1002, 1006, 1007, 1009}  # a failed connection, or the stream's end
NO_CODE = 1005
ABNORMAL = 1006
PEER_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
DEFLATE = "permessage-deflate"


def peer_may_send(code: int) -> bool:
    """RFC 6455 7.4 and the IANA registry: codes a peer may put in its close frame."""
    return code in PEER_CODES or 3000 <= code <= 4999


def deflated(data: bytes) -> bytes:
    """``data`` as one permessage-deflate message (RFC 7692 7.2.1: no trailing 00 00 ff ff)."""
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


close_codes = st.one_of(
    st.sampled_from(sorted(PEER_CODES | {999, 1004, 1005, 1006, 1015, 2999, 3000, 4999, 5000})),
    st.integers(0, 65535),
)
texts = st.text(max_size=40).map(str.encode)
binaries = st.binary(max_size=40)


@st.composite
def close_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["empty", "one byte", "code", "code and reason"]))
    if kind == "empty":
        return b""
    if kind == "one byte":
        return draw(st.binary(min_size=1, max_size=1))
    code = draw(close_codes).to_bytes(2, "big")
    if kind == "code":
        return code
    return code + draw(st.one_of(texts, binaries))


@st.composite
def frames(draw: st.DrawFn, deflate: bool = False) -> bytes:
    """One frame: mostly well formed, sometimes wrong in one of the ways RFC 6455 forbids."""
    opcode = draw(
        st.sampled_from([OP_TEXT, OP_BINARY, OP_CONT, OP_CLOSE, OP_PING, OP_PONG, 3, 7, 11, 15])
    )
    if opcode == OP_CLOSE:
        payload = draw(close_payloads())
    elif opcode in (OP_PING, OP_PONG):
        payload = draw(st.binary(max_size=130))  # over 125 is a protocol error
    elif opcode == OP_TEXT or (opcode == OP_CONT and draw(st.booleans())):
        payload = draw(st.one_of(texts, binaries, texts.map(lambda b: b[: len(b) // 2])))
    else:
        payload = draw(st.one_of(binaries, st.binary(min_size=LIMIT - 10, max_size=LIMIT + 10)))
    rsv = 0
    if deflate and opcode in (OP_TEXT, OP_BINARY) and draw(st.booleans()):
        rsv = 4
        payload = deflated(payload) if draw(st.booleans()) else draw(binaries)
    rsv = draw(st.sampled_from([rsv, rsv, rsv, rsv, 1, 2, 4, 7]))
    fin = (
        draw(st.booleans())
        if opcode in (OP_TEXT, OP_BINARY, OP_CONT)
        else draw(st.sampled_from([True, True, True, False]))
    )
    mask = draw(st.sampled_from([True, True, True, True, False]))
    length = draw(st.sampled_from([None] * 8 + [2**63, 2**63 - 1, 2**32, 126, 65536]))
    return frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length=length)


@st.composite
def streams(draw: st.DrawFn, deflate: bool = False) -> tuple[list[bytes], bool]:
    """Frames (or junk) cut into reads at arbitrary points; and whether the stream then ends."""
    parts = draw(
        st.lists(st.one_of(frames(deflate), frames(deflate), st.binary(max_size=12)), max_size=8)
    )
    data = b"".join(parts)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return [c for c in chunks if c], draw(st.booleans())


def drive(
    name: CodecName, chunks: list[bytes], eof: bool, offer: str | None = None
) -> list[Data | Pong | Close]:
    """Feed ``chunks`` to a fresh codec and check the contract on every step."""
    header, codec = negotiate(name, offer, compression=offer is not None, max_message_size=LIMIT)
    assert header is None or header.startswith(DEFLATE)
    events: list[Data | Pong | Close] = []
    for chunk in [*chunks, b""] if eof else chunks:
        got = codec.receive(chunk)
        assert isinstance(codec.outgoing(), bytes)
        if events and isinstance(events[-1], Close):
            assert got == [], "events after the close"
        for event in got:
            assert isinstance(event, str | bytes | Pong | Close)
            if isinstance(event, str | bytes):
                assert len(event) <= (LIMIT if isinstance(event, bytes) else LIMIT * 4)
        events += got
    closes = [e for e in events if isinstance(e, Close)]
    assert len(closes) <= 1
    if closes:
        close = closes[0]
        assert events[-1] is close
        assert close.code in SENT_BY_US or close.code == NO_CODE or peer_may_send(close.code)
        assert not codec.is_open()
        assert codec.message("late") == b""
        assert codec.ping(b"") == b""
        assert codec.close(1000, "") == b""
        codec.outgoing()
    else:
        assert codec.is_open()
        assert codec.message("still open")
        assert codec.ping(b"p")
        assert codec.close(1000, "bye")
    return events


def agree(name: str, events: list[list[Data | Pong | Close]]) -> None:
    """Both codecs give the same messages and pongs; when both end, both failed the connection
    (their codes may differ: a 2**63 length is 1002 for one, 1009 for the other) or both echo
    the peer's close. One may fail at a frame's header where the other waits for its payload:
    a close where the other has none yet is no disagreement, nor is the end of the stream."""
    data = [[e for e in got if not isinstance(e, Close)] for got in events]
    assert data[0] == data[1], name
    ends = [got[-1] for got in events if got and isinstance(got[-1], Close)]
    if len(ends) == 2 and ABNORMAL not in (ends[0].code, ends[1].code):
        kinds = [("failed",) if end.failed else (end.code, end.reason) for end in ends]
        assert kinds[0] == kinds[1], name


@given(streams())
@example(([b"\x01\x00"], True))  # wsproto: a second close at the end of the stream
def test_any_bytes_end_in_messages_or_a_close(stream: tuple[list[bytes], bool]) -> None:
    chunks, eof = stream
    agree("messages", [drive(name, chunks, eof) for name in CODECS])


@given(streams(deflate=True))
def test_any_bytes_with_permessage_deflate(stream: tuple[list[bytes], bool]) -> None:
    chunks, eof = stream
    agree("messages", [drive(name, chunks, eof, DEFLATE) for name in CODECS])


@pytest.mark.parametrize("name", CODECS)
def test_a_deflate_bomb_fails_with_1009_without_inflating_it(name: CodecName) -> None:
    """48 KB of deflated zeros inflate to 50 MB: the wsproto codec inflated a frame whole
    (143 MiB for this one) before seeing that the message was over the limit."""
    import tracemalloc

    limit = 1 << 20
    data = frame(OP_BINARY, deflated(bytes(50_000_000)), rsv=4)
    _, codec = negotiate(name, DEFLATE, compression=True, max_message_size=limit)
    tracemalloc.start()
    try:
        events = codec.receive(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(type(e), e.code) for e in events if isinstance(e, Close)] == [(Close, 1009)]
    assert len(events) == 1
    assert peak < 4 * limit


@pytest.mark.parametrize("name", CODECS)
def test_a_deflated_message_at_the_limit_passes(name: CodecName) -> None:
    message = bytes(range(256)) * 4
    _, codec = negotiate(name, DEFLATE, compression=True, max_message_size=len(message))
    half = deflated(message)
    events = codec.receive(
        frame(OP_BINARY, half[:10], fin=False, rsv=4) + frame(OP_CONT, half[10:])
    )
    assert events == [message]


@pytest.mark.parametrize("name", CODECS)
def test_codecs_give_memory_back(name: CodecName) -> None:
    inputs = [
        [frame(OP_TEXT, b"hello" * n, fin=False), frame(OP_PING, b"p"), frame(OP_CONT, b"!")]
        for n in range(1, 40)
    ]
    inputs += [[frame(OP_BINARY, b"x", rsv=4), frame(OP_CLOSE, b"\x03\xe8")]] * 20

    def run(chunks: object) -> object:
        assert isinstance(chunks, list)
        return drive(name, chunks, eof=True, offer=DEFLATE)

    assert memory_kept(run, inputs) < 16 * 1024
