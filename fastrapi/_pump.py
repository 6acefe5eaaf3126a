"""The per-connection pump: one nursery, a reader task, a writer task, two bounded channels.

Theory of operation
-------------------
::

    transport ──reader──▶ inbound channel (max_queue) ──▶ handler: await ws.receive_text()
    transport ◀──writer── outbound channel (max_queue) ◀── handler: await ws.send_text(...)

The handler runs in the body of the connection's nursery; the reader and the writer are its
children, so no task outlives the connection. A full inbound channel stops the reader, so the
transport stops reading and TCP pushes back on the client; a full outbound channel makes
``send_*`` wait, so the handler is pushed back. Nothing is queued without bound.

The reader ends when the peer closes (or the connection drops), when no message came for
``idle_timeout`` (close 1001), or when a message is over ``max_message_size`` (close 1009). It
records why in the :class:`~fastrapi._state.Session` and closes the inbound channel, so the
handler reads what arrived before and then gets :class:`~fastrapi.WebSocketDisconnect`.

The writer sends messages in order, what queued behind a slow write in one batch (up to
``WRITE_BATCH``); a ``Close`` (from ``ws.close()`` or from the end of the handler) is the last
thing it writes. When the handler ends, the pump queues the close its outcome calls for (1000 on
return, the code of a ``WebSocketException``, 1011 for any other error, 1001 when
``max_lifetime`` ran out or the server is shutting down), waits at most ``close_timeout`` for
the writer to drain the queue and write it, then cancels whatever is left. The writer is
shielded from outside cancellation (a server shutdown) until then, so even a cancelled
connection gets its close. Errors of the handler never reach the nursery, so they come out bare,
never as an ExceptionGroup.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import trio

from ._closecodes import CloseCode
from ._state import Session
from ._transport import Close, Data, Reject, ServerClose, Transport
from .exceptions import WebSocketDisconnect, WebSocketException
from .websocket import Outbound, WebSocket

WRITE_BATCH = 64 * 1024  # characters or bytes: queued messages written together, at most
_LIFETIME_OVER = Close(CloseCode.GOING_AWAY, "maximum connection lifetime reached")
_CANCELLED = Close(CloseCode.GOING_AWAY, "server shutting down")
_PING_TIMEOUT = Close(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")


@dataclass(frozen=True, slots=True)
class PumpOptions:
    """The per-connection settings; see :class:`fastrapi.FastrAPI` for their meaning."""

    max_queue: int = 16
    max_message_size: int = 16 * 2**20
    idle_timeout: float | None = None
    max_lifetime: float | None = None
    close_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0

    def __post_init__(self) -> None:
        if self.max_queue < 0:
            raise ValueError(f"max_queue must be 0 or more, not {self.max_queue}")
        if self.max_message_size < 1:
            raise ValueError(f"max_message_size must be positive, not {self.max_message_size}")
        for name in (
            "idle_timeout",
            "max_lifetime",
            "close_timeout",
            "ping_interval",
            "ping_timeout",
        ):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")


Handler = Callable[[WebSocket], Awaitable[None]]
CreateWebSocket = Callable[
    [Session, trio.MemoryReceiveChannel[Data], trio.MemorySendChannel[Outbound]], WebSocket
]


async def run_session(
    transport: Transport, create: CreateWebSocket, handler: Handler, options: PumpOptions
) -> None:
    """Run one connection until its handler has finished and the close is sent.

    Raises:
        Exception: whatever the handler raised, bare, after the connection was closed with
            1011 (``WebSocketDisconnect`` and ``WebSocketException`` end the handler normally).
    """
    session = Session()
    in_tx, in_rx = trio.open_memory_channel[Data](options.max_queue)
    out_tx, out_rx = trio.open_memory_channel[Outbound](options.max_queue)
    ws = create(session, in_rx, out_tx)
    reader_scope = trio.CancelScope()
    reader_done = trio.Event()
    writer_done = trio.Event()
    # Shielded so that a server shutdown still sends the close; the pump itself cancels it once
    # close_timeout has passed, so the shield never outlives that bound.
    writer_scope = trio.CancelScope(shield=True)
    handler_error: BaseException | None = None
    outcome = _CANCELLED
    transport.watch(partial(_interrupt, session, reader_scope))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_reader, transport, in_tx, session, options, reader_scope, reader_done)
        nursery.start_soon(_writer, transport, out_rx, session, writer_scope, writer_done)
        if transport.can_ping and options.ping_interval is not None:
            nursery.start_soon(_heartbeat, transport, session, options, reader_scope)
        try:
            with trio.move_on_after(_seconds(options.max_lifetime)) as lifetime:
                await handler(ws)
            outcome = (
                _LIFETIME_OVER if lifetime.cancelled_caught else Close(CloseCode.NORMAL_CLOSURE)
            )
        except Exception as exc:  # re-raised bare below, never inside a group
            outcome, handler_error = _judge(exc)
        finally:
            in_rx.close()  # frees a reader blocked on a full queue
            final = session.final_close(outcome)
            with trio.move_on_after(options.close_timeout, shield=True):
                if final is not None:
                    await _send_last(out_tx, final)
                out_tx.close()
                await writer_done.wait()
                if session.accepted:
                    await reader_done.wait()  # the peer's answer to our close
            writer_scope.cancel()
            nursery.cancel_scope.cancel()
    if handler_error is not None:
        raise handler_error


def _interrupt(session: Session, reader_scope: trio.CancelScope, end: Close | ServerClose) -> None:
    """The connection ended while the reader may wait on the transport: say why, stop it."""
    if isinstance(end, ServerClose):
        session.on_server_end(end.code, end.reason)
    else:
        session.on_broken(end)
    reader_scope.cancel()  # the handler's receive raises WebSocketDisconnect


def _judge(exc: Exception) -> tuple[Close, BaseException | None]:
    """The close a handler's exception calls for, and the error to re-raise (if any)."""
    if isinstance(exc, WebSocketDisconnect):
        return Close(CloseCode.NORMAL_CLOSURE), None
    if isinstance(exc, WebSocketException):
        return Close(exc.code, exc.reason), None
    if isinstance(exc, ExceptionGroup):  # from a nursery of the handler's own
        rest = exc.subgroup(lambda e: not isinstance(e, WebSocketDisconnect | ExceptionGroup))
        if rest is None:
            return Close(CloseCode.NORMAL_CLOSURE), None
        chosen = rest.exceptions[0] if len(rest.exceptions) == 1 else None
        if isinstance(chosen, WebSocketException):
            return Close(chosen.code, chosen.reason), None
    return Close(CloseCode.INTERNAL_ERROR), exc


async def _send_last(out_tx: trio.MemorySendChannel[Outbound], item: Close | Reject) -> None:
    with contextlib.suppress(trio.BrokenResourceError):  # the writer ended: so did the connection
        await out_tx.send(item)


def _seconds(timeout: float | None) -> float:
    return math.inf if timeout is None else timeout


async def _reader(
    transport: Transport,
    inbound: trio.MemorySendChannel[Data],
    session: Session,
    options: PumpOptions,
    scope: trio.CancelScope,
    done: trio.Event,
) -> None:
    idle_timeout = _seconds(options.idle_timeout)
    limit = options.max_message_size
    # a sync close of the channel: `async with` would let Cancelled hide errors (trio#1559)
    with scope, inbound:
        try:
            await _read(transport, inbound, session, idle_timeout, limit)
        finally:
            done.set()


async def _read(
    transport: Transport,
    inbound: trio.MemorySendChannel[Data],
    session: Session,
    idle_timeout: float,
    limit: int,
) -> None:
    while True:
        if idle_timeout == math.inf:
            event = await transport.receive()
        else:
            with trio.move_on_after(idle_timeout) as idle:
                event = await transport.receive()
            if idle.cancelled_caught:
                session.on_server_end(CloseCode.GOING_AWAY, "idle timeout")
                return
        if isinstance(event, Close):
            session.on_peer_close(event)
            return
        if isinstance(event, ServerClose):
            session.on_server_end(event.code, event.reason)
            return
        if len(event) > limit or (
            isinstance(event, str) and len(event) * 4 > limit and len(event.encode()) > limit
        ):
            session.on_server_end(CloseCode.MESSAGE_TOO_BIG, f"message over {limit} bytes")
            return
        try:
            try:
                inbound.send_nowait(event)  # most often the handler is waiting: no extra yield
            except trio.WouldBlock:
                await inbound.send(event)
        except trio.BrokenResourceError:
            return  # the handler has finished


async def _writer(
    transport: Transport,
    outbound: trio.MemoryReceiveChannel[Outbound],
    session: Session,
    scope: trio.CancelScope,
    done: trio.Event,
) -> None:
    try:
        with scope, outbound:
            pending: Outbound | None = None  # taken from the queue behind a batch
            while True:
                if pending is None:
                    try:
                        item = await outbound.receive()
                    except trio.EndOfChannel:
                        return
                else:
                    item, pending = pending, None
                if isinstance(item, Close):
                    await transport.close(item.code, item.reason)
                elif isinstance(item, Reject):
                    await transport.reject(item.status)
                else:
                    batch, pending = _batch(item, outbound)
                    if not session.peer_closed:  # else nobody is listening: drop them
                        await transport.send(batch)
                    continue
                session.on_close_sent()
                return
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        session.on_broken(exc.args[0] if exc.args else None)
    finally:
        done.set()


def _batch(
    first: Data, outbound: trio.MemoryReceiveChannel[Outbound]
) -> tuple[list[Data], Outbound | None]:
    """``first`` and the messages queued behind it, for one write, until they reach
    ``WRITE_BATCH``; and the close that stopped the batch, if one did."""
    batch = [first]
    size = len(first)
    while size < WRITE_BATCH:
        try:
            item = outbound.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            break
        if not isinstance(item, str | bytes):
            return batch, item
        batch.append(item)
        size += len(item)
    return batch, None


async def _heartbeat(
    transport: Transport, session: Session, options: PumpOptions, reader_scope: trio.CancelScope
) -> None:
    """Ping every ``ping_interval``; without a pong within ``ping_timeout``, end with 1011."""
    interval = _seconds(options.ping_interval)
    timeout = _seconds(options.ping_timeout)
    while True:
        await trio.sleep(interval)
        with trio.move_on_after(timeout) as late:
            try:
                await transport.ping(os.urandom(4))
            except trio.BrokenResourceError:
                return  # the connection is gone: the reader says so
        if late.cancelled_caught:
            session.on_server_end(_PING_TIMEOUT.code, _PING_TIMEOUT.reason)
            reader_scope.cancel()  # the handler's receive raises WebSocketDisconnect(1011)
            return
