"""What the app counts and logs: open connections, messages, close codes, one line per request.

One :class:`Monitor` per app. The WebSocket path calls :meth:`Monitor.opened` once a session
starts and :meth:`Monitor.ended` when it is over; the counts of open sessions are read from their
:class:`~fastrapi._state.Session` when :meth:`Monitor.statistics` asks, so a message costs one
``+= 1`` in the session and nothing here. The HTTP path calls :meth:`Monitor.http`.

Log lines go to the loggers ``fastrapi.websocket`` (one per WebSocket when it ends) and
``fastrapi.access`` (one per HTTP request), at the app's ``access_log`` level (``None``: none).

Prometheus (``metrics_path``): the metrics are made on first use, so that with several workers
``PROMETHEUS_MULTIPROC_DIR`` (set by the supervisor before it starts them) is seen when
``prometheus_client`` is first imported; the scrape of one worker then sums every worker's files.
A WebSocket is counted when it opens (``opened``, and the gauges of open ones, per route and per
worker) and when it ends (close code, messages). The Hub counts in plain integers (one ``+= 1``
a message); its figures are copied into the metrics when a scrape asks, and, with workers,
every ``HUB_SYNC_INTERVAL`` seconds by a system task of each worker, so that a scrape of one
worker sums every worker's figures of a moment ago.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, final

import trio

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._state import Session
    from ._types import Scope
    from .hub import Hub, HubStatistics

websocket_logger: Final = logging.getLogger("fastrapi.websocket")
access_logger: Final = logging.getLogger("fastrapi.access")

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
HUB_SYNC_INTERVAL: Final = 1.0  # seconds between a worker's copies of its Hub's figures


@final
@dataclass(frozen=True, slots=True)
class AppStatistics:
    """A snapshot of :meth:`fastrapi.FastrAPI.statistics`, for this process.

    Attributes:
        connections_open: WebSocket connections in their handler now, per route (its path
            template), from the routed handshake to the close.
        connections_total: WebSocket handshakes routed to a handler so far, open or ended
            (refused ones included: a handler may close before it accepts).
        messages_in: Messages handlers received, over every connection so far.
        messages_out: Messages handlers sent, over every connection so far.
        close_codes: How many connections ended with each close code (the first close: the
            client's, or the server's).
        ping_rtt_last: The last ping round trip measured on an open connection, in seconds
            (``None``: none measured).
        ping_rtt_max: The largest last round trip among the open connections.
        connections_refused: Connections refused past ``max_connections`` (503) so far.
        connections_refused_per_ip: Connections refused past ``max_connections_per_ip`` (429).
        hub_dropped: Messages the app's Hub dropped for slow subscribers (0 without a Hub).
        hub_evicted: Subscribers the app's Hub closed for being too slow.
        hub_pending: Messages waiting in the app's Hub budgets now.
    """

    connections_open: Mapping[str, int]
    connections_total: int
    messages_in: int
    messages_out: int
    close_codes: Mapping[int, int]
    ping_rtt_last: float | None
    ping_rtt_max: float | None
    connections_refused: int = 0
    connections_refused_per_ip: int = 0
    hub_dropped: int = 0
    hub_evicted: int = 0
    hub_pending: int = 0


@final
class Monitor:
    """The counters and log lines of one app."""

    def __init__(self, access_log: int | None, metrics: bool) -> None:
        self.access_log = access_log
        self.metrics = metrics
        self._start()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._open: dict[str, set[Session]] = {}
        self._total = 0
        self._messages_in = 0
        self._messages_out = 0
        self._codes: Counter[int] = Counter()
        self._refused: Counter[int] = Counter()  # by status: 503, 429
        self._prometheus: _Prometheus | None = None
        self._syncing: trio.CancelScope | None = None

    def serving(self, hub: Hub | None = None) -> None:
        """The app starts serving: in a process other than the one that made the monitor (a
        forked worker), count from zero, what this process does. With metrics, a Hub and
        workers, copy the Hub's figures into the metrics every ``HUB_SYNC_INTERVAL`` until
        :meth:`stopped`."""
        if self._pid != os.getpid():
            self._start()
        if self.metrics and hub is not None and MULTIPROCESS_ENV in os.environ:
            self._syncing = trio.CancelScope()
            trio.lowlevel.spawn_system_task(self._sync, hub, self._syncing)

    def stopped(self) -> None:
        """The app stopped serving: no more copies of the Hub's figures."""
        if self._syncing is not None:
            self._syncing.cancel()
            self._syncing = None

    async def _sync(self, hub: Hub, scope: trio.CancelScope) -> None:
        with scope:
            try:
                while True:
                    self.prometheus.hub(hub.statistics())
                    await trio.sleep(HUB_SYNC_INTERVAL)
            except Exception:  # a system task that raises ends the whole run: report, stop
                logging.getLogger("fastrapi").exception(
                    "the Hub's metrics are no longer copied (a scrape still copies them)"
                )

    def render(self, hub: Hub | None) -> tuple[bytes, str]:
        """The metrics' exposition text and content type, with ``hub``'s figures of now."""
        prometheus = self.prometheus
        if hub is not None:
            prometheus.hub(hub.statistics())
        return prometheus.render()

    def opened(self, route: str, session: Session) -> None:
        """A session of ``route`` started."""
        self._open.setdefault(route, set()).add(session)
        self._total += 1
        if self.metrics:
            self.prometheus.websocket_opened(route)

    def ended(self, route: str, session: Session, scope: Scope, started: float) -> None:
        """A session of ``route`` is over: count it, log its line."""
        self._open[route].discard(session)
        self._messages_in += session.messages_in
        self._messages_out += session.messages_out
        code = session.close_code if session.close_code is not None else 1006
        if session.accepted:
            self._codes[code] += 1
        if self.metrics:
            self.prometheus.websocket_ended(route, session, code)
        level = self.access_log
        if level is None or not websocket_logger.isEnabledFor(level):
            return
        if not session.accepted:
            websocket_logger.log(level, "WebSocket %s %s refused", route, client_of(scope))
            return
        websocket_logger.log(
            level,
            "WebSocket %s %s closed by %s %d%s after %.3fs, %d in, %d out",
            route,
            client_of(scope),
            session.closed_by or "client",
            code,
            f" {session.close_reason!r}" if session.close_reason else "",
            trio.current_time() - started,
            session.messages_in,
            session.messages_out,
        )

    def refused(self, status: int) -> None:
        """A connection past a cap is refused with ``status`` (503: ``max_connections``, 429:
        ``max_connections_per_ip``)."""
        self._refused[status] += 1
        if self.metrics:
            self.prometheus.refused.labels(str(status)).inc()

    def counts_http(self) -> bool:
        """Whether :meth:`http` has anything to do: metrics, or an access log that logs (an
        app without either pays nothing per request)."""
        level = self.access_log
        return self.metrics or (level is not None and access_logger.isEnabledFor(level))

    def http(self, scope: Scope, status: int, size: int, started: float) -> None:
        """One HTTP request was answered with ``status`` and ``size`` bytes of body."""
        if self.metrics:
            self.prometheus.http.labels(scope["method"], str(status)).inc()
        level = self.access_log
        if level is None or not access_logger.isEnabledFor(level):
            return
        query = scope.get("query_string", b"")
        target = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        access_logger.log(
            level,
            '%s "%s %s HTTP/%s" %d %d %.1fms',
            client_of(scope),
            scope["method"],
            target,
            scope.get("http_version", "1.1"),
            status,
            size,
            (trio.current_time() - started) * 1000,
        )

    def statistics(self, hub: Hub | None = None) -> AppStatistics:
        """The counts now, open connections included, and ``hub``'s drops, evictions and
        pending messages."""
        messages_in, messages_out = self._messages_in, self._messages_out
        rtts: list[float] = []
        for sessions in self._open.values():
            for session in sessions:
                messages_in += session.messages_in
                messages_out += session.messages_out
                if session.ping_rtt is not None:
                    rtts.append(session.ping_rtt)
        return AppStatistics(
            connections_open=MappingProxyType({r: len(s) for r, s in self._open.items()}),
            connections_total=self._total,
            messages_in=messages_in,
            messages_out=messages_out,
            close_codes=MappingProxyType(dict(self._codes)),
            ping_rtt_last=rtts[-1] if rtts else None,
            ping_rtt_max=max(rtts) if rtts else None,
            connections_refused=self._refused[503],
            connections_refused_per_ip=self._refused[429],
            **_hub_counts(hub),
        )

    @property
    def prometheus(self) -> _Prometheus:
        """The Prometheus metrics, made on first use (see the module's docstring)."""
        if self._prometheus is None:
            self._prometheus = _Prometheus()
        return self._prometheus


def _hub_counts(hub: Hub | None) -> dict[str, int]:
    if hub is None:
        return {}
    stats = hub.statistics()
    return {
        "hub_dropped": stats.dropped,
        "hub_evicted": stats.evicted,
        "hub_pending": stats.pending,
    }


def client_of(scope: Scope) -> str:
    """``host:port`` of the client, or ``unknown``."""
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


class _Prometheus:
    """The metrics in ``prometheus_client``; counts of a connection are added when it ends."""

    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            raise RuntimeError(
                "metrics_path needs prometheus-client: pip install 'fastrapi-trio[metrics]'"
            ) from None
        self._prom = prom
        self.multiprocess = MULTIPROCESS_ENV in os.environ
        # in multiprocess mode the values live in files, and a scrape reads them all
        registry: Any = None if self.multiprocess else prom.CollectorRegistry()
        self.registry = registry
        self.open = prom.Gauge(
            "fastrapi_websocket_connections",
            "WebSocket connections in their handler",
            ["route"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.open_here = prom.Gauge(
            "fastrapi_worker_websocket_connections",
            "WebSocket connections in their handler, per worker (the pid label, with workers)",
            ["route"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.opened = prom.Counter(
            "fastrapi_websocket_opened",
            "WebSocket connections routed to a handler (those of a killed worker included)",
            ["route"],
            registry=registry,
        )
        self.closed = prom.Counter(
            "fastrapi_websocket_closed",
            "Ended WebSocket connections, by close code and who closed",
            ["route", "code", "by"],
            registry=registry,
        )
        self.messages = prom.Counter(
            "fastrapi_websocket_messages",
            "Messages of ended WebSocket connections, by direction",
            ["route", "direction"],
            registry=registry,
        )
        self.ping_rtt = prom.Histogram(
            "fastrapi_websocket_ping_rtt_seconds",
            "The last ping round trip of each ended WebSocket connection",
            ["route"],
            registry=registry,
        )
        self.http = prom.Counter(
            "fastrapi_http_requests",
            "HTTP requests, by method and status",
            ["method", "status"],
            registry=registry,
        )
        self.refused = prom.Counter(
            "fastrapi_connections_refused",
            "Connections refused past max_connections (503) or max_connections_per_ip (429)",
            ["status"],
            registry=registry,
        )

        self._hub = _HubMetrics(prom, registry)

    def websocket_opened(self, route: str) -> None:
        self.opened.labels(route).inc()
        self.open.labels(route).inc()
        self.open_here.labels(route).inc()

    def websocket_ended(self, route: str, session: Session, code: int) -> None:
        self.open.labels(route).dec()
        self.open_here.labels(route).dec()
        if session.accepted:
            self.closed.labels(route, str(code), session.closed_by or "client").inc()
        self.messages.labels(route, "in").inc(session.messages_in)
        self.messages.labels(route, "out").inc(session.messages_out)
        if session.ping_rtt is not None:
            self.ping_rtt.labels(route).observe(session.ping_rtt)

    def hub(self, stats: HubStatistics) -> None:
        """Copy the Hub's figures (counted in plain integers) into the metrics."""
        self._hub.update(stats)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        prom = self._prom
        registry = self.registry
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST


class _HubMetrics:
    """The Hub's metrics: gauges set to its figures, counters raised by what its counts grew
    since the last copy (a count that went down means the Hub started again: all of it)."""

    COUNTERS: Final = (
        # (metric, help, labels, [(label values, HubStatistics field)])
        ("published", "Messages published through the Hub", (), [((), "published")]),
        (
            "delivered",
            "Messages handed to a local subscriber (a WebSocket's are in"
            " fastrapi_websocket_messages_total too)",
            (),
            [((), "delivered")],
        ),
        (
            "dropped",
            "Messages dropped for slow subscribers, by policy",
            ("policy",),
            [(("drop_oldest",), "dropped_oldest"), (("drop_newest",), "dropped_newest")],
        ),
        (
            "evicted",
            "Slow subscribers closed, by policy",
            ("policy",),
            [(("close",), "evicted")],
        ),
        ("redis_outages", "Times Redis went away", (), [((), "redis_outages")]),
        ("redis_reconnects", "Times Redis came back", (), [((), "redis_reconnects")]),
        (
            "redis_outage_seconds",
            "Seconds Redis was away (the current outage included)",
            (),
            [((), "redis_outage_seconds")],
        ),
        (
            "redis_dropped",
            "Messages from other processes dropped: this one did not keep up",
            (),
            [((), "redis_dropped")],
        ),
    )
    GAUGES: Final = (
        ("topics", "Topics with a local subscriber", "topics", "livesum"),
        ("members", "Local subscribers", "members", "livesum"),
        ("pending", "Messages pending in subscribers' budgets", "pending", "livesum"),
        ("pending_bytes", "Bytes pending in subscribers' budgets", "pending_bytes", "livesum"),
        (
            "redis_available",
            "1 while Redis answers (the least of the workers')",
            "redis_available",
            "livemin",
        ),
    )

    def __init__(self, prom: Any, registry: Any) -> None:
        self._counters = []
        for name, text, labels, series in self.COUNTERS:
            counter = prom.Counter(f"fastrapi_hub_{name}", text, labels, registry=registry)
            for values, field in series:
                child = counter.labels(*values) if values else counter
                self._counters.append((child, field))
        self._gauges = [
            (
                prom.Gauge(f"fastrapi_hub_{name}", text, registry=registry, multiprocess_mode=mode),
                field,
            )
            for name, text, field, mode in self.GAUGES
        ]
        self._last: dict[str, float] = {}

    def update(self, stats: HubStatistics) -> None:
        for child, field in self._counters:
            value = float(getattr(stats, field))
            last = self._last.get(field, 0.0)
            if value != last:
                child.inc(value - last if value > last else value)
                self._last[field] = value
        for gauge, field in self._gauges:
            gauge.set(float(getattr(stats, field)))
