"""A Trio client of the Hub protocol (``fastrapi.hub.v1``), for services and tests.

::

    async with connect_hub("ws://127.0.0.1:8000/realtime") as hub:
        async with hub.subscribe("room") as sub:
            await hub.publish("room", {"text": "hi"})
            async for publication in sub:
                print(publication.data, publication.position, sub.recovered)

Theory of operation
-------------------
One task per client keeps the connection: it connects (trio-websocket), reads the server's
``hello``, resubscribes every subscription from the last position it saw, and reads until
the connection ends. Then, unless the close code says stop (see :doc:`/clients`), it waits
a random time between 0 and ``min(max_reconnect_delay, min_reconnect_delay * 2**attempt)``
(full jitter; the attempt count starts again after ``STABLE_AFTER`` seconds connected) and
connects again. The server's ``ping`` must come every ``ping_interval`` (from ``hello``)
plus ``ping_grace`` seconds, or the connection is taken as dead and replaced.

Commands (publish, rpc, presence, history, subscribe) wait for a connection and for their
reply, both within ``reply_timeout`` seconds (then :class:`trio.TooSlowError`). Each subscription
keeps the position of the last publication it got and drops any that is not newer (same
epoch): recovery after a reconnection can repeat nothing.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import logging
import random
import ssl
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, final
from urllib.parse import urlsplit

import orjson
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, HandshakeError, wrap_client_stream

from ._streams import bare_errors
from .exceptions import HubConnectionError, HubReplyError, SlowConsumerError
from .hub import Position
from .hub._members import next_queued
from .hub._protocol import RECONNECT_CODES, SUBPROTOCOL

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

    from trio_websocket import WebSocketConnection

__all__ = ["HubClient", "HubSubscription", "Publication", "connect_hub"]

logger: Final = logging.getLogger("fastrapi.client")

State = Literal["connecting", "connected", "disconnected"]
STABLE_AFTER: Final = 10.0
"""Seconds connected after which the next reconnection starts from the shortest delay."""
CLOSE_TIMEOUT: Final = 2.0
"""Seconds a closing handshake may take before the connection is dropped."""
_PONG: Final = '{"type":"pong"}'


@final
@dataclass(frozen=True, slots=True)
class Publication:
    """A message of a subscribed topic."""

    topic: str
    data: Any
    """The published data, decoded from JSON (``bytes`` for a binary message)."""
    position: Position
    """Its position in the topic."""


@final
class _Waiter:
    """A command's reply, once it comes."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: Any = None
        self.error: Exception | None = None

    def set(self, result: Any = None, error: Exception | None = None) -> None:
        if not self.done.is_set():
            self.result, self.error = result, error
            self.done.set()

    async def wait(self) -> Any:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result


@final
class HubSubscription:
    """One topic's publications: ``async for publication in sub``, as
    :meth:`HubClient.subscribe` gives it.

    Iterating waits for the next :class:`Publication` (cancelling the wait loses nothing). It
    ends when the ``subscribe`` block does; it raises :class:`~fastrapi.HubReplyError` if a
    resubscription was refused, :class:`~fastrapi.HubConnectionError` if the client stopped,
    and :class:`~fastrapi.SlowConsumerError` once more than ``max_pending`` publications
    waited to be read (after those).
    """

    __slots__ = (
        "_changes",
        "_ended",
        "_lot",
        "_max_pending",
        "_queue",
        "_ready",
        "_sent_in",
        "duplicates",
        "position",
        "recovered",
        "subscribed",
        "topic",
        "was_recovering",
    )

    def __init__(self, topic: str, since: Position | None, max_pending: int) -> None:
        self.topic = topic
        self.position = since
        """The position of the last publication received (or the one subscribed from)."""
        self.recovered = False
        """Whether the last (re)subscription got everything missed since :attr:`position`
        (``False`` after a gap: reload the state, the publications go on)."""
        self.was_recovering = False
        """Whether the last (re)subscription asked for what was missed."""
        self.subscribed = 0
        """How many times the server confirmed the subscription (1 + reconnections)."""
        self.duplicates = 0
        """Publications dropped because they were not newer than :attr:`position`."""
        self._max_pending = max_pending
        self._queue: deque[Publication] = deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._ready = trio.Event()
        self._changes = trio.lowlevel.ParkingLot()  # woken by each confirmation, and the end
        self._ended: BaseException | None = None
        self._sent_in = -1  # the connection the last subscribe was sent on

    async def wait_subscribed(self, count: int = 1) -> None:
        """Wait until the server confirmed the subscription ``count`` times in all (2: once
        resubscribed after a reconnection); then :attr:`recovered` says how that went.

        Raises:
            HubReplyError, HubConnectionError: the subscription ended instead.
        """
        await trio.lowlevel.checkpoint()
        while self.subscribed < count:
            if self._ended is not None and not isinstance(self._ended, StopAsyncIteration):
                raise self._ended
            await self._changes.park()

    def __repr__(self) -> str:
        return f"<HubSubscription {self.topic!r} at {self.position}>"

    def _subscribed(self, message: Mapping[str, Any]) -> None:
        self.was_recovering = bool(message.get("was_recovering"))
        self.recovered = bool(message.get("recovered"))
        if not (self.was_recovering and self.recovered):  # a fresh start: from here
            self.position = Position(str(message["epoch"]), int(message["offset"]))
        self.subscribed += 1
        self._ready.set()
        self._changes.unpark_all()

    def _advance(self, message: Mapping[str, Any]) -> Position | None:
        """Move :attr:`position` to ``message``'s (a publication, or a join or leave, which
        take offsets too); ``None``, counted, when it is not newer (a repeat)."""
        position = Position(str(message["epoch"]), int(message["offset"]))
        last = self.position
        if last is not None and last.epoch == position.epoch and position.offset <= last.offset:
            self.duplicates += 1
            return None
        self.position = position
        return position

    def _deliver(self, message: Mapping[str, Any]) -> None:
        position = self._advance(message)
        if position is None or self._ended is not None:
            return
        if len(self._queue) >= self._max_pending:
            self._end(
                SlowConsumerError(
                    f"subscription of topic {self.topic!r}: over max_pending"
                    f" ({self._max_pending} publications unread)"
                )
            )
            return
        data = message.get("data")
        if message.get("encoding") == "base64" and isinstance(data, str):
            data = base64.b64decode(data)
        self._queue.append(Publication(self.topic, data, position))
        self._lot.unpark_all()

    def _end(self, why: BaseException) -> None:
        if self._ended is None:
            self._ended = why
            self._ready.set()
            self._lot.unpark_all()
            self._changes.unpark_all()

    def __aiter__(self) -> HubSubscription:
        return self

    async def __anext__(self) -> Publication:
        return await next_queued(self._queue, self._lot, lambda: self._ended)


@final
class HubClient:
    """A connection to a hub route that lasts: made by :func:`connect_hub`, which see."""

    def __init__(
        self,
        url: str,
        *,
        min_reconnect_delay: float,
        max_reconnect_delay: float,
        reply_timeout: float,
        ping_grace: float,
        headers: Mapping[str, str] | None,
        subprotocols: Sequence[str],
        ssl_context: ssl.SSLContext | None,
        max_pending: int,
        max_message_size: int,
    ) -> None:
        if not 0 < min_reconnect_delay <= max_reconnect_delay:
            raise ValueError(
                "reconnect delays must be 0 < min_reconnect_delay <= max_reconnect_delay,"
                f" not {min_reconnect_delay} and {max_reconnect_delay}"
            )
        for name, value in (("reply_timeout", reply_timeout), ("ping_grace", ping_grace)):
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be 1 or more, not {max_pending}")
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"a hub URL is ws://host[:port]/path or wss://..., not {url!r}")
        if ssl_context is not None and parts.scheme != "wss":
            raise ValueError(f"an ssl_context is for wss:// URLs, not {url!r}")
        self._secure = parts.scheme == "wss"
        self._hostname = parts.hostname
        self._port = parts.port or (443 if self._secure else 80)
        default = parts.port is None or parts.port == (443 if self._secure else 80)
        self._host = parts.netloc.rpartition("@")[2] if not default else parts.hostname
        self._resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.url = url
        self.min_reconnect_delay = min_reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.reply_timeout = reply_timeout
        self.ping_grace = ping_grace
        self._headers = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        self._subprotocols = [SUBPROTOCOL, *subprotocols]
        self._ssl = ssl_context
        self._max_pending = max_pending
        self._max_message_size = max_message_size
        self.state: State = "connecting"
        """``"connecting"`` (or waiting to reconnect), ``"connected"`` or ``"disconnected"``
        (for good: closed, or stopped by the server's close code)."""
        self.connections = 0
        """How many times the client connected (1 + reconnections)."""
        self.connected_at: float | None = None
        """When it last connected (:func:`trio.current_time`)."""
        self.attempted_at: float | None = None
        """When the attempt that made the current connection was due: the end of its backoff
        (what the jitter spreads)."""
        self._attempt = 0.0
        self.close_code: int | None = None
        """The close code of the last connection that ended (1006: lost without one), or of
        the refusal that stopped the client."""
        self._ws: WebSocketConnection | None = None
        self._session = 0  # the current connection's number
        self._up = trio.Event()  # set while connected, or once stopped
        self._stopped: HubConnectionError | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, _Waiter] = {}
        self._subscribing: dict[int, HubSubscription] = {}
        self._ignored: set[int] = set()  # commands whose reply nobody waits for
        self._subs: dict[str, HubSubscription] = {}
        self._changes = trio.lowlevel.ParkingLot()  # woken by each connection, and the stop

    def __repr__(self) -> str:
        return f"<HubClient {self.url} {self.state}>"

    async def wait_connected(self, connections: int = 1) -> None:
        """Wait until the client is connected, having connected ``connections`` times in all
        (2: reconnected once). Bound it with a cancel scope.

        Raises:
            HubConnectionError: the client stopped.
        """
        await trio.lowlevel.checkpoint()
        while self.connections < connections or self.state != "connected":
            if self._stopped is not None:
                raise self._stopped
            await self._changes.park()

    # -- commands ------------------------------------------------------------------------------

    async def publish(self, topic: str, data: Any) -> Position:
        """Publish ``data`` (anything JSON carries) to ``topic``; its position.

        Waits for a connection and the reply, within ``reply_timeout``.

        Raises:
            HubReplyError: refused (403...), or the Hub is down (503).
            HubConnectionError: the connection ended before the reply (the message may or may
                not be published), or the client stopped.
            trio.TooSlowError: no connection or no reply within ``reply_timeout``.
        """
        result = await self._command({"type": "publish", "topic": topic, "data": data})
        return Position(str(result["epoch"]), int(result["offset"]))

    async def rpc(self, method: str, params: Any = None) -> Any:
        """Call the route's rpc ``method`` with ``params``; its result. Raises as
        :meth:`publish` (:class:`~fastrapi.HubReplyError` 404: no such method)."""
        return await self._command({"type": "rpc", "method": method, "params": params})

    async def presence(self, topic: str) -> list[Any]:
        """The presence values of ``topic``'s subscribers. Raises as :meth:`publish`."""
        result = await self._command({"type": "presence", "topic": topic})
        members: list[Any] = result["members"]
        return members

    async def history(
        self, topic: str, since: Position | None = None, limit: int | None = None
    ) -> tuple[list[Publication], Position]:
        """The kept publications of ``topic`` after ``since`` (all kept, without it; the first
        ``limit`` after ``since``, or the last ``limit``), and the topic's position now.
        Raises as :meth:`publish`."""
        command: dict[str, Any] = {"type": "history", "topic": topic, "limit": limit}
        command["since"] = _wire(since)
        result = await self._command(command)
        publications = [
            Publication(topic, p["data"], Position(str(p["epoch"]), int(p["offset"])))
            for p in result["publications"]
        ]
        return publications, Position(str(result["epoch"]), int(result["offset"]))

    @asynccontextmanager
    async def subscribe(
        self, topic: str, since: Position | None = None
    ) -> AsyncIterator[HubSubscription]:
        """Subscribe to ``topic`` for the block: ``async with hub.subscribe("room") as sub:``.

        It waits for the server's confirmation (within ``reply_timeout``); with ``since`` it first
        gets what was published after that position (see :attr:`HubSubscription.recovered`).
        After a reconnection the client resubscribes from the last position it got.

        Raises:
            ValueError: already subscribed to ``topic`` in this client.
            HubReplyError: the subscription was refused.
            HubConnectionError: the client stopped.
            trio.TooSlowError: not confirmed within ``reply_timeout``.
        """
        if topic in self._subs:
            raise ValueError(f"this client is subscribed to topic {topic!r} already")
        sub = HubSubscription(topic, since, self._max_pending)
        self._subs[topic] = sub
        try:
            with trio.fail_after(self.reply_timeout):
                ws = await self._connected()
                with contextlib.suppress(ConnectionClosed):  # sent again once reconnected
                    await self._send_subscribe(ws, sub)
                await sub._ready.wait()
            if sub._ended is not None:
                raise sub._ended
            yield sub
        finally:
            del self._subs[topic]
            sub._end(StopAsyncIteration())
            now = self._ws
            if now is not None and self._stopped is None:
                # not waited for: its reply is ignored (an error too: not subscribed there)
                command_id = next(self._ids)
                self._ignored.add(command_id)
                command = {"type": "unsubscribe", "id": command_id, "topic": topic}
                with (
                    trio.move_on_after(CLOSE_TIMEOUT, shield=True),
                    contextlib.suppress(ConnectionClosed),
                ):
                    await now.send_message(orjson.dumps(command).decode())

    async def _command(self, command: dict[str, Any]) -> Any:
        with trio.fail_after(self.reply_timeout):
            ws = await self._connected()
            command_id = next(self._ids)
            waiter = self._waiting[command_id] = _Waiter()
            try:
                await ws.send_message(orjson.dumps({**command, "id": command_id}).decode())
                return await waiter.wait()
            except ConnectionClosed as exc:
                code = exc.reason.code if exc.reason is not None else 1006
                raise HubConnectionError(code, "the connection ended before the reply") from None
            finally:
                self._waiting.pop(command_id, None)

    async def _connected(self) -> WebSocketConnection:
        while True:
            if self._stopped is not None:
                raise self._stopped
            if self._ws is not None:
                return self._ws
            await self._up.wait()

    async def _send_subscribe(self, ws: WebSocketConnection, sub: HubSubscription) -> None:
        if sub._sent_in == self._session or sub._ended is not None:
            return
        sub._sent_in = self._session
        command_id = next(self._ids)
        self._subscribing[command_id] = sub
        since = sub.position
        command = {"type": "subscribe", "id": command_id, "topic": sub.topic, "since": _wire(since)}
        await ws.send_message(orjson.dumps(command).decode())

    # -- the connection ------------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, serve, and reconnect with backoff, until stopped."""
        attempt = 0
        self._attempt = trio.current_time()
        while self._stopped is None:
            self.state = "connecting"
            code, reason, stop, since = await self._connect_once()
            if since is not None or stop:  # a connection ended (not an attempt that failed)
                self.close_code = code
            self._lost(code, reason)
            if stop:
                self._stop(code, reason)
                return
            if since is not None and trio.current_time() - since >= STABLE_AFTER:
                attempt = 0
            window = min(self.max_reconnect_delay, self.min_reconnect_delay * 2 ** min(attempt, 40))
            attempt += 1
            delay = random.uniform(0, window)
            self._attempt = trio.current_time() + delay
            logger.info(
                "hub client: %s closed (%d %s); reconnecting in %.2fs",
                self.url,
                code,
                reason,
                delay,
            )
            await trio.sleep(delay)

    async def _connect_once(self) -> tuple[int, str, bool, float | None]:
        """One connection: (close code, reason, whether to stop, when it was up)."""
        since: float | None = None
        try:
            with bare_errors():
                with trio.fail_after(self.reply_timeout):
                    stream = await self._open_stream()
                try:
                    async with trio.open_nursery() as nursery:
                        with trio.fail_after(self.reply_timeout):
                            ws = await wrap_client_stream(
                                nursery,
                                stream,
                                self._host,
                                self._resource,
                                subprotocols=self._subprotocols,
                                extra_headers=self._headers,
                                max_message_size=self._max_message_size,
                            )
                        since = trio.current_time()
                        try:
                            code, reason = await self._serve(ws)
                        finally:
                            with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                                await ws.aclose()
                            nursery.cancel_scope.cancel()
                finally:  # trio-websocket leaves a refused handshake's socket open
                    await trio.aclose_forcefully(stream)
        except ConnectionRejected as exc:
            status = exc.status_code
            if status in (400, 401, 403, 404):
                return 4000 + status, f"the handshake was refused with HTTP {status}", True, None
            return 1006, f"the handshake was refused with HTTP {status}", False, None
        except ConnectionClosed as exc:
            code, reason = 1006, "the connection was lost"
            if exc.reason is not None:
                code, reason = exc.reason.code, exc.reason.reason or ""
        except (HandshakeError, OSError, trio.TooSlowError, trio.BrokenResourceError) as exc:
            return 1006, f"{type(exc).__name__}: {exc}", False, since
        except ValueError as exc:  # not JSON objects: not this protocol
            return 1002, f"the server does not speak fastrapi.hub.v1: {exc}", True, since
        stop = code not in RECONNECT_CODES and code not in (1005, 1014, 1015)
        return code, reason, stop, since

    async def _open_stream(self) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
        if not self._secure:
            return await trio.open_tcp_stream(self._hostname, self._port)
        context = self._ssl if self._ssl is not None else ssl.create_default_context()
        return await trio.open_ssl_over_tcp_stream(
            self._hostname, self._port, ssl_context=context, https_compatible=True
        )

    async def _serve(self, ws: WebSocketConnection) -> tuple[int, str]:
        """Read what the server sends until the connection ends or its pings stop."""
        with trio.fail_after(self.reply_timeout):
            hello = _loads(await ws.get_message())
        if hello.get("type") != "hello" or hello.get("version") != 1:
            await ws.aclose(1002, "not a fastrapi.hub.v1 server")
            return 1002, f"the server did not say hello in fastrapi.hub.v1: {hello!r}"
        interval = hello.get("ping_interval")
        limit = float(interval) + self.ping_grace if isinstance(interval, int | float) else None
        self._session += 1
        self._ws = ws
        self.state = "connected"
        self.connections += 1
        self.connected_at = trio.current_time()
        self.attempted_at = self._attempt
        self._up.set()
        self._changes.unpark_all()
        for sub in list(self._subs.values()):
            await self._send_subscribe(ws, sub)
        deadline = trio.current_time() + limit if limit is not None else float("inf")
        while True:
            with trio.move_on_at(deadline):
                message = _loads(await ws.get_message())
                kind = message.get("type")
                if kind == "ping":
                    if limit is not None:
                        deadline = trio.current_time() + limit
                    await ws.send_message(_PONG)
                else:
                    self._dispatch(kind, message)
                continue
            logger.warning(
                "hub client: no ping from %s within %.1fs: the connection is dead", self.url, limit
            )
            with trio.move_on_after(CLOSE_TIMEOUT):
                await ws.aclose(1001, "no ping")
            return 1006, "no ping within ping_interval + ping_grace"

    def _dispatch(self, kind: object, message: dict[str, Any]) -> None:
        try:
            self._route(kind, message)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("hub client: a malformed %s message from the server: %r", kind, exc)

    def _route(self, kind: object, message: dict[str, Any]) -> None:
        if kind == "publication":
            sub = self._subs.get(str(message.get("topic")))
            if sub is not None:
                sub._deliver(message)
        elif kind in ("join", "leave"):  # not delivered (presence() lists members), but
            sub = self._subs.get(str(message.get("topic")))  # its offset is the topic's
            if sub is not None:
                sub._advance(message)
        elif kind in ("reply", "error"):
            command_id = message.get("id")
            error = (
                HubReplyError(int(message.get("code", 0)), str(message.get("message", "")))
                if kind == "error"
                else None
            )
            sub = self._subscribing.pop(command_id, None) if isinstance(command_id, int) else None
            if sub is not None and error is not None:
                sub._end(error)  # a refused (re)subscription
                return
            if command_id in self._ignored:
                self._ignored.discard(command_id)
                return
            waiter = self._waiting.get(command_id) if isinstance(command_id, int) else None
            if waiter is not None:
                waiter.set(message.get("result"), error)
            elif error is not None:
                logger.warning("hub client: the server reported an error: %s", error)
        elif kind == "subscribed":
            sub = self._subscribing.pop(message.get("id"), None)  # type: ignore[arg-type]  # any id
            if sub is not None:
                sub._subscribed(message)
        # join and leave: presence events, not delivered by this client (ask presence())

    def _lost(self, code: int, reason: str) -> None:
        """The connection ended: its commands fail, subscriptions wait for the next one."""
        self._ws = None
        if self._up.is_set():
            self._up = trio.Event()
        self._subscribing.clear()
        self._ignored.clear()
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.set(error=HubConnectionError(code, "the connection ended before the reply"))

    def _stop(self, code: int, reason: str) -> None:
        """Stop for good: every waiter and subscription is told why."""
        self.state = "disconnected"
        self._stopped = HubConnectionError(code, reason or "the client stopped")
        for sub in self._subs.values():
            sub._end(self._stopped)
        self._up.set()
        self._changes.unpark_all()
        if code != 1000:
            logger.warning("hub client: %s stopped: %d %s", self.url, code, reason)

    async def _close(self) -> None:
        ws = self._ws
        self._stop(1000, "the client was closed")
        if ws is not None:
            with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                await ws.aclose(1000)


def _wire(position: Position | None) -> dict[str, Any] | None:
    return None if position is None else {"epoch": position.epoch, "offset": position.offset}


def _loads(text: str | bytes) -> dict[str, Any]:
    message = orjson.loads(text)
    if not isinstance(message, dict):
        raise orjson.JSONDecodeError("not a JSON object", str(text), 0)
    return message


@asynccontextmanager
async def connect_hub(
    url: str,
    *,
    min_reconnect_delay: float = 0.1,
    max_reconnect_delay: float = 10.0,
    reply_timeout: float = 10.0,
    ping_grace: float = 5.0,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] = (),
    ssl_context: ssl.SSLContext | None = None,
    max_pending: int = 10_000,
    max_message_size: int = 2**20,
) -> AsyncIterator[HubClient]:
    """Connect to the hub route at ``url`` (``ws://`` or ``wss://``) for the block, and keep
    connected: ``async with connect_hub(url) as hub:``.

    The block starts at once (``hub.state`` is ``"connecting"``); commands wait for the
    connection. After a close code that says so (1001, 1006, 1008, 1011, 1012, 1013), a lost
    connection or a missing ping, the client reconnects with exponential backoff and full
    jitter between ``min_reconnect_delay`` and ``max_reconnect_delay`` seconds and
    resubscribes from the last positions; after one that says stop (1000, 4400, 4401, 4403,
    4500-4999...) or a refused handshake it stops (``hub.state == "disconnected"``), and
    commands and subscriptions raise :class:`~fastrapi.HubConnectionError`. The end of the
    block closes the connection with 1000.

    Args:
        url: The hub route's URL.
        min_reconnect_delay: The first reconnection's longest wait, in seconds.
        max_reconnect_delay: The longest wait between attempts.
        reply_timeout: Seconds a command waits for a connection and its reply, and a connection
            attempt for its handshake.
        ping_grace: Seconds past the server's ``ping_interval`` without a ping after which the
            connection is taken as dead.
        headers: Headers of the handshake (``Authorization``...).
        subprotocols: Subprotocols offered after ``fastrapi.hub.v1`` (``["bearer", token]``).
        ssl_context: For ``wss://`` URLs.
        max_pending: Publications a subscription may hold unread before it ends with
            :class:`~fastrapi.SlowConsumerError`.
        max_message_size: The largest message accepted from the server, in bytes.

    Raises:
        ValueError: an option is out of range.
    """
    client = HubClient(
        url,
        min_reconnect_delay=min_reconnect_delay,
        max_reconnect_delay=max_reconnect_delay,
        reply_timeout=reply_timeout,
        ping_grace=ping_grace,
        headers=headers,
        subprotocols=subprotocols,
        ssl_context=ssl_context,
        max_pending=max_pending,
        max_message_size=max_message_size,
    )
    with bare_errors():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client._run)
            try:
                yield client
            finally:
                await client._close()
                nursery.cancel_scope.cancel()
