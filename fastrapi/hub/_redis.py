"""The Redis backend: topics shared by every process that uses one Redis server.

Theory of operation
-------------------
A topic ``T`` is four Redis keys under the prefix ``fastrapi:``::

    T:meta      hash: epoch (a random id, made by the first publish) and last (the offset, HINCRBY)
    T:stream    stream: the kept messages, id OFFSET-1, capped with MAXLEN ~ history_size
    T:members   sorted set: presence keys in join order;  T:presence  hash: key -> process, value

and a channel ``fastrapi:DB:T`` for pub/sub, ``DB`` the URL's database number: Redis hands a
message to the subscribers of every database, so the number keeps one database's topics from
another's. One Lua script publishes: it gives the message its offset, adds it to the stream and
publishes it on the channel, atomically, so the channel's order is the offsets' order for every
process. A message on the channel carries its origin (the process's id): a process ignores its
own (the Hub delivered them locally) and anything not newer than what it delivered of that
topic (after a reconnection).

One :class:`coredis.PubSub` per process carries every topic (one Redis subscription per topic
per process). coredis buffers pushed messages without bound; a task moves them at once into a
bounded trio channel (``buffer`` messages), and a second hands them to the Hub. When the
channel is full the message is dropped, counted and logged: members see the gap in the offsets
and recover it through history.

Presence: ``T:presence`` names each member's process; a process keeps a key ``process:ID``
alive (expiring after ``presence_ttl`` seconds, refreshed three times as often). ``presence``
lists only members whose process is alive, and forgets the others: a killed process's members
are gone after ``presence_ttl``.

Redis may lose the entries of a process that is alive: it restarted without persistence, was
flushed, evicted the keys, or the process was cut off for longer than ``presence_ttl`` and
another forgot its members. Each loses all of a process's entries in a topic made before it.
So a process keeps its own members' entries (with their scores, to keep the join order); on
each refresh, one script per topic renews the keys' expiry and says whether this process's
oldest member there is still listed, and if it is not, the refresher puts them all back. No
join notice is published again: the members who were there still know.

Every Redis call is bounded (``timeout``); one that fails raises :class:`HubUnavailable`. The
pub/sub connection is coredis's: it reconnects with a backoff capped at ``max_backoff`` seconds
and resubscribes.

Outages: the first call that cannot reach Redis (or pub/sub connection) starts one (a call
that only times out fails alone: slow is not gone): one warning, a count, and
from then on calls fail at once, but for one attempt each ``max_backoff`` seconds (the
presence refresher makes one at least every ``presence_ttl / 3``); the first call that
succeeds, or the pub/sub reconnecting, ends it: one warning, and its length counted. At
startup ``running`` pings Redis for up to ``startup_timeout`` seconds first.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import secrets
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import parse_qs, urlsplit, urlunsplit

import orjson
import trio

from ..exceptions import HistoryGap, HubUnavailable
from ._backend import Position, Published
from ._wire import Wire

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from types import ModuleType

    import coredis

    from ._backend import History

logger = logging.getLogger("fastrapi.hub")

PREFIX: Final = "fastrapi:"
URL_SCHEMES: Final = ("redis://", "rediss://", "unix://")

# The topic's epoch (KEYS[1]: meta), made from ARGV[1] if it has none yet.
_EPOCH: Final = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
"""

# KEYS: meta, stream, channel. ARGV: new epoch, origin, kind, payload, size, ttl (ms; 0: none).
_PUBLISH: Final = (
    _EPOCH
    + """
local offset = redis.call('HINCRBY', KEYS[1], 'last', 1)
redis.call('HSET', KEYS[1], 'ttl', ARGV[6])
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local size = tonumber(ARGV[5])
local ttl = tonumber(ARGV[6])
local message = ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. epoch .. '\\n' .. offset .. '\\n' .. ARGV[4]
if size > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', size, offset .. '-1', 'm', message, 't', ms)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('PUBLISH', KEYS[3], message)
return {epoch, offset}
"""
)

# KEYS: meta, stream. ARGV: the offset after which to read.
# Returns epoch, last, ttl (ms), now (ms), the first kept entry, the entries after the offset.
_HISTORY: Final = """
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'last', 'ttl')
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local entries = redis.call('XRANGE', KEYS[2], (ARGV[1] + 1) .. '-1', '+')
return {meta[1], meta[2], meta[3], ms, first, entries}
"""

# KEYS: meta, stream. ARGV: a new epoch (if the topic has none), the offset after which to read
# (-1: none). Returns epoch, last, ttl (ms), now (ms), the entries after the offset.
_KEPT: Final = (
    _EPOCH
    + """
local meta = redis.call('HMGET', KEYS[1], 'last', 'ttl')
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local entries = {}
if tonumber(ARGV[2]) >= 0 then
  entries = redis.call('XRANGE', KEYS[2], (ARGV[2] + 1) .. '-1', '+')
end
return {epoch, meta[1], meta[2], ms, entries}
"""
)

# KEYS: members, presence, this process's alive key. ARGV: member key, entry (process, newline,
# value), expiry (ms). Returns the member's score: its join time (µs).
_JOIN: Final = """
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
local now = redis.call('TIME')
local score = tonumber(now[1]) * 1000000 + tonumber(now[2])
redis.call('ZADD', KEYS[1], 'NX', score, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return score
"""

# KEYS: members, presence. ARGV: expiry (ms), a member's key. Renews both; returns 1 if the
# member is listed, 0 if Redis lost it.
_RENEW: Final = """
local listed = redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('HEXISTS', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return listed == 1 and 1 or 0
"""

# KEYS: members, presence. ARGV: expiry (ms), then each member's key, score (0: now), entry.
_RESTORE: Final = """
local now = redis.call('TIME')
for i = 2, #ARGV, 3 do
  local score = ARGV[i + 1]
  if score == '0' then score = tonumber(now[1]) * 1000000 + tonumber(now[2]) end
  redis.call('ZADD', KEYS[1], 'NX', score, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
"""

# KEYS: members, presence. ARGV: alive-key prefix. Returns the values of live members in order.
_PRESENCE: Final = """
local values = {}
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local entry = redis.call('HGET', KEYS[2], key)
  local cut = entry and string.find(entry, '\\n', 1, true)
  if cut and redis.call('EXISTS', ARGV[1] .. string.sub(entry, 1, cut - 1)) == 1 then
    table.insert(values, string.sub(entry, cut + 1))
  else
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[2], key)
  end
end
return values
"""

_KINDS: Final = {b"t": (True, False), b"j": (True, True), b"b": (False, False)}


def _coredis() -> ModuleType:
    """coredis (the ``redis`` extra), or an ImportError that says how to install it."""
    try:
        import coredis.retry
    except ImportError as exc:
        raise ImportError("a Redis Hub needs coredis: pip install fastrapi-trio[redis]") from exc
    # coredis runs on anyio, which imports its Trio backend at the first call; here instead,
    # with the app: workers forked from it then do not each import it as they start (10 to
    # 30 ms of a replaced worker's start, measured on a busy machine). A private module of
    # anyio's, so only a head start: without it, anyio imports what it needs as before.
    with contextlib.suppress(ImportError):
        importlib.import_module("anyio._backends._trio")
    return coredis


def _kind(wire: Wire) -> str:
    return "b" if not wire.is_text else "j" if wire.is_json else "t"


def _wire(kind: bytes, payload: bytes) -> Wire:
    text, is_json = _KINDS[kind]
    return Wire(payload.decode() if text else payload, payload, is_json=is_json)


@final
class RedisBackend:
    """Topics in a Redis server (or Valkey), shared by every process that uses it.

    ``Hub("redis://host:6379/0")`` makes one with the defaults; give ``Hub(backend=...)`` one
    of your own for other values. Its tasks run in ``async with hub.running():``, which a
    :class:`~fastrapi.FastrAPI` app with ``hub=`` enters in its lifespan.

    Args:
        url: ``redis://[user:password@]host[:port][/db]``, ``rediss://`` (TLS: the certificate
            must verify and name the host; trust a CA of your own with
            ``?ssl_ca_certs=/path/to/ca.pem``; ``ssl_check_hostname=false`` accepts a
            certificate for another name) or ``unix:///path/to/socket[?db=N]``.
        presence_ttl: Seconds after which the members of a process that stopped (killed, cut
            off) are no longer listed.
        timeout: Seconds any one Redis call may take before :class:`HubUnavailable`.
        buffer: Messages from other processes waiting for this one's Hub; more are dropped
            (counted in :attr:`dropped`, and logged).
        max_backoff: The longest wait, in seconds, between reconnection attempts; while Redis
            is away, calls fail at once (:class:`HubUnavailable`, ``retry_after`` this) but
            for one attempt every ``max_backoff`` seconds.
        startup_timeout: Seconds :meth:`running` waits for Redis to answer at startup (0: one
            attempt, bounded by ``timeout``).
        start_degraded: What happens when it does not: ``False`` (the default), ``running``
            raises :class:`HubUnavailable` (the server prints one line, ``fastrapi: ...``, and
            exits with status 1); ``True``, it starts anyway, the Hub answering
            :class:`HubUnavailable` until Redis is there.

    While Redis is away the backend logs one warning when it goes and one when it is back, and
    counts both (:attr:`outages`, :attr:`reconnects`, :attr:`outage_seconds`; in
    ``hub.statistics()`` and the app's metrics); coredis's own retry lines are INFO.

    Raises:
        ValueError: ``url`` is not a Redis URL, or an option is out of range.
    """

    def __init__(
        self,
        url: str,
        *,
        presence_ttl: float = 15.0,
        timeout: float = 2.0,
        buffer: int = 4096,
        max_backoff: float = 2.0,
        startup_timeout: float = 10.0,
        start_degraded: bool = False,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
            raise ValueError(f"a Redis URL starts with redis://, rediss:// or unix://, not {url!r}")
        for name, value in (("presence_ttl", presence_ttl), ("timeout", timeout)):
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        if not max_backoff > 0:
            raise ValueError(f"max_backoff must be a positive number of seconds, not {max_backoff}")
        if not startup_timeout >= 0:
            raise ValueError(f"startup_timeout must be 0 or more seconds, not {startup_timeout}")
        if buffer < 1:
            raise ValueError(f"buffer must be 1 or more, not {buffer}")
        self._coredis = _coredis()
        self._errors = (self._coredis.exceptions.RedisError, OSError)
        self.url = url
        self.presence_ttl = presence_ttl
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.startup_timeout = startup_timeout
        self.start_degraded = start_degraded
        self.dropped = 0
        """Messages from other processes dropped because the buffer was full."""
        self._malformed = 0  # messages on our channels that no Hub published
        self.outages = 0
        """Times Redis went away while this process ran (one warning each)."""
        self.reconnects = 0
        """Times it came back (one warning each)."""
        self._where = url.split("@")[-1]  # no password in a log line
        self._lost_at: float | None = None  # when Redis went away (trio's clock), while it is
        self._lost_why = ""
        self._retry_at = 0.0  # while away: calls fail at once until then, then one tries
        self._outage_seconds = 0.0  # of the outages that ended
        self._buffer = buffer
        self._origin = ""  # this process's id on Redis, made by running(): see there
        self._alive = f"{PREFIX}process:"
        self._channels = f"{PREFIX}0:"  # the channels' prefix, with the database's number
        self._deliver: Callable[[Published], None] | None = None
        self._client: coredis.Redis[bytes] | None = None
        self._pubsub: coredis.patterns.pubsub.PubSub[bytes] | None = None
        self._up = trio.Event()  # set while the PubSub is connected
        self._topics: set[str] = set()  # subscribed by this process
        self._gone: set[tuple[str, str]] = set()  # members to remove once Redis is back
        # this process's members with presence, by topic: key -> (score, entry); 0 until the
        # join's score is known
        self._present: dict[str, dict[str, tuple[int, bytes]]] = {}
        self._last: dict[str, tuple[bytes, int]] = {}  # the last delivered (epoch, offset)

    def __repr__(self) -> str:
        return f"<RedisBackend {self._origin or '(not running)'} {self.url.split('@')[-1]}>"

    @property
    def available(self) -> bool:
        """Whether Redis answered the last call (``False`` from a failure to the next answer)."""
        return self._lost_at is None

    @property
    def outage_seconds(self) -> float:
        """Seconds Redis was away while this process ran, the current outage included."""
        current = 0.0 if self._lost_at is None else trio.current_time() - self._lost_at
        return self._outage_seconds + current

    def connect(self, deliver: Callable[[Published], None]) -> None:
        if self._deliver is not None:
            raise RuntimeError("this backend serves a Hub already: give each Hub its own")
        self._deliver = deliver

    # -- running -------------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Connect, and run the pub/sub reader and the presence refresher until the block ends.

        Each run is a new process on Redis, with an id of its own (what it publishes is known
        by it, its members' presence lives by it), made here in the process that serves, never
        inherited from the process that made the backend (a supervisor that forks workers).

        It first waits up to ``startup_timeout`` for Redis to answer (see the class).

        Raises:
            RuntimeError: the backend is running already.
            HubUnavailable: Redis did not answer within ``startup_timeout`` (and
                ``start_degraded`` is false).
        """
        if self._client is not None:
            raise RuntimeError("this Redis backend is running already: give each Hub its own")
        coredis_logger = logging.getLogger("coredis")
        if coredis_logger.level == logging.NOTSET:  # its retry lines, one per attempt: INFO
            coredis_logger.setLevel(logging.WARNING)
        self._origin = secrets.token_hex(6)
        self._lost_at, self.outages, self.reconnects, self._outage_seconds = None, 0, 0, 0.0
        self._topics, self._gone, self._present, self._last = set(), set(), {}, {}
        client: coredis.Redis[bytes] = self._coredis.Redis.from_url(
            _checking_host_name(self.url), connect_timeout=self.timeout, stream_timeout=self.timeout
        )
        self._channels = f"{PREFIX}{client.connection_pool.connection_kwargs.get('db') or 0}:"
        retry = self._coredis.retry.ExponentialBackoffRetryPolicy(
            (*self._errors, TimeoutError),
            retries=None,
            base_delay=0.05,
            max_delay=self.max_backoff,
            jitter=True,
        )
        send, receive = trio.open_memory_channel[tuple[bytes, bytes]](self._buffer)
        self._up = trio.Event()
        async with client:
            why = await self._wait_for_redis(client)
            if why is None or self.start_degraded:
                if why is not None:
                    self._lost(why)
                self._client = client
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._listen, client, retry, send)
                        nursery.start_soon(self._hand_over, receive)
                        nursery.start_soon(self._refresh)
                        try:
                            yield
                        finally:
                            nursery.cancel_scope.cancel()
                finally:  # once its tasks are gone: none of them finds it not running
                    self._client = self._pubsub = None
                return
        # raised here, bare, out of the client's own nursery
        raise HubUnavailable(
            f"Redis at {self._where} did not answer within {self.startup_timeout}s ({why});"
            " to start without it: RedisBackend(start_degraded=True)",
            retry_after=self.max_backoff,
        )

    async def _wait_for_redis(self, client: coredis.Redis[bytes]) -> str | None:
        """Ping Redis until it answers, for ``startup_timeout`` seconds (at least once, each
        attempt bounded by ``timeout``); ``None`` once it did, else why it did not (the last
        failure)."""
        deadline = trio.current_time() + self.startup_timeout
        backoff = 0.05
        why = f"no answer within {self.timeout}s"
        while True:
            try:
                with trio.move_on_after(self.timeout):
                    await client.ping()
                    return None
            except self._errors as exc:
                why = _reason(exc)
            left = deadline - trio.current_time()
            if left <= 0:
                return why
            await trio.sleep(min(backoff, left))
            backoff = min(backoff * 2, self.max_backoff)

    def _lost(self, why: str) -> HubUnavailable:
        """Redis did not answer (``why``): the first failure starts an outage (a warning, a
        count), and calls fail at once until the next attempt is due."""
        now = trio.current_time()
        self._retry_at = now + self.max_backoff
        self._lost_why = why
        if self._lost_at is None:
            self._lost_at = now
            self.outages += 1
            logger.warning(
                "Redis hub: Redis at %s is unavailable (%s); the Hub answers HubUnavailable"
                " until it is back",
                self._where,
                why,
            )
        return HubUnavailable(f"Redis {why}", retry_after=self.max_backoff)

    def _back(self) -> None:
        """Redis answered again: the outage is over (a warning, and its length counted)."""
        lost_at, self._lost_at = self._lost_at, None
        if lost_at is not None:
            seconds = trio.current_time() - lost_at
            self._outage_seconds += seconds
            self.reconnects += 1
            logger.warning("Redis hub: Redis at %s is back after %.1fs", self._where, seconds)

    async def _listen(
        self, client: coredis.Redis[bytes], retry: Any, send: trio.MemorySendChannel[Any]
    ) -> None:
        """The process's one PubSub: connect (coredis retries until Redis is there, and once
        subscribed reconnects and resubscribes on its own, with a bounded backoff), subscribe
        to every topic this process is in (again, backing off, until Redis acknowledges it
        in time), and read.

        The PubSub is never left for a new one: left while coredis retries its connection
        (after a PING of its own timed out), its block never ended (coredis 6.9 does not cancel
        the retried connection's tasks)."""
        async with client.pubsub(ignore_subscribe_messages=True, retry_policy=retry) as pubsub:
            backoff = 0.05
            while not await self._subscribe_all(pubsub):
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            self._pubsub = pubsub
            self._up.set()
            self._back()
            await self._read(pubsub, send)

    async def _subscribe_all(self, pubsub: coredis.patterns.pubsub.PubSub[bytes]) -> bool:
        """Subscribe the PubSub to every topic of this process; whether Redis acknowledged
        that in time. Its errors are caught here, inside the PubSub's block: out of it they
        come in an ExceptionGroup (its task group's)."""
        if not self._topics:
            return True
        try:
            with trio.fail_after(self.timeout):
                await pubsub.subscribe(*map(self._channel, self._topics))
        except trio.TooSlowError:
            logger.debug("Redis hub: pub/sub did not subscribe within %ss", self.timeout)
            return False
        except (*self._errors, TimeoutError) as exc:  # (coredis waits 1s for the answer)
            self._lost(f"could not keep the pub/sub connection: {_reason(exc)}")
            return False
        return True

    async def _read(
        self, pubsub: coredis.patterns.pubsub.PubSub[bytes], send: trio.MemorySendChannel[Any]
    ) -> None:
        """Move what coredis received into the bounded channel at once (coredis's is not)."""
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True)
            if message is None or message["type"] != "message":
                continue
            try:
                send.send_nowait((message["channel"], message["data"]))
            except trio.WouldBlock:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    logger.warning(
                        "Redis hub: %d message(s) from other processes dropped so far: this"
                        " process does not keep up (buffer=%d)",
                        self.dropped,
                        self._buffer,
                    )

    async def _hand_over(self, receive: trio.MemoryReceiveChannel[tuple[bytes, bytes]]) -> None:
        async for channel, data in receive:
            try:  # anyone who may PUBLISH on Redis can put anything on our channels
                topic = channel.decode()[len(self._channels) :]
                origin, kind, epoch, position, payload = _split(data)
                last = self._last.get(topic)
                if last is not None and last[0] == epoch and last[1] >= position:
                    continue  # delivered already
                published = (
                    None  # the Hub delivered its own
                    if origin.decode() == self._origin or topic not in self._topics
                    else Published(topic, Position(epoch.decode(), position), _wire(kind, payload))
                )
                self._last[topic] = (epoch, position)  # (only once it decoded whole)
                if published is None:
                    continue
            except ValueError as exc:
                self._malformed += 1
                if self._malformed == 1 or self._malformed % 1000 == 0:
                    logger.warning(
                        "Redis hub: %d message(s) on %r ignored so far: no Hub published it (%s)",
                        self._malformed,
                        channel,
                        exc,
                    )
                continue
            assert self._deliver is not None
            self._deliver(published)

    async def _refresh(self) -> None:
        """Keep this process's presence alive (a process that stops refreshing has none), and
        put its members back where Redis lost them."""
        ttl = int(self.presence_ttl * 1000)
        alive = self._alive + self._origin
        while True:
            try:  # a bound for each call: many topics make a long refresh, not a failed one
                await self._call("refresh presence", lambda c: c.set(alive, b"1", px=ttl))
                for topic, key in list(self._gone):
                    await self._call("remove a member", partial(self._remove, topic, key))
                    self._gone.discard((topic, key))
                for topic, local in list(self._present.items()):
                    if not local:
                        continue
                    oldest = next(iter(local))
                    renew = partial(self._renew, topic=topic, oldest=oldest, ttl=ttl)
                    if not await self._call("refresh presence", renew):
                        restore = partial(self._restore, topic=topic, local=local, ttl=ttl)
                        await self._call("put members back", restore)
            except HubUnavailable as exc:  # the outage is logged once, by _lost
                logger.debug("Redis hub: cannot refresh presence: %s", exc)
            await trio.sleep(self.presence_ttl / 3)

    async def _remove(self, topic: str, key: str, client: coredis.Redis[bytes]) -> None:
        await client.zrem(self._key(topic, "members"), [key])
        await client.hdel(self._key(topic, "presence"), [key])

    async def _renew(
        self, client: coredis.Redis[bytes], *, topic: str, oldest: str, ttl: int
    ) -> bool:
        """Push back the expiry of ``topic``'s presence keys; ``False`` if Redis lost this
        process's ``oldest`` member there (and with it every one older than the loss)."""
        keys = (self._key(topic, "members"), self._key(topic, "presence"))
        return bool(await client.eval(_RENEW, keys=keys, args=(ttl, oldest)))

    async def _restore(
        self,
        client: coredis.Redis[bytes],
        *,
        topic: str,
        local: dict[str, tuple[int, bytes]],
        ttl: int,
    ) -> None:
        """Put back this process's ``local`` members of ``topic`` (in their join order)."""
        entries = list(local.items())
        args: list[int | str | bytes] = [ttl]
        for key, (score, entry) in entries:
            args += (key, score, entry)
        keys = (self._key(topic, "members"), self._key(topic, "presence"))
        await client.eval(_RESTORE, keys=keys, args=args)
        logger.info("Redis hub: %d member(s) of %r put back", len(entries), topic)
        # one that left meanwhile may have been put back after its removal: remove it again
        self._gone.update((topic, key) for key, _ in entries if key not in local)

    # -- calls ---------------------------------------------------------------------------------

    def _connected(self) -> coredis.Redis[bytes]:
        if self._client is None:
            raise HubUnavailable(
                "the Redis hub is not running: enter `async with hub.running():` (a FastrAPI app"
                " with hub= does it in its lifespan)"
            )
        return self._client

    @staticmethod
    def _key(topic: str, part: str) -> str:
        return f"{PREFIX}{topic}:{part}"

    def _channel(self, topic: str) -> str:
        return self._channels + topic

    async def _call(self, what: str, call: Callable[[coredis.Redis[bytes]], Any]) -> Any:
        """``await call(client)``, bounded; :class:`HubUnavailable` when Redis does not answer."""
        client = self._connected()
        if self._lost_at is not None and trio.current_time() < self._retry_at:
            raise HubUnavailable(
                f"Redis could not {what}: it is unavailable ({self._lost_why})",
                retry_after=self.max_backoff,
            )
        try:
            with trio.fail_after(self.timeout):
                result = await call(client)
        except (trio.TooSlowError, TimeoutError):  # ours, or coredis's read timeout
            # slow is not gone (a busy Redis, or this process): this call fails, no outage
            raise HubUnavailable(
                f"Redis did not {what} within {self.timeout}s", retry_after=self.max_backoff
            ) from None
        except self._errors as exc:
            raise self._lost(f"could not {what}: {_reason(exc)}") from exc
        if self._lost_at is not None:
            self._back()
        return result

    # -- the Backend interface -----------------------------------------------------------------

    async def publish(self, topic: str, wire: Wire, history: History) -> Published:
        ttl = 0 if history.ttl is None else max(1, int(history.ttl * 1000))
        args = (secrets.token_hex(6), self._origin, _kind(wire), wire.payload, history.size, ttl)
        keys = (self._key(topic, "meta"), self._key(topic, "stream"), self._channel(topic))
        epoch, offset = await self._call(
            "publish", lambda client: client.eval(_PUBLISH, keys=keys, args=args)
        )
        return Published(topic, Position(epoch.decode(), int(offset)), wire)

    def publish_nowait(self, topic: str, wire: Wire, history: History) -> Published:
        raise trio.WouldBlock("the Redis hub cannot publish without waiting: await hub.publish()")

    async def subscribe(self, topic: str) -> None:
        self._connected()
        self._topics.add(topic)  # subscribed again with the others after a reconnection
        if not self._up.is_set() and self._lost_at is not None:  # away: say so at once
            raise HubUnavailable(
                f"Redis pub/sub is not connected: Redis is unavailable ({self._lost_why})",
                retry_after=self.max_backoff,
            )
        with trio.move_on_after(self.timeout):
            await self._up.wait()
        pubsub = self._pubsub
        if pubsub is None:
            raise HubUnavailable(
                f"Redis pub/sub is not connected (waited {self.timeout}s)",
                retry_after=self.max_backoff,
            )
        await self._call("subscribe", lambda _: pubsub.subscribe(self._channel(topic)))

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)
        self._last.pop(topic, None)
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                await self._call("unsubscribe", lambda _: pubsub.unsubscribe(self._channel(topic)))
            except HubUnavailable as exc:  # what comes on it is ignored: the topic is not ours
                logger.info("Redis hub: %s", exc)

    async def add_presence(self, topic: str, key: str, value: object) -> None:
        entry = self._origin.encode() + b"\n" + orjson.dumps(value)
        members, presence = self._key(topic, "members"), self._key(topic, "presence")
        keys = (members, presence, self._alive + self._origin)
        args = (key, entry, int(self.presence_ttl * 1000))
        local = self._present.setdefault(topic, {})
        local[key] = (0, entry)  # kept before the call: Redis may lose it before the answer
        score = await self._call(
            "add a member", lambda client: client.eval(_JOIN, keys=keys, args=args)
        )
        local[key] = (int(score), entry)  # a member leaves after its join returned

    async def remove_presence(self, topic: str, key: str) -> None:
        local = self._present.get(topic, {})
        local.pop(key, None)
        if not local:
            self._present.pop(topic, None)
        try:
            await self._call("remove a member", partial(self._remove, topic, key))
        except HubUnavailable as exc:  # the refresher retries it: no ghost member
            logger.info("Redis hub: %s; retrying", exc)
            self._gone.add((topic, key))

    async def presence(self, topic: str) -> list[object]:
        keys = (self._key(topic, "members"), self._key(topic, "presence"))
        values = await self._call(
            "list members",
            lambda client: client.eval(_PRESENCE, keys=keys, args=(self._alive,)),
        )
        return [orjson.loads(value) for value in values]

    async def history(self, topic: str, since: Position) -> list[Published]:
        keys = (self._key(topic, "meta"), self._key(topic, "stream"))
        epoch, last, ttl, now, first, entries = await self._call(
            "read history",
            lambda client: client.eval(_HISTORY, keys=keys, args=(max(since.offset, 0),)),
        )
        if epoch is None or epoch.decode() != since.epoch:
            raise HistoryGap(topic, since, "that epoch of the topic is gone")
        latest = int(last)
        if since.offset > latest:
            raise HistoryGap(topic, since, f"the topic's latest offset is {latest}")
        oldest = _offset(first[0][0]) if first else latest + 1
        oldest_time = int(now) - int(ttl) if ttl is not None and int(ttl) else None
        for entry in entries:  # in time order: the expired ones come first
            if oldest_time is None or int(entry[1][3]) >= oldest_time:
                break
            oldest = _offset(entry[0]) + 1
        if since.offset < oldest - 1:
            raise HistoryGap(
                topic, since, f"messages {since.offset + 1} to {oldest - 1} are no longer kept"
            )
        return [_published(topic, entry[1][1]) for entry in entries]

    async def kept(self, topic: str, after: int | None) -> tuple[Position, list[Published]]:
        keys = (self._key(topic, "meta"), self._key(topic, "stream"))
        args = (secrets.token_hex(6), -1 if after is None else max(after, 0))
        epoch, last, ttl, now, entries = await self._call(
            "read history", lambda client: client.eval(_KEPT, keys=keys, args=args)
        )
        position = Position(epoch.decode(), int(last or 0))
        oldest_time = int(now) - int(ttl) if ttl is not None and int(ttl) else None
        messages = [
            _published(topic, entry[1][1])
            for entry in entries
            if oldest_time is None or int(entry[1][3]) >= oldest_time
        ]
        return position, [m for m in messages if m.position.epoch == position.epoch]


def _checking_host_name(url: str) -> str:
    """``url``, with ``ssl_check_hostname=true`` if it is ``rediss://`` and its query neither
    sets that option nor turns verification off (``ssl_cert_reqs=none``): coredis would
    accept a certificate for any name otherwise."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme != "rediss" or "ssl_check_hostname" in query:
        return url
    if query.get("ssl_cert_reqs", [""])[0] == "none":
        return url
    check = "ssl_check_hostname=true"
    return urlunsplit(parts._replace(query=f"{parts.query}&{check}" if parts.query else check))


def _reason(exc: BaseException) -> str:
    """What went wrong, with the cause that coredis's "Unable to establish a connection" hides
    (refused, a certificate that does not verify)."""
    reason = str(exc) or type(exc).__name__
    return reason if exc.__cause__ is None else f"{reason} ({exc.__cause__})"


def _offset(stream_id: bytes) -> int:
    return int(stream_id.split(b"-")[0])


def _split(message: bytes) -> tuple[bytes, bytes, bytes, int, bytes]:
    """A published message: origin, kind, epoch, offset, payload.

    Raises:
        ValueError: ``message`` is not one (a field missing, an unknown kind, no offset).
    """
    origin, kind, epoch, offset, payload = message.split(b"\n", 4)
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return origin, kind, epoch, int(offset), payload


def _published(topic: str, message: bytes) -> Published:
    _, kind, epoch, offset, payload = _split(message)
    return Published(topic, Position(epoch.decode(), offset), _wire(kind, payload))
