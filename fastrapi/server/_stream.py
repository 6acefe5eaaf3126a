"""The native transport: one WebSocket over a trio Stream, frames through a codec.

The pump's reader calls :meth:`StreamTransport.receive`, which reads as much as the socket has
(one ``receive_some`` may complete many messages, handed out one by one), answers pings and
echoes a close through the codec. Everything written (the writer's messages and close, the
reader's automatic answers, pings) goes through :meth:`StreamTransport._write`, one writer at a
time, each write bounded by ``send_timeout``: a client that stopped reading gets the connection
dropped (1008) instead of pinning memory, and never delays another connection.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
from collections import deque
from typing import TYPE_CHECKING, Final, final

import h11
import trio

from .._closecodes import CloseCode
from .._transport import Close, Data, ServerClose
from ._codec import Codec, Pong, negotiate
from ._handshake import accept_key, reason_phrase

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._config import ServerConfig

RECEIVE_SIZE: Final = 64 * 1024
DIRECT_WRITE_MAX: Final = 4096  # characters or bytes: larger messages go through the writer
_DROPPED: Final = Close(CloseCode.ABNORMAL_CLOSURE)
_SEND_TIMEOUT: Final = Close(CloseCode.POLICY_VIOLATION, "send timeout: the client stopped reading")


@final
class StreamTransport:
    """A :class:`~fastrapi._transport.Transport` over a byte stream after an HTTP upgrade."""

    can_ping: Final = True

    def __init__(
        self,
        stream: trio.abc.Stream,
        conn: h11.Connection,
        *,
        key: str,
        offered_extensions: str | None,
        config: ServerConfig,
    ) -> None:
        self._stream = stream
        self._conn = conn
        self._key = key
        self._offered = offered_extensions
        self._config = config
        self._codec: Codec | None = None
        self._opened = trio.Event()  # accepted or refused: the reader may start
        self._events: deque[Data | Close] = deque()
        self._lock = trio.StrictFIFOLock()
        self._send_timeout = config.send_timeout or math.inf
        # Direct writes: plain TCP only (a TLS stream's write cannot be split into "nothing
        # sent" and "all"), where poll() exists (not on Windows).
        self._poll: select.poll | None = None
        self._fileno = -1
        if isinstance(stream, trio.SocketStream) and hasattr(select, "poll"):
            self._fileno = stream.socket.fileno()
            self._poll = select.poll()
            self._poll.register(self._fileno, select.POLLOUT)
        self._pongs: dict[bytes, trio.Event] = {}
        self._on_end: Callable[[Close | ServerClose], None] | None = None
        self._end: Close | ServerClose | None = None
        self._ended_reading = False

    # -- the handshake ------------------------------------------------------------------------

    async def accept(self, subprotocol: str | None, headers: Sequence[tuple[bytes, bytes]]) -> None:
        config = self._config
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
        await self._write(
            self._conn.send(h11.InformationalResponse(status_code=101, headers=response))
        )
        self._codec = codec
        trailing, _ = self._conn.trailing_data
        if trailing:
            await self._take(trailing)
        self._opened.set()

    async def reject(
        self, status: int, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b""
    ) -> None:
        conn = self._conn
        head = h11.Response(
            status_code=status,
            headers=[
                *headers,
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
            reason=reason_phrase(status),
        )
        data = conn.send(head) + (conn.send(h11.Data(data=body)) if body else b"")
        try:
            await self._write(data + (conn.send(h11.EndOfMessage()) or b""))
        finally:
            self._end = _DROPPED  # the connection ends with the response
            self._opened.set()

    # -- reading ------------------------------------------------------------------------------

    async def receive(self) -> Data | Close | ServerClose:
        if not self._opened.is_set():
            await self._opened.wait()
        while not self._events:
            if self._end is not None:
                return self._end
            try:
                data = bytes(await self._stream.receive_some(RECEIVE_SIZE))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            await self._take(data)
        return self._events.popleft()

    async def _take(self, data: bytes) -> None:
        """Feed ``data`` to the codec, queue what it completed, send what it answered."""
        assert self._codec is not None  # only after accept(); not user input
        for event in self._codec.receive(data):
            if isinstance(event, Pong):
                self._pong(event.payload)
            else:
                self._events.append(event)
                if isinstance(event, Close):
                    self._release_pings()
        answer = self._codec.outgoing()
        if answer:
            with contextlib.suppress(trio.BrokenResourceError):  # _drop() noted why: the
                await self._write(answer)  # next receive() returns it

    def _pong(self, payload: bytes) -> None:
        # RFC 6455 5.5.3: a pong may answer only the latest ping, so it answers every earlier one
        if payload not in self._pongs:
            return
        for sent in list(self._pongs):
            self._pongs.pop(sent).set()
            if sent == payload:
                return

    def _release_pings(self) -> None:
        """No pong will come any more: wake every ping() so that it raises."""
        self._ended_reading = True
        for waiting in self._pongs.values():
            waiting.set()
        self._pongs.clear()

    def watch(self, on_end: Callable[[Close | ServerClose], None]) -> None:
        self._on_end = on_end

    def request_close(self, code: int, reason: str) -> None:
        """Ask the connection to close itself with ``code`` (server shutdown)."""
        if self._end is None:
            self._end = ServerClose(code, reason)
            if self._on_end is not None:
                self._on_end(self._end)

    # -- writing ------------------------------------------------------------------------------

    async def send(self, messages: Sequence[Data]) -> None:
        assert self._codec is not None  # only after accept(); not user input
        frames = b"".join([self._codec.message(data) for data in messages])
        if frames:
            await self._write(frames)  # one write, one timeout scope for the whole batch

    def ready_to_write(self, size: int) -> bool:
        if size > DIRECT_WRITE_MAX or self._poll is None or self._lock.locked():
            return False
        if self._end is not None or self._codec is None:
            return False
        return bool(self._poll.poll(0))  # the kernel has room: a small frame goes out at once

    async def write_now(self, data: Data, *, schedule: bool) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()  # cancelled here: nothing encoded or sent
        assert self._codec is not None  # ready_to_write() said so; not user input
        frame = self._codec.message(data)
        if frame:
            # Encoded (a compressor's state moved on): it must go out whole. The socket had
            # room, so one plain write() nearly always takes the whole frame, at once and
            # without a cancel scope; what it leaves goes out shielded, within send_timeout.
            self._lock.acquire_nowait()  # free: ready_to_write() checked, nothing ran since
            try:
                try:
                    sent = os.write(self._fileno, frame)
                except BlockingIOError:
                    sent = 0
                except OSError:  # reset, broken pipe
                    self._drop(_DROPPED)
                    raise trio.BrokenResourceError(_DROPPED) from None
                if sent < len(frame):  # the rest, still under the lock: no frame in between
                    await self._send_locked(memoryview(frame)[sent:], shield=True)
            finally:
                self._lock.release()
        if schedule:
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def close(self, code: int, reason: str) -> None:
        assert self._codec is not None  # only after accept(); not user input
        frame = self._codec.close(code, reason)
        if frame:
            await self._write(frame)

    async def ping(self, payload: bytes) -> None:
        assert self._codec is not None  # only after accept(); not user input
        if self._ended_reading:
            raise trio.BrokenResourceError(_DROPPED)
        frame = self._codec.ping(payload)
        if not frame:
            raise trio.BrokenResourceError(_DROPPED)  # closing: no pong will come
        pong = self._pongs.setdefault(payload, trio.Event())
        await self._write(frame)
        await pong.wait()
        if self._ended_reading:
            raise trio.BrokenResourceError(_DROPPED)

    async def _write(self, data: bytes, *, shield: bool = False) -> None:
        """Write ``data`` within ``send_timeout``, or drop the connection.

        Raises:
            trio.BrokenResourceError: the connection is gone; its first argument is the
                ``Close`` that says why (1006 dropped, 1008 send timeout).
        """
        if self._end is _DROPPED or self._end is _SEND_TIMEOUT:
            raise trio.BrokenResourceError(self._end)
        try:
            self._lock.acquire_nowait()  # uncontended, as it nearly always is: no extra yield
        except trio.WouldBlock:
            await self._lock.acquire()
        try:
            await self._send_locked(data, shield=shield)
        finally:
            self._lock.release()

    async def _send_locked(self, data: bytes | memoryview, *, shield: bool) -> None:
        """Write ``data`` within ``send_timeout``, holding the lock; see :meth:`_write`."""
        try:
            with trio.move_on_after(self._send_timeout, shield=shield) as slow:
                await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self._drop(_DROPPED)
            raise trio.BrokenResourceError(_DROPPED) from None
        if slow.cancelled_caught:
            self._drop(_SEND_TIMEOUT)
            raise trio.BrokenResourceError(_SEND_TIMEOUT)

    def _drop(self, why: Close) -> None:
        """The stream is unusable: stop the reader and fail every later write."""
        self._end = why
        if self._on_end is not None:
            self._on_end(why)
        self._release_pings()
