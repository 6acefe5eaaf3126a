"""The native transport: one WebSocket over a trio Stream, frames through a codec.

On a plain socket (POSIX) the transport reads and writes the file descriptor itself: a read is
``wait_readable`` then one ``os.read``, which any task holding the pump's reader role may do (the
handler's own, mostly), and which :meth:`StreamTransport.interrupt` wakes with
``notify_closing`` instead of a cancel scope per read; a direct write is one ``os.write``. The
writer's own loop (``os.write`` and ``wait_writable``) shrugs off such a wake-up, so an
interrupted read never cuts a write. On TLS and other streams, reads and writes go through the
stream, and the pump's reader task holds the reader role (interrupted by its cancel scope).

Pings are answered and a close is echoed by the codec; what it answers goes to the pump's
outbound queue. Every write of the writer is bounded by ``send_timeout``: a client that stopped
reading gets the connection dropped (1008) instead of pinning memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from typing import TYPE_CHECKING, Final, final

import trio

from .._closecodes import CloseCode
from .._frame import BINARY, TEXT, server_frame
from .._transport import Close, Data, DecodedEvents
from ._codec import Codec, Pong, negotiate
from ._handshake import accept_key

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .._attendant import Attendant
    from .._transport import Unit
    from ._config import ServerConfig
    from ._parser import HTTPParser

RECEIVE_SIZE: Final = 64 * 1024
_DROPPED: Final = Close(CloseCode.ABNORMAL_CLOSURE)
_SEND_TIMEOUT: Final = Close(CloseCode.POLICY_VIOLATION, "send timeout: the client stopped reading")


def fileno(stream: trio.abc.Stream) -> int:
    """The descriptor to read and write directly, or -1 (TLS, memory streams, Windows)."""
    if isinstance(stream, trio.SocketStream) and os.name == "posix":
        return stream.socket.fileno()
    return -1


async def write_fd(fd: int, view: memoryview, stream: trio.abc.Stream) -> None:
    """Write all of ``view`` to the socket ``fd`` (of ``stream``), waiting while it is full.

    A ``notify_closing`` that only meant to wake a read of the descriptor is shrugged off; a
    real close raises ``trio.ClosedResourceError``.
    """
    while True:
        with contextlib.suppress(BlockingIOError):
            view = view[os.write(fd, view) :]
        if not view:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        try:
            await trio.lowlevel.wait_writable(fd)
        except trio.ClosedResourceError:
            if stream.socket.fileno() < 0:  # type: ignore[attr-defined]  # a SocketStream
                raise


@final
class StreamTransport(DecodedEvents):
    """A :class:`~fastrapi._transport.Transport` over a byte stream after an HTTP upgrade."""

    __slots__ = (
        "_answer",
        "_codec",
        "_config",
        "_conn",
        "_end",
        "_ended_reading",
        "_failing",
        "_fd",
        "_full",
        "_key",
        "_offered",
        "_on_end",
        "_open",
        "_opened",
        "_pong_times",
        "_pongs",
        "_raw_frames",
        "_send_timeout",
        "_stream",
        "attendant",
        "inline_reads",
    )

    can_ping: Final = True

    def __init__(
        self,
        stream: trio.abc.Stream,
        conn: HTTPParser,
        *,
        key: str,
        offered_extensions: str | None,
        config: ServerConfig,
        attendant: Attendant | None,
    ) -> None:
        self._stream = stream
        self._conn: HTTPParser | None = conn  # dropped once the handshake is answered
        self._key = key
        self._offered = offered_extensions
        self._config = config
        self.attendant = attendant
        self._fd = fileno(stream)
        self.inline_reads = self._fd >= 0
        self._codec: Codec | None = None
        self._raw_frames = False  # no extension: a frame built once for many may be sent as is
        self._open = False  # accepted or refused: reading may start
        self._opened: trio.Event | None = None  # made for a read that waits for that
        super().__init__()
        self._send_timeout = config.send_timeout or math.inf
        self._pongs: dict[bytes, trio.Event] = {}
        self._pong_times: dict[bytes, float] = {}
        self._answer: Callable[[Unit], None] | None = None
        self._on_end: Callable[[int, str], None] | None = None
        self._end: Close | None = None  # the stream is unusable: why
        self._ended_reading = False
        self._failing: Close | None = None  # a failure whose close waits behind messages
        self._full = False  # the last read filled its buffer: more is likely waiting

    def bind(self, answer: Callable[[Unit], None], on_end: Callable[[int, str], None]) -> None:
        self._answer = answer
        self._on_end = on_end

    # -- the handshake ------------------------------------------------------------------------

    async def accept(self, subprotocol: str | None, headers: Sequence[tuple[bytes, bytes]]) -> None:
        config = self._config
        assert self._conn is not None  # accept() comes once, before anything else; not user input
        extensions, codec = negotiate(
            config.ws,
            self._offered,
            compression=config.compression,
            max_message_size=config.max_message_size,
        )
        response = [
            (b"upgrade", b"websocket"),
            (b"connection", b"Upgrade"),
            (b"sec-websocket-accept", (accept_key(self._key) or "").encode()),
        ]
        if subprotocol is not None:
            response.append((b"sec-websocket-protocol", subprotocol.encode()))
        if extensions is not None:
            response.append((b"sec-websocket-extensions", extensions.encode()))
        response.extend(headers)
        await self.write([self._conn.informational(101, response)])
        self._codec = codec
        self._raw_frames = extensions is None
        trailing = self._conn.trailing_data()
        self._done_with_http()
        if trailing:
            self._feed(trailing)
        self._set_open()

    async def reject(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        conn = self._conn
        assert conn is not None  # only before accept(); not user input
        data = conn.response(status, [*headers, (b"connection", b"close")], body)
        try:
            await self.write([data])
        finally:
            self._done_with_http()
            self._end = _DROPPED  # the connection ends with the response
            self._event(_DROPPED)
            self._set_open()

    def _done_with_http(self) -> None:
        assert self._conn is not None  # after the one answer to the handshake; not user input
        self._conn.close()
        self._conn = None

    # -- reading ------------------------------------------------------------------------------

    def _set_open(self) -> None:
        self._open = True
        if self._opened is not None:
            self._opened.set()

    async def fill(self) -> None:
        if not self._open:
            if self._opened is None:
                self._opened = trio.Event()
            await self._opened.wait()
            return
        if self._end is not None:
            self._event(self._end)
            await trio.lowlevel.checkpoint()
            return
        fd = self._fd
        if fd >= 0:
            if self._full and await self._read_at_once(fd):
                return
            try:
                await trio.lowlevel.wait_readable(fd)
            except trio.ClosedResourceError:
                return  # interrupt(): the pump decides what comes next
            try:
                data = os.read(fd, RECEIVE_SIZE)
            except BlockingIOError:
                return
            except OSError:  # reset
                data = b""
            self._full = len(data) == RECEIVE_SIZE
        else:
            try:
                data = bytes(await self._stream.receive_some(RECEIVE_SIZE))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
        self._feed(data)

    async def _read_at_once(self, fd: int) -> bool:
        """The last read filled the buffer, so the rest of a large message is most likely
        there already: read it without parking (a yield instead of an epoll wait, as trio's
        own sockets do); ``False`` if there was nothing after all."""
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            data = os.read(fd, RECEIVE_SIZE)
        except BlockingIOError:
            self._full = False
            return False
        except OSError:  # reset
            data = b""
        self._full = len(data) == RECEIVE_SIZE
        self._feed(data)
        await trio.lowlevel.cancel_shielded_checkpoint()  # read and decoded: nothing is lost
        return True

    async def linger(self) -> None:
        stream = self._stream
        if isinstance(stream, trio.abc.HalfCloseableStream):
            # our end first: a peer that reads sees our close, then the end, and may close
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_eof()
        while True:
            try:
                if not await stream.receive_some(RECEIVE_SIZE):
                    return
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return

    def interrupt(self) -> None:
        if self._fd >= 0:
            trio.lowlevel.notify_closing(self._fd)

    def _feed(self, data: bytes) -> None:
        """Hand ``data`` to the codec, queue what it completed, answer what it must."""
        codec = self._codec
        assert codec is not None  # only after accept(); not user input
        for event in codec.receive(data):
            if isinstance(event, Pong):
                self._pong(event.payload)
                continue
            if isinstance(event, Close):
                self._release_pings()
                if event.failed and self._events and self._raw_frames:
                    # messages came before the failure: the handler reads them first, and what
                    # it answers goes out before our close (RFC 6455 7.1.7 lets the failure
                    # wait that long; Autobahn 3.2, 4.1.3, 5.15 prefer it)
                    answer = codec.outgoing()
                    event = self._failing = dataclasses.replace(event, answer=answer)
            self._event(event)
        answer = codec.outgoing()
        if answer and self._answer is not None:
            self._answer(answer)

    def _pong(self, payload: bytes) -> None:
        # RFC 6455 5.5.3: a pong may answer only the latest ping, so it answers every earlier one
        if payload not in self._pongs:
            return
        now = trio.current_time()
        for sent in list(self._pongs):
            self._pongs.pop(sent).set()
            self._pong_times[sent] = now
            if sent == payload:
                return

    def _release_pings(self) -> None:
        """No pong will come any more: wake every ping() so that it raises."""
        self._ended_reading = True
        for waiting in self._pongs.values():
            waiting.set()
        self._pongs.clear()

    def request_close(self, code: int, reason: str) -> None:
        """Ask the connection to close itself with ``code`` (server shutdown)."""
        if self._on_end is not None:
            self._on_end(code, reason)

    # -- encoding -----------------------------------------------------------------------------

    def encode(self, data: Data) -> bytes | None:
        codec = self._codec
        assert codec is not None  # only after accept(); not user input
        if self._raw_frames and (codec.is_open() or self._before_failure()):
            # no extension: the frame is header + payload
            if isinstance(data, str):
                return server_frame(TEXT, data.encode())
            return server_frame(BINARY, data)
        return codec.message(data) or None

    def encode_utf8(self, payload: bytes) -> bytes | None:
        codec = self._codec
        assert codec is not None  # only after accept(); not user input
        if self._raw_frames and (codec.is_open() or self._before_failure()):
            return server_frame(TEXT, payload)
        return codec.message(payload.decode()) or None

    def encode_shared(self, frame: bytes, data: Data) -> bytes | None:
        assert self._codec is not None  # only after accept(); not user input
        if self._raw_frames and (self._codec.is_open() or self._before_failure()):
            return frame
        return self.encode(data)

    def _before_failure(self) -> bool:
        """Whether the codec failed the connection but its ``Close`` (with our close frame)
        waits behind messages not read yet: until it is read, messages may still be sent."""
        events = self._events
        return bool(events) and events[-1] is self._failing  # type: ignore[index]  # events

    def encode_close(self, code: int, reason: str) -> bytes | None:
        assert self._codec is not None  # only after accept(); not user input
        return self._codec.close(code, reason) or None

    def ping(self, payload: bytes) -> tuple[bytes, trio.Event]:
        assert self._codec is not None  # only after accept(); not user input
        frame = self._codec.ping(payload) if not self._ended_reading else b""
        if not frame:
            raise trio.BrokenResourceError(_DROPPED)  # closing: no pong will come
        self._pong_times.pop(payload, None)
        return frame, self._pongs.setdefault(payload, trio.Event())

    def pong_came(self, payload: bytes) -> float | None:
        return self._pong_times.pop(payload, None)

    # -- writing ------------------------------------------------------------------------------

    def unit_size(self, unit: Unit) -> int:
        return len(unit)

    def rest(self, unit: Unit, written: int) -> Unit:
        return memoryview(unit)[written:]

    def write_nowait(self, unit: Unit) -> int:
        if self._end is not None:
            raise trio.BrokenResourceError(self._end)
        if self._fd < 0:
            return -1
        try:
            return os.write(self._fd, unit)
        except BlockingIOError:
            return 0
        except OSError:  # reset, broken pipe
            raise self._drop(_DROPPED) from None

    async def write(self, units: Sequence[Unit]) -> None:
        data = units[0] if len(units) == 1 else b"".join(units)
        written = self.write_nowait(data)
        if written == len(data):  # the kernel took it all, as it nearly always does: no scope
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        with trio.move_on_after(self._send_timeout) as slow:
            try:
                if written >= 0:
                    await write_fd(self._fd, memoryview(data)[written:], self._stream)
                else:
                    await self._stream.send_all(data)
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                raise self._drop(_DROPPED) from None
        if slow.cancelled_caught:
            raise self._drop(_SEND_TIMEOUT)

    def _drop(self, why: Close) -> trio.BrokenResourceError:
        """The stream is unusable: fail every later write; the error to raise."""
        if self._end is None:
            self._end = why
        self._release_pings()
        return trio.BrokenResourceError(self._end)
