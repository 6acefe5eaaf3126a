"""Several worker processes on one port, and the supervisor that keeps them running.

Theory of operation
-------------------
The supervisor is plain Python (no Trio: it forks). It binds ``host``:``port`` with
``SO_REUSEPORT`` without listening, which reserves the port (and picks it, for port 0), then
forks the workers. Each worker binds its own listening socket to that port with
``SO_REUSEPORT`` (the kernel spreads new connections over them), runs ``trio.run`` with the
native server on it, and writes one byte to its pipe once it accepts.

The supervisor waits in ``select`` on those pipes and on a wake-up pipe that every signal
writes to (``signal.set_wakeup_fd``; SIGCHLD included), and reaps exited workers with
``waitpid(WNOHANG)``. A worker that dies after serving for ``STABLE_AFTER`` seconds is started
again at once (until it serves, the other workers take all its clients' reconnections). One
that dies sooner is started again after a delay that doubles with each quick death in a row
(``RESTART_DELAY`` up to ``MAX_RESTART_DELAY``), so a crash loop does not spin. If a
worker of the first generation dies before it accepted, the app cannot start: every worker is
stopped and the supervisor exits 1. A worker whose Hub cannot reach Redis at startup writes
the reason to its pipe instead of a traceback, and the supervisor prints it once, as
``fastrapi: ...``, before it exits 1.

SIGINT or SIGTERM to the supervisor sends SIGTERM to every worker, each of which shuts down
gracefully (every WebSocket gets 1001, handlers get ``shutdown_timeout``); a worker still
running ``KILL_MARGIN`` seconds after that is killed. Each worker holds its signals in one Trio
receiver for its whole life, so the SIGINT a terminal's Ctrl+C sends to every process of the
group and the supervisor's SIGTERM after it start one shutdown, not two. A supervisor that is
killed outright cannot do any of this, so each worker also watches a pipe whose write end only
the supervisor holds: at its end (the supervisor is gone), the worker shuts down gracefully.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final

import trio

from ..exceptions import HubUnavailable
from ._serve import listen_error

if TYPE_CHECKING:
    from types import FrameType

    from . import ServeOptions
    from ._app import ServedApp

logger: Final = logging.getLogger("fastrapi")

RESTART_DELAY: Final = 0.5
MAX_RESTART_DELAY: Final = 10.0
STABLE_AFTER: Final = 10.0
KILL_MARGIN: Final = 5.0
HAVE_REUSEPORT: Final = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def run_workers(app: ServedApp, host: str, port: int, options: ServeOptions, count: int) -> None:
    """Serve ``app`` with ``count`` processes on ``host``:``port`` until SIGINT or SIGTERM.

    Raises:
        ListenError: the port cannot be bound.
        SystemExit: status 1, when the workers could not start.
    """
    from . import serve

    options = {k: v for k, v in options.items() if k != "workers"}  # type: ignore[assignment]  # the same keys, less one
    if not HAVE_REUSEPORT:
        logger.warning("SO_REUSEPORT is missing on this platform: serving with one process")
        trio.run(partial(serve, app, host, port, options, task_status=trio.TASK_STATUS_IGNORED))
        return
    if app.hub is not None and app.hub._per_process:
        logger.warning(
            "the app's Hub has no Redis URL: each worker keeps its own topics, so clients of"
            " different workers do not hear each other (see the deployment docs)"
        )
    family, address = _resolve(host, port)
    with _reuseport_socket(family, host, port, address) as reserved:
        port = reserved.getsockname()[1]
        if app.monitor.metrics and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            with tempfile.TemporaryDirectory(prefix="fastrapi-metrics-") as metrics_dir:
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
                try:
                    _Supervisor(app, family, host, port, options, count).run()
                finally:
                    del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        else:
            _Supervisor(app, family, host, port, options, count).run()


def restart_delay(deaths: int) -> float:
    """Seconds before a worker is started again after its ``deaths``-th quick death in a row
    (0: it had served for ``STABLE_AFTER`` seconds)."""
    if deaths == 0:
        return 0.0
    return min(RESTART_DELAY * 2.0 ** (deaths - 1), MAX_RESTART_DELAY)


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int]]:
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise listen_error(OSError(errno.EADDRNOTAVAIL, str(exc.strerror)), host, port) from None
    family, _, _, _, address = info[0]
    return family, (str(address[0]), int(address[1]))


def _reuseport_socket(
    family: socket.AddressFamily, host: str, port: int, address: tuple[str, int]
) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise listen_error(exc, host, port) from None
    return sock


@dataclass
class _Worker:
    number: int
    pid: int = 0
    ready_fd: int = -1
    started: float = 0.0
    ready: bool = False
    deaths: int = 0
    restart_at: float | None = None


class _Supervisor:
    def __init__(
        self,
        app: ServedApp,
        family: socket.AddressFamily,
        host: str,
        port: int,
        options: ServeOptions,
        count: int,
    ) -> None:
        self.app = app
        self.family = family
        self.host = host
        self.port = port
        self.options = options
        self.workers = [_Worker(n) for n in range(1, count + 1)]
        self.stopping = False
        self.failed = False
        self.failure: str | None = None  # why the first worker could not start, if it said
        self.ever_ready = False
        self.signalled: int | None = None
        # the supervisor alone holds the write end: when it dies, even by SIGKILL, every
        # worker sees the end of the pipe and shuts down, rather than live on as an orphan
        self.lifeline_r, self.lifeline_w = os.pipe()
        self.deadline = 0.0

    def run(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)
        }
        old_wakeup = signal.set_wakeup_fd(wake_w)
        try:
            host = f"[{self.host}]" if ":" in self.host else self.host
            logger.info(
                "serving on http://%s:%d with %d workers (Ctrl+C to stop)",
                host,
                self.port,
                len(self.workers),
            )
            if self.app.monitor.metrics:  # (PROMETHEUS_MULTIPROC_DIR is set by now)
                # once, before the forks: each worker would import it as it starts, and the
                # supervisor at the first death (mark_process_dead; 0.05 s, on a busy machine)
                with contextlib.suppress(ImportError):  # the workers say it is missing
                    importlib.import_module("prometheus_client.multiprocess")
            for worker in self.workers:
                self._start(worker)
            self._loop(wake_r)
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(wake_r)
            os.close(wake_w)
            os.close(self.lifeline_r)
            os.close(self.lifeline_w)
        if self.failed:
            if self.failure is not None:
                print(f"fastrapi: {self.failure}", file=sys.stderr)
            raise SystemExit(1)
        logger.info("every worker has stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # only a note: the loop, woken by the wake-up pipe, acts on it
        if signum != signal.SIGCHLD and self.signalled is None:
            self.signalled = signum

    def _stop(self) -> None:
        self.stopping = True
        self.deadline = time.monotonic() + self.options.get("shutdown_timeout", 5.0) + KILL_MARGIN
        for worker in self.workers:
            worker.restart_at = None
            if worker.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def _loop(self, wake_r: int) -> None:
        while any(w.pid for w in self.workers) or not self.stopping:
            now = time.monotonic()
            waits = [w.restart_at - now for w in self.workers if w.restart_at is not None]
            if self.stopping:
                waits.append(self.deadline - now)
            timeout = max(0.0, min(waits)) if waits else None
            fds = [wake_r] + [w.ready_fd for w in self.workers if w.ready_fd >= 0]
            with contextlib.suppress(InterruptedError):
                readable, _, _ = select.select(fds, [], [], timeout)
                if wake_r in readable:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_r, 512)
            if self.signalled is not None and not self.stopping:
                logger.info("%s: shutting down the workers", signal.Signals(self.signalled).name)
                self._stop()
            self._take_ready()
            self._reap()
            now = time.monotonic()
            for worker in self.workers:
                if worker.restart_at is not None and worker.restart_at <= now:
                    worker.restart_at = None
                    self._start(worker)
            if self.stopping and now >= self.deadline:
                for worker in self.workers:
                    if worker.pid:
                        logger.warning("worker %d (pid %d) did not stop: killed", *_ids(worker))
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(worker.pid, signal.SIGKILL)
                self.deadline = now + KILL_MARGIN  # then reaped

    def _take_ready(self) -> None:
        for worker in self.workers:
            if worker.ready_fd < 0:
                continue
            readable, _, _ = select.select([worker.ready_fd], [], [], 0)
            if readable:
                said = os.read(worker.ready_fd, 4096)  # b"": it died first
                worker.ready = said == b"r"
                if said[:1] == b"f" and self.failure is None:  # it could not start: why
                    self.failure = said[1:].decode(errors="replace")
                os.close(worker.ready_fd)
                worker.ready_fd = -1
                if worker.ready:
                    self.ever_ready = True
                    logger.info("worker %d (pid %d) is serving", *_ids(worker))

    def _reap(self) -> None:
        for worker in self.workers:
            if not worker.pid:
                continue
            try:
                pid, status = os.waitpid(worker.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = worker.pid, 0
            if pid:
                self._exited(worker, os.waitstatus_to_exitcode(status))

    def _exited(self, worker: _Worker, code: int) -> None:
        if worker.ready_fd >= 0:
            os.close(worker.ready_fd)
            worker.ready_fd = -1
        pid, worker.pid = worker.pid, 0
        if self.app.monitor.metrics:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # unannotated upstream
        if self.stopping:
            logger.info("worker %d (pid %d) stopped", worker.number, pid)
            return
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
        if not worker.ready and not self.ever_ready:
            if self.failure is None:  # else the supervisor prints why, once, at its end
                logger.error(
                    "worker %d (pid %d) %s before it served: stopping", worker.number, pid, how
                )
            self.failed = True
            self._stop()
            return
        served = time.monotonic() - worker.started
        worker.deaths = 0 if worker.ready and served > STABLE_AFTER else worker.deaths + 1
        delay = restart_delay(worker.deaths)
        when = f"in {delay:.1f}s" if delay else "now"
        logger.warning("worker %d (pid %d) %s; restarting it %s", worker.number, pid, how, when)
        worker.ready = False
        worker.restart_at = time.monotonic() + delay

    def _start(self, worker: _Worker) -> None:
        ready_r, ready_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        # what the worker inherits is frozen, once collected: the collection it makes before
        # it says it serves (serve_native's) then walks only what it made itself, not the whole
        # app again (0.05 to 0.13 s of each start, measured on a busy machine)
        gc.collect()
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            os.close(ready_r)
            os.close(self.lifeline_w)
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
                    signal.signal(signum, signal.SIG_DFL)
                self._serve(ready_w)
                code = 0
            except BaseException as exc:
                unavailable = _hub_unavailable(exc)
                if unavailable is None:
                    logger.exception("worker %d failed", worker.number)
                else:  # Redis is away at startup: one line from the supervisor, no traceback
                    with contextlib.suppress(OSError):
                        os.write(ready_w, b"f" + str(unavailable).encode())
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(ready_w)
        worker.pid, worker.ready_fd, worker.started = pid, ready_r, time.monotonic()

    def _serve(self, ready_w: int) -> None:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        sock.listen(socket.SOMAXCONN)
        options: ServeOptions = {**self.options, "sock": sock}
        trio.run(_serve_worker, self.app, self.host, self.port, options, ready_w, self.lifeline_r)


async def _serve_worker(
    app: ServedApp, host: str, port: int, options: ServeOptions, ready_w: int, lifeline_r: int
) -> None:
    """One worker: serve until the first SIGINT or SIGTERM (ignoring the ones after it), or
    until the supervisor is gone (the end of ``lifeline_r``)."""
    from . import serve

    stop = trio.Event()
    serving = False
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def watch() -> None:
            async for _ in signals:
                stop.set()
                if not serving:  # still starting (waiting for Redis, say): stop that too
                    outer.cancel_scope.cancel()

        async with trio.open_nursery() as outer:
            outer.start_soon(watch)
            outer.start_soon(_watch_supervisor, lifeline_r, stop)
            async with trio.open_nursery() as inner:
                # the supervisor said "serving on" once, with the worker count
                options = {**options, "shutdown_trigger": stop.wait}
                await inner.start(partial(serve, app, host, port, options, announce=False))
                serving = True
                os.write(ready_w, b"r")
                os.close(ready_w)
            outer.cancel_scope.cancel()


async def _watch_supervisor(lifeline_r: int, stop: trio.Event) -> None:
    await trio.lowlevel.wait_readable(lifeline_r)  # only its end ever makes it readable
    logger.warning("the supervisor is gone: shutting down")
    stop.set()


def _hub_unavailable(exc: BaseException) -> HubUnavailable | None:
    """The :class:`HubUnavailable` that ``exc`` is, or is alone in (through the worker's
    nurseries), if any."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, HubUnavailable) else None


def _ids(worker: _Worker) -> tuple[int, int]:
    return worker.number, worker.pid
