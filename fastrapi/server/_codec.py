"""WebSocket frames: one small interface, two sans-I/O implementations (wsproto, websockets).

A codec turns the bytes of an open connection into whole messages, pongs and the end of the
connection, and our messages, pings and close into bytes. It never awaits. Pings are answered and
a peer's close is echoed inside the codec (their bytes come out of :meth:`Codec.outgoing`); a
protocol error fails the connection with the right code (1002, 1007 for invalid UTF-8, 1009 for a
message over ``max_message_size``) and ends it like a close of the peer would.

permessage-deflate (RFC 7692) is negotiated here too, from the request's
``Sec-WebSocket-Extensions`` header: :func:`negotiate` returns the response header and the codec.
"""

from __future__ import annotations

import codecs
import importlib.util
import logging
import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeAlias, cast

import wsproto.events as wsevents
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.extensions import PerMessageDeflate
from wsproto.frame_protocol import CloseReason, Opcode, RsvBits

from .._closecodes import CloseCode
from .._transport import Close, Data

if TYPE_CHECKING:
    from collections.abc import Callable

    from wsproto.frame_protocol import FrameDecoder, FrameProtocol


@dataclass(frozen=True, slots=True)
class Pong:
    """A pong from the peer, with its payload."""

    payload: bytes


Event: TypeAlias = Data | Pong | Close
CodecName: TypeAlias = Literal["wsproto", "websockets"]


class Codec(Protocol):
    """What the native transport needs from a WebSocket frame library."""

    def receive(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer (``b""`` at end of stream); return what they completed.

        A :class:`~fastrapi._transport.Close` is always the last event: the peer closed (its
        code, 1005 if it gave none), the connection failed (1002, 1007, 1009), or the stream ended
        without a close (1006). Nothing is read after it.
        """

    def outgoing(self) -> bytes:
        """Bytes the codec produced on its own (pongs, the echo of a close, a failure close)."""

    def message(self, data: Data) -> bytes:
        """The frame(s) of one message; ``b""`` once closing."""

    def is_open(self) -> bool:
        """Whether messages may still be sent (our close is not out yet)."""

    def ping(self, payload: bytes) -> bytes:
        """A ping frame."""

    def close(self, code: int, reason: str) -> bytes:
        """Our close frame; ``b""`` if the connection is closing already."""


def _invalid_utf8(exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8: {exc.reason} at position {exc.start}"


def _too_big(size: int, limit: int) -> Close:
    return Close(
        CloseCode.MESSAGE_TOO_BIG, f"message over {limit} bytes ({size} so far)", failed=True
    )


class _BoundedDeflate(PerMessageDeflate):
    """wsproto's permessage-deflate, inflating at most ``max_message_size`` bytes per message.

    wsproto inflates a frame's payload whole: 48 KB of deflated zeros became 143 MiB before the
    codec could see the message was too big. Here a message that inflates past the limit fails
    with 1009 once the limit is passed, as the websockets codec does.
    """

    def __init__(
        self,
        max_message_size: int,
        *,
        client_no_context_takeover: bool,
        client_max_window_bits: int | None,
        server_no_context_takeover: bool,
        server_max_window_bits: int | None,
    ) -> None:
        super().__init__(
            client_no_context_takeover=client_no_context_takeover,
            client_max_window_bits=client_max_window_bits,
            server_no_context_takeover=server_no_context_takeover,
            server_max_window_bits=server_max_window_bits,
        )
        self._enabled = True  # negotiated already (by _accept_deflate): wsproto uses it
        self._limit = max_message_size
        self._room = max_message_size  # what the current message may still inflate to

    def frame_inbound_header(
        self,
        proto: FrameDecoder | FrameProtocol,
        opcode: Opcode,
        rsv: RsvBits,
        payload_length: int,
    ) -> CloseReason | RsvBits:
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            self._room = self._limit  # a new message
        return super().frame_inbound_header(proto, opcode, rsv, payload_length)

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes
    ) -> bytes | CloseReason:
        decompressor = self._decompressor
        if decompressor is None or not (self._inbound_compressed and self._inbound_is_compressible):
            return super().frame_inbound_payload_data(proto, data)
        try:  # one byte past the room tells that the message is too big
            inflated = decompressor.decompress(data, self._room + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        self._room -= len(inflated)
        return CloseReason.MESSAGE_TOO_BIG if self._room < 0 else inflated


class WsprotoCodec:
    """The reference codec: wsproto's frame protocol, messages assembled here."""

    __slots__ = ("_binary", "_conn", "_ended", "_limit", "_out", "_size", "_text")

    def __init__(self, extensions: list[_BoundedDeflate], max_message_size: int) -> None:
        self._conn = Connection(ConnectionType.SERVER, list(extensions))
        self._limit = max_message_size
        self._text: list[str] = []
        self._binary: list[bytes] = []
        self._size = 0
        self._out = bytearray()
        self._ended = False  # a Close was returned: nothing is read after it

    def receive(self, data: bytes) -> list[Event]:
        conn = self._conn
        if self._ended:
            return []
        conn.receive_data(data or None)
        events: list[Event] = []
        for event in conn.events():
            if isinstance(event, wsevents.Message):
                self._size += len(event.data)
                if self._size > self._limit:
                    close = _too_big(self._size, self._limit)
                    self._out += conn.send(wsevents.CloseConnection(close.code, close.reason))
                    events.append(close)
                    self._ended = True
                    break
                if isinstance(event, wsevents.TextMessage):
                    self._text.append(event.data)
                    if event.message_finished:
                        events.append("".join(self._text))
                        self._text.clear()
                else:
                    self._binary.append(bytes(event.data))
                    if event.message_finished:
                        events.append(b"".join(self._binary))
                        self._binary.clear()
                if event.message_finished:
                    self._size = 0
            elif isinstance(event, wsevents.Ping):
                self._out += conn.send(event.response())
            elif isinstance(event, wsevents.Pong):
                events.append(Pong(bytes(event.payload)))
            else:  # the only other event wsproto makes
                assert isinstance(event, wsevents.CloseConnection)
                # REMOTE_CLOSING: the peer's close, echoed; OPEN: wsproto found a protocol error
                # and reports it as a close (ParseFailed), which we send.
                failed = conn.state is ConnectionState.OPEN
                if failed or conn.state is ConnectionState.REMOTE_CLOSING:
                    self._out += conn.send(wsevents.CloseConnection(event.code, event.reason))
                events.append(Close(event.code, event.reason or "", failed=failed and bool(data)))
                self._ended = True
                break
        return events

    def outgoing(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def message(self, data: Data) -> bytes:
        if self._conn.state is not ConnectionState.OPEN:
            return b""  # closing: nothing more is sent (RFC 6455 5.5.1)
        if isinstance(data, str):
            return self._conn.send(wsevents.TextMessage(data=data))
        return self._conn.send(wsevents.BytesMessage(data=data))

    def is_open(self) -> bool:
        return self._conn.state is ConnectionState.OPEN

    def ping(self, payload: bytes) -> bytes:
        if self._conn.state is not ConnectionState.OPEN:
            return b""
        return self._conn.send(wsevents.Ping(payload=payload))

    def close(self, code: int, reason: str) -> bytes:
        if self._conn.state is not ConnectionState.OPEN:
            return b""
        return self._conn.send(wsevents.CloseConnection(code, reason))


def _websockets_codec_factory() -> Callable[[str | None, int], tuple[str | None, Codec]]:
    """Import websockets lazily: it is optional; wsproto is always there."""
    from websockets.exceptions import InvalidHeader, NegotiationError
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.frames import Frame, Opcode
    from websockets.headers import build_extension, parse_extension
    from websockets.protocol import CLOSED, OPEN, Protocol, Side
    from websockets.utils import apply_mask

    class _Protocol(Protocol):
        def recv_frame(self, frame: Frame) -> None:
            # RFC 6455 5.4: control frames may come between the fragments of a message, so a
            # close ends an unfinished one; websockets fails with 1002 instead (Autobahn 7.1.5).
            if frame.opcode is Opcode.CLOSE:
                self.current_size = None
            super().recv_frame(frame)

    frame_parse = Frame.parse.__func__.__code__  # type: ignore[attr-defined]  # a classmethod

    textual = (Opcode.TEXT, Opcode.CONT)

    def arriving_text(p: _Protocol) -> tuple[object, Opcode, bytes] | None:
        """The frame whose payload is arriving, if it is a text or continuation frame: its
        parser (the same object until the frame is whole), opcode and mask key.

        websockets hands out whole frames only, and the piece of payload that came is its
        reader's buffer; the frame's header is in the parser, which waits in ``Frame.parse``
        for the rest of the payload (its locals ``opcode`` and ``mask_bytes``, the latter set
        once the header is read). ``None`` in any other state, and if websockets' parser is
        not shaped as known (then the frame is checked when whole, as every frame is).
        """
        parsing = getattr(p.parser, "gi_yieldfrom", None)
        known = getattr(parsing, "gi_code", None) is frame_parse
        names = parsing.gi_frame.f_locals if known else {}  # type: ignore[union-attr]  # known
        if "mask_bytes" not in names or names.get("opcode") not in textual:
            return None  # a header is arriving, or a binary frame's payload
        return parsing, names["opcode"], bytes(names["mask_bytes"])

    class WebsocketsCodec:
        """The fast codec: the sans-I/O protocol of the ``websockets`` library."""

        __slots__ = ("_arriving", "_binary", "_decoder", "_ended", "_p", "_plain", "_text")

        def __init__(self, protocol: _Protocol) -> None:
            self._p = protocol
            self._decoder: codecs.IncrementalDecoder | None = None  # set inside a text message
            self._text: list[str] = []
            self._binary: list[bytes] = []
            self._ended = False
            # a text frame whose payload is arriving: its parser, the bytes checked, a decoder
            self._arriving: tuple[object, int, codecs.IncrementalDecoder] | None = None
            # pieces of frames are checked without extensions only: compressed payload (every
            # frame of a compressed message, RSV1 on the first only) is UTF-8 once inflated
            self._plain = not protocol.extensions

        def _check_arriving(self) -> None:
            """Fail the connection (1007) if the part of a text frame that came so far is not
            UTF-8: at the piece that carries the error, not when the frame is whole."""
            p = self._p
            found = arriving_text(p)
            if found is None:
                return
            parser, opcode, mask = found
            if self._arriving is None or self._arriving[0] is not parser:
                decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")()
                if opcode is Opcode.CONT:
                    if self._decoder is None:  # a binary message's: no text to check
                        return
                    decoder.setstate(self._decoder.getstate())
                self._arriving = (parser, 0, decoder)
            _, checked, decoder = self._arriving
            piece = bytes(p.reader.buffer[checked:])
            turn = checked % 4
            try:
                decoder.decode(apply_mask(piece, mask[turn:] + mask[:turn]))
            except UnicodeDecodeError as exc:
                p.fail(CloseCode.INVALID_FRAME_PAYLOAD_DATA, _invalid_utf8(exc))
                return
            self._arriving = (parser, checked + len(piece), decoder)

        def receive(self, data: bytes) -> list[Event]:
            p = self._p
            if self._ended:
                return []
            if data:
                p.receive_data(data)
            else:
                p.receive_eof()
            events: list[Event] = []
            # (a server's protocol past the handshake makes frames only)
            for frame in cast("list[Frame]", p.events_received()):
                opcode = frame.opcode
                if frame.fin and (opcode is Opcode.TEXT or opcode is Opcode.BINARY):
                    # a whole message in one frame, as nearly every one is
                    if opcode is Opcode.BINARY:
                        events.append(bytes(frame.data))
                        continue
                    try:
                        events.append(str(frame.data, "utf-8"))
                    except UnicodeDecodeError as exc:
                        p.fail(CloseCode.INVALID_FRAME_PAYLOAD_DATA, _invalid_utf8(exc))
                        break
                    continue
                if opcode is Opcode.TEXT:
                    self._decoder = codecs.getincrementaldecoder("utf-8")()
                decoder = self._decoder if opcode is Opcode.TEXT or opcode is Opcode.CONT else None
                if decoder is not None:
                    try:
                        self._text.append(decoder.decode(frame.data, frame.fin))
                    except UnicodeDecodeError as exc:
                        p.fail(CloseCode.INVALID_FRAME_PAYLOAD_DATA, _invalid_utf8(exc))
                        break
                    if frame.fin:
                        events.append("".join(self._text))
                        self._text.clear()
                        self._decoder = None
                elif opcode is Opcode.BINARY or opcode is Opcode.CONT:
                    self._binary.append(bytes(frame.data))
                    if frame.fin:
                        events.append(b"".join(self._binary))
                        self._binary.clear()
                elif opcode is Opcode.PONG:
                    events.append(Pong(bytes(frame.data)))
                elif opcode is Opcode.CLOSE and p.close_rcvd is not None:
                    self._ended = True
                    events.append(Close(p.close_rcvd.code, p.close_rcvd.reason))
                    return events
            if p.reader.buffer and self._plain and p.close_sent is None:  # a frame in pieces
                self._check_arriving()
            if p.state is CLOSED or p.parser_exc is not None or p.close_sent is not None:
                # the protocol failed the connection (or the stream ended without a close)
                self._ended = True
                sent = p.close_sent
                events.append(
                    Close(sent.code, sent.reason, failed=bool(data))
                    if sent
                    else Close(CloseCode.ABNORMAL_CLOSURE)
                )
            return events

        def outgoing(self) -> bytes:
            if not self._p.writes:  # nearly always: no answer to a data frame
                return b""
            return b"".join(self._p.data_to_send())

        def message(self, data: Data) -> bytes:
            if self._p.state is not OPEN:
                return b""  # closing: nothing more is sent (RFC 6455 5.5.1)
            if isinstance(data, str):
                self._p.send_text(data.encode())
            else:
                self._p.send_binary(data)
            return b"".join(self._p.data_to_send())

        def is_open(self) -> bool:
            return self._p.state is OPEN

        def ping(self, payload: bytes) -> bytes:
            if self._p.state is not OPEN:
                return b""
            self._p.send_ping(payload)
            return b"".join(self._p.data_to_send())

        def close(self, code: int, reason: str) -> bytes:
            if self._p.state is not OPEN:
                return b""
            self._p.send_close(code, reason)
            return b"".join(w for w in self._p.data_to_send() if w)

    deflate = ServerPerMessageDeflateFactory()
    quiet = logging.getLogger("fastrapi.codec")  # not websockets' INFO line for every close
    quiet.setLevel(logging.WARNING)

    def create(offered: str | None, max_message_size: int) -> tuple[str | None, Codec]:
        protocol = _Protocol(Side.SERVER, state=OPEN, max_size=max_message_size, logger=quiet)
        response: str | None = None
        try:
            offers = parse_extension(offered) if offered else []
        except InvalidHeader:
            offers = []  # a header that does not parse offers nothing
        for name, params in offers:
            if name != deflate.name:
                continue
            try:
                accepted, extension = deflate.process_request_params(params, [])
            except NegotiationError:
                continue
            protocol.extensions = [extension]
            response = build_extension([(name, accepted)])
            break
        return response, WebsocketsCodec(protocol)

    return create


_TOKEN: Final = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
_PARAM: Final = rf'[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_TOKEN}|"(?:[^"\\]|\\.)*"))?'
_OFFER: Final = re.compile(rf"[ \t,]*({_TOKEN})((?:{_PARAM})*)[ \t]*(?:,|\Z)")
_PARAMS: Final = re.compile(_PARAM)
_IS_TOKEN: Final = re.compile(_TOKEN)
_ESCAPED: Final = re.compile(r"\\(.)")
_END: Final = re.compile(r"[ \t,]*\Z")  # what may follow the last offer: empty list elements
_WINDOW_BITS: Final = {str(bits): bits for bits in range(8, 16)}  # no leading zeros
_NO_CONTEXT_TAKEOVER: Final = ("server_no_context_takeover", "client_no_context_takeover")
_MAX_WINDOW_BITS: Final = ("server_max_window_bits", "client_max_window_bits")

_Offer: TypeAlias = tuple[str, list[tuple[str, str | None]]]


def _offers(header: str) -> list[_Offer]:
    """The extensions a ``Sec-WebSocket-Extensions`` header offers, in order, with their
    parameters (a value unquoted, ``None`` if none); none at all if the header does not parse."""
    offers: list[_Offer] = []
    at = 0
    while _END.match(header, at) is None:
        offer = _OFFER.match(header, at)
        if offer is None:
            return []
        params: list[tuple[str, str | None]] = []
        for name, value in _PARAMS.findall(offer[2]):
            if value.startswith('"'):  # unquoted, a value is a token still (RFC 6455 9.1)
                value = _ESCAPED.sub(r"\1", value[1:-1])
                if _IS_TOKEN.fullmatch(value) is None:
                    return []
            params.append((name, value or None))
        offers.append((offer[1], params))
        at = offer.end()
    return offers


def _accept_deflate(offered: str, max_message_size: int) -> tuple[str, _BoundedDeflate] | None:
    """The response to the first permessage-deflate offer in ``offered`` we can accept, and
    the extension configured by it; ``None`` if there is none.

    RFC 7692 7: an offer with an unknown parameter, a parameter given twice or an invalid value
    is declined (the next offer is considered; the handshake goes on in any case). So is
    ``server_max_window_bits=8``: zlib cannot compress with a window of 8 bits. The response
    is what the websockets codec answers, so that both codecs accept the same offers alike.
    """
    for name, params in _offers(offered):
        if name != "permessage-deflate":
            continue
        flags: set[str] = set()
        bits: dict[str, int | None] = {}
        for param, value in params:
            if param in flags or param in bits:
                break  # a parameter given twice
            if param in _NO_CONTEXT_TAKEOVER and value is None:
                flags.add(param)
            elif param == "client_max_window_bits" and value is None:
                bits[param] = None  # the client can take a limit; we set none
            elif param in _MAX_WINDOW_BITS:
                bits[param] = _WINDOW_BITS.get(value or "")
                if bits[param] is None:
                    break
            else:
                break  # an unknown parameter, or a flag with a value
        else:
            server_bits = bits.get("server_max_window_bits")
            if server_bits == 8:
                continue
            client_bits = bits.get("client_max_window_bits")
            response = [name, *(param for param in _NO_CONTEXT_TAKEOVER if param in flags)]
            response += [f"{param}={bits[param]}" for param in _MAX_WINDOW_BITS if bits.get(param)]
            extension = _BoundedDeflate(
                max_message_size,
                client_no_context_takeover="client_no_context_takeover" in flags,
                # a larger window inflates what a smaller one deflated; wsproto takes 9 to 15
                client_max_window_bits=max(client_bits, 9) if client_bits else None,
                server_no_context_takeover="server_no_context_takeover" in flags,
                server_max_window_bits=server_bits,
            )
            return "; ".join(response), extension
    return None


def _wsproto_codec(offered: str | None, max_message_size: int) -> tuple[str | None, Codec]:
    accepted = _accept_deflate(offered, max_message_size) if offered else None
    if accepted is None:
        return None, WsprotoCodec([], max_message_size)
    response, extension = accepted
    return response, WsprotoCodec([extension], max_message_size)


HAVE_WEBSOCKETS: Final = importlib.util.find_spec("websockets") is not None
_FACTORIES: dict[CodecName, Callable[[str | None, int], tuple[str | None, Codec]]] = {
    "wsproto": _wsproto_codec,
}
if HAVE_WEBSOCKETS:
    _FACTORIES["websockets"] = _websockets_codec_factory()


def pick_codec(name: CodecName | Literal["auto"]) -> CodecName:
    """The codec ``ws=name`` means: ``auto`` is the fastest installed (websockets, then wsproto).

    Raises:
        ValueError: an unknown name, or ``websockets`` when it is not installed.
    """
    if name == "auto":
        return "websockets" if HAVE_WEBSOCKETS else "wsproto"
    if name not in ("wsproto", "websockets"):
        raise ValueError(f"ws must be 'auto', 'wsproto' or 'websockets', not {name!r}")
    if name not in _FACTORIES:
        raise ValueError("ws='websockets' needs the websockets package: pip install websockets")
    return name


def negotiate(
    name: CodecName, offered: str | None, *, compression: bool, max_message_size: int
) -> tuple[str | None, Codec]:
    """Create the codec for one connection.

    Args:
        name: Which codec.
        offered: The request's ``Sec-WebSocket-Extensions`` header, if any.
        compression: Whether permessage-deflate may be negotiated.
        max_message_size: Largest message accepted; a larger one fails with 1009.

    Returns:
        The response's ``Sec-WebSocket-Extensions`` header (``None``: no extension) and the codec.
        Both codecs take the first permessage-deflate offer they can meet and answer it alike;
        an offer with an unknown, repeated or invalid parameter is declined (RFC 7692 7), and a
        header that does not parse offers nothing: the connection goes on without an extension.
    """
    return _FACTORIES[name](offered if compression else None, max_message_size)
