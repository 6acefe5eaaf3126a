"""The wire of a published message: encoded once, framed as RFC 6455 says."""

from __future__ import annotations

import orjson
import pytest
from wsproto.frame_protocol import Frame, FrameProtocol

from fastrapi._frame import server_frame
from fastrapi.hub import Position
from fastrapi.hub._wire import encode, envelope, publication


def parse(frame: bytes) -> list[Frame]:
    """What a client makes of ``frame`` (wsproto's frame parser, client side: no mask)."""
    protocol = FrameProtocol(client=True, extensions=[])
    protocol.receive_bytes(frame)
    return list(protocol.received_frames())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_frames_of_every_length_class_parse(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    frame = server_frame(0x2, payload)
    assert len(frame) - size == (2 if size < 126 else 4 if size < 65536 else 10)
    (parsed,) = parse(frame)
    assert (parsed.opcode.value, parsed.payload, parsed.frame_finished) == (0x2, payload, True)


def test_text_bytes_and_json_encode_once() -> None:
    text, binary, json = encode("héllo"), encode(bytearray(b"\x00\x01")), encode({"a": [1]})
    assert (text.data, text.payload, text.is_text) == ("héllo", "héllo".encode(), True)
    assert (binary.data, binary.is_text) == (b"\x00\x01", False)
    assert (json.data, json.payload, json.is_json) == ('{"a":[1]}', b'{"a":[1]}', True)
    assert text.frame is text.frame  # built once, shared
    assert parse(text.frame)[0].payload == "héllo"
    assert parse(binary.frame)[0].opcode.value == 0x2


def test_data_that_is_not_json_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot serialise object to JSON"):
        encode(object())


def test_the_envelope_carries_the_position() -> None:
    position = Position("e1", 7)
    assert orjson.loads(envelope(encode({"x": 1}), "t", position).payload) == {
        "topic": "t",
        "epoch": "e1",
        "offset": 7,
        "data": {"x": 1},
    }
    assert orjson.loads(envelope(encode('{"x": 1}'), "t", position).payload)["data"] == '{"x": 1}'
    binary = encode(b"raw")
    assert envelope(binary, "t", position) is binary


def test_a_position_is_checked() -> None:
    with pytest.raises(TypeError, match="a Position is"):
        Position("e", "1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n": 1}, {"data": {"n": 1}}),
        ("hi", {"data": "hi"}),
        ('{"not": "json"}', {"data": '{"not": "json"}'}),  # a published str stays a str
        (b"\xff\x00", {"data": "/wA=", "encoding": "base64"}),
        ({"type": "user_other", "x": 1}, {"data": {"type": "user_other", "x": 1}}),
    ],
)
def test_protocol_publications(data: object, message: dict[str, object]) -> None:
    wire = publication(encode(data), "t", Position("e", 7))
    assert wire.is_text
    assert orjson.loads(wire.payload) == {
        "type": "publication",
        "topic": "t",
        "epoch": "e",
        "offset": 7,
        **message,
    }


@pytest.mark.parametrize(("kind", "sent"), [("user_joined", "join"), ("user_left", "leave")])
def test_the_hubs_presence_notices_are_join_and_leave(kind: str, sent: str) -> None:
    notice = encode({"type": kind, "topic": "t", "presence": {"name": "ann"}})
    wire = publication(notice, "t", Position("e", 3))
    message = {"type": sent, "topic": "t", "member": {"name": "ann"}, "epoch": "e", "offset": 3}
    assert orjson.loads(wire.payload) == message
