"""The load client: picows (a Cython WebSocket client from PyPI) on uvloop, in its own process.

    python benchmarks/loadgen.py echo PORT SERVER_PIDS --path /ws --connections 16 --size 32
    python benchmarks/loadgen.py fanout PORT SERVER_PIDS --receivers 1000 [--stalled 1]
        [--receiver-ports P1,P2] [--paced-rate 50 --paced-seconds 4]
    python benchmarks/loadgen.py idle PORT SERVER_PIDS --connections 5000

It prints one JSON object. picows parses and masks frames in C and calls back once per frame, so
the Python left per message is a few lines; the client reads its own CPU time and the server's
(summed over the process tree of each of the comma-separated ``SERVER_PIDS``) from
``/proc/PID/stat`` at the two ends of the measured window, so every result carries both costs
per message and shows which side was the limit (and, with several PIDs, each one's).

- ``echo``: every connection keeps one message in flight (send, wait for the echo, check it, send
  again). Text and binary echoes are checked byte for byte, JSON ones (``--json``) by value.
  ``--mark`` sends SIGUSR1 to every server PID at the two ends of the measured window, so that a
  profiler in the server covers the echoes counted (``profile_echo.py``).
- ``fanout``: ``--receivers`` connections and one sender on the broadcast path. A sync message is
  repeated until every receiver has seen one (so all are registered), then the sender keeps at
  most ``--window`` numbered messages not yet delivered to every receiver. Every receiver checks
  that it gets each message exactly once and in order, and notes each delivery's latency: from
  the sender's send of that message to its arrival (p50 and p99 over all deliveries).
  ``--stalled`` adds members that never read (a small receive buffer, reading paused): what the
  others get meanwhile, and the server's memory. ``--receiver-ports`` spreads the receivers
  evenly over several servers (the sender stays on PORT). ``--paced-rate`` adds a second window,
  on the same connections, in which the sender sends that many messages per second on a fixed
  schedule, whatever was delivered: the latency of a fan-out that does not queue (``paced_*``).
- ``idle``: opens ``--connections`` connections, ``--inflight`` handshakes at a time
  (handshakes/s), then (``--hold`` seconds later) reports the server's memory per connection
  with all of them open: resident memory of its process tree, after minus before, over K.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import orjson
import uvloop
from picows import WSListener, WSMsgType, ws_connect

if TYPE_CHECKING:
    from collections.abc import Callable

    from picows import WSFrame, WSTransport

TICKS: Final = os.sysconf("SC_CLK_TCK")
PAGE: Final = os.sysconf("SC_PAGE_SIZE")
JSON_MESSAGE: Final = {
    "id": 12345,
    "type": "chat.message",
    "room": "general",
    "user": {"name": "ann", "roles": ["member", "moderator"], "verified": True},
    "text": "hello, world: a short chat message of a typical size",
    "tags": ["greeting", "test"],
    "score": 3.25,
    "reply_to": None,
}
DATA: Final = (WSMsgType.TEXT, WSMsgType.BINARY)


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU time of one process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def machine_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _, _, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (a server may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo += children.get(current, [])
    return tree


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):  # ended in between
            total += cpu_seconds(member)
    return total


def tree_rss_bytes(pids: list[int]) -> int:
    """Resident memory of the process trees of ``pids`` (resident pages from /proc/PID/statm)."""
    total = 0
    for member in (member for pid in pids for member in process_tree(pid)):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE
    return total


@dataclass
class Window:
    """CPU time of the client and of the servers over the measured window."""

    server_pids: list[int]
    started: float = 0.0
    seconds: float = 0.0
    client_user: float = 0.0
    client_cpu: float = 0.0
    server_cpus: list[float] = field(default_factory=list)  # one per server PID
    machine: float = 0.0

    @property
    def server_cpu(self) -> float:
        return sum(self.server_cpus)

    def start(self) -> None:
        user, system = cpu_times(os.getpid())
        self.client_user, self.client_cpu = -user, -user - system
        self.server_cpus = [-tree_cpu_seconds(pid) for pid in self.server_pids]
        self.machine = -machine_busy_seconds()
        self.started = time.perf_counter()

    def stop(self, at: float | None = None) -> None:
        self.seconds = (at or time.perf_counter()) - self.started
        user, system = cpu_times(os.getpid())
        self.client_user += user
        self.client_cpu += user + system
        self.server_cpus = [
            before + tree_cpu_seconds(pid)
            for before, pid in zip(self.server_cpus, self.server_pids, strict=True)
        ]
        self.machine += machine_busy_seconds()

    def costs(self, count: int) -> dict[str, float]:
        """CPU per message (us) of both sides (the client's also in user space alone; with
        several server PIDs each one's too, ``server0_...`` in their order), and each side's
        share of a core."""
        per = 1e6 / max(count, 1)
        each = {}
        if len(self.server_pids) > 1:
            each = {
                f"server{i}_cpu_us_per_msg": round(cpu * per, 2)
                for i, cpu in enumerate(self.server_cpus)
            }
        return {
            **each,
            "client_cpu_us_per_msg": round(self.client_cpu * per, 2),
            "client_user_us_per_msg": round(self.client_user * per, 2),
            "server_cpu_us_per_msg": round(self.server_cpu * per, 2),
            "client_core": round(self.client_cpu / self.seconds, 3),
            "server_core": round(self.server_cpu / self.seconds, 3),
            # the rest of the machine meanwhile: well above 0.1, the run was disturbed
            "other_core": round(
                max(0.0, self.machine - self.client_cpu - self.server_cpu) / self.seconds, 3
            ),
        }


def percentile_us(latencies_ns: list[int], p: float) -> float:
    ordered = sorted(latencies_ns)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] / 1e3, 1)


async def connect(
    factory: Callable[[], WSListener], port: int, path: str, rcvbuf: int | None = None
) -> tuple[WSTransport, WSListener]:
    """One WebSocket to 127.0.0.1:``port``, with TCP_NODELAY (and a small receive buffer)."""

    def make_socket(_: object) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        return sock  # picows connects it

    return await ws_connect(
        factory,
        f"ws://127.0.0.1:{port}{path}",
        socket_factory=make_socket,
        max_frame_size=2**25,
        websocket_handshake_timeout=30,
    )


def close(transports: list[WSTransport]) -> None:
    """A close frame on every connection, then the end of its socket."""
    for transport in transports:
        if not transport.is_disconnected:
            transport.send_close()
            transport.disconnect()


class Echoer(WSListener):
    """One connection of an echo run: one message in flight, every echo checked."""

    def __init__(self, run: EchoRun) -> None:
        self.run = run
        self.sent_at = 0
        self.parts: list[bytes] = []

    def send(self, transport: WSTransport) -> None:
        self.sent_at = time.perf_counter_ns()
        transport.send(self.run.msg_type, self.run.payload)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type not in DATA and frame.msg_type is not WSMsgType.CONTINUATION:
            return  # a ping (answered by picows) or a close
        if not frame.fin or self.parts:
            self.parts.append(frame.get_payload_as_bytes())
            if not frame.fin:
                return
            payload = b"".join(self.parts)
            self.parts.clear()
        else:
            payload = frame.get_payload_as_bytes()
        run = self.run
        if run.json_value is not None:
            if orjson.loads(payload) != run.json_value:
                run.bad += 1
        elif payload != run.payload:
            run.bad += 1
        if run.recording:
            now = time.perf_counter_ns()
            run.latencies.append(now - self.sent_at)
        if run.sending:
            self.send(transport)
        else:
            run.outstanding -= 1
            if not run.outstanding:
                run.drained.set()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.run.closed += 1
        self.run.drained.set()


@dataclass
class EchoRun:
    payload: bytes
    msg_type: WSMsgType
    json_value: object = None
    recording: bool = False
    sending: bool = True
    outstanding: int = 0
    bad: int = 0
    closed: int = 0
    latencies: list[int] = field(default_factory=list)
    drained: asyncio.Event = field(default_factory=asyncio.Event)


def mark(args: argparse.Namespace) -> None:
    """With ``--mark``: SIGUSR1 to every server PID (one end of the measured window)."""
    if args.mark:
        for pid in args.server_pids:
            os.kill(pid, signal.SIGUSR1)


async def echo(args: argparse.Namespace) -> dict[str, object]:
    if args.json:
        run = EchoRun(orjson.dumps(JSON_MESSAGE), WSMsgType.TEXT, JSON_MESSAGE)
    elif args.binary:
        run = EchoRun(os.urandom(args.size), WSMsgType.BINARY)
    else:
        run = EchoRun(b"x" * args.size, WSMsgType.TEXT)
    connections = [
        await connect(lambda: Echoer(run), args.port, args.path) for _ in range(args.connections)
    ]
    run.outstanding = len(connections)
    for transport, listener in connections:
        assert isinstance(listener, Echoer)
        listener.send(transport)
    await asyncio.sleep(args.warmup)
    window = Window(args.server_pids)
    run.recording = True
    window.start()
    mark(args)  # no echo is counted between the two: both are synchronous
    await asyncio.sleep(args.seconds)
    mark(args)
    window.stop()
    run.recording, run.sending = False, False
    count = len(run.latencies)
    with contextlib.suppress(TimeoutError):  # the last echoes, before closing
        await asyncio.wait_for(run.drained.wait(), 10)
    close([transport for transport, _ in connections])
    return {
        "msgs": count,
        "secs": round(window.seconds, 3),
        "msgs_per_s": round(count / window.seconds, 1),
        "mb_per_s": round(count * len(run.payload) / window.seconds / 1e6, 1),
        "p50_us": percentile_us(run.latencies, 0.5),
        "p99_us": percentile_us(run.latencies, 0.99),
        "bad": run.bad,
        "closed": run.closed,
        **window.costs(count),
    }


def fan_payload(number: int) -> bytes:
    """The 32-byte text of broadcast message ``number``."""
    return b"m%08d" % number + b"x" * 23


@dataclass
class FanRun:
    receivers: int
    messages: list[bytes]
    seen: list[int]
    sent_at: list[int]  # perf_counter_ns() when each message was sent
    synced: int = 0
    sent: int = 0
    completed: int = 0
    delivered: int = 0
    disorder: int = 0
    bad: int = 0
    closed: int = 0
    last_completion: float = 0.0
    window: int = 8
    open: bool = False
    paced: bool = False  # the sender keeps a schedule instead of the window
    sender: WSTransport | None = None
    latencies: list[int] = field(default_factory=list)  # ns, one per delivery
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    def send_next(self) -> None:
        assert self.sender is not None
        self.sent_at[self.sent] = time.perf_counter_ns()
        self.sender.send(WSMsgType.TEXT, self.messages[self.sent])
        self.sent += 1

    def pump(self) -> None:
        """Keep ``window`` messages in flight that not every receiver has yet (unless paced)."""
        while self.open and not self.paced and self.sent - self.completed < self.window:
            self.send_next()


class Receiver(WSListener):
    """A member of the broadcast that checks exactly-once, in-order delivery."""

    def __init__(self, run: FanRun) -> None:
        self.run = run
        self.next = 0
        self.synced = False

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        run = self.run
        payload = frame.get_payload_as_bytes()
        if self.next < run.sent and payload == run.messages[self.next]:
            number = self.next
        elif payload[:1] == b"s":
            if not self.synced:
                self.synced = True
                run.synced += 1
            return
        elif payload[:1] == b"m" and (number := int(payload[1:9])) < run.sent:
            run.disorder += 1  # a message out of order, again, or after a gap
        else:
            run.bad += 1
            return
        now = time.perf_counter_ns()
        run.latencies.append(now - run.sent_at[number])
        self.next = number + 1
        run.delivered += 1
        run.seen[number] += 1
        if run.seen[number] == run.receivers:
            run.completed += 1
            run.last_completion = now / 1e9  # perf_counter()'s clock
            run.pump()
            if not run.open and run.completed == run.sent:
                run.drained.set()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.run.closed += 1


class Sender(WSListener):
    """The publisher: what it gets back of its own broadcast is not counted."""


class Stalled(WSListener):
    """A member that never reads: its reading is paused from the start."""

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.underlying_transport.pause_reading()


async def fanout(args: argparse.Namespace) -> dict[str, object]:
    limit = 2_000_000
    run = FanRun(args.receivers, [fan_payload(n) for n in range(limit)], [0] * limit, [0] * limit)
    run.window = args.window
    ports = args.receiver_ports or [args.port]
    receivers = [
        await connect(lambda: Receiver(run), ports[n % len(ports)], args.path)
        for n in range(args.receivers)
    ]
    stalled = [
        await connect(Stalled, args.port, args.path, rcvbuf=4096) for _ in range(args.stalled)
    ]
    sender, _ = await connect(Sender, args.port, args.path)
    run.sender = sender
    deadline = time.monotonic() + 15
    while run.synced < args.receivers:
        if time.monotonic() > deadline:
            return {"error": f"{run.synced} of {args.receivers} receivers got the sync message"}
        sender.send(WSMsgType.TEXT, b"s")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    rss_before = tree_rss_bytes(args.server_pids)
    result = await fan_window(run, args, args.seconds)
    rss_after = tree_rss_bytes(args.server_pids)
    if args.paced_rate:
        run.paced = True
        paced = await fan_window(run, args, args.paced_seconds, args.paced_rate)
        result |= {"paced_rate": args.paced_rate} | {f"paced_{k}": v for k, v in paced.items()}
    close([transport for transport, _ in [*receivers, *stalled]] + [sender])
    return {
        "receivers": args.receivers,
        "receiver_ports": len(ports),
        "stalled": args.stalled,
        **result,
        "closed": run.closed,
        "server_rss_growth_kib": round((rss_after - rss_before) / 1024, 1),
    }


async def fan_window(
    run: FanRun, args: argparse.Namespace, seconds: float, rate: float = 0.0
) -> dict[str, object]:
    """One measured window of ``run``: the sender keeps its window of messages in flight, or
    sends ``rate`` messages per second; then every message is waited for (``--drain``)."""
    first, delivered, disorder, bad = run.sent, run.delivered, run.disorder, run.bad
    run.latencies = []
    run.drained.clear()
    window = Window(args.server_pids)
    window.start()
    run.open = True
    if rate:
        loop = asyncio.get_running_loop()
        began = loop.time()
        for n in range(round(seconds * rate)):
            await asyncio.sleep(began + n / rate - loop.time())  # late: at once
            run.send_next()
    else:
        run.pump()
        await asyncio.sleep(seconds)
    run.open = False
    if run.completed < run.sent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.drained.wait(), args.drain)
    complete = run.completed == run.sent
    window.stop(run.last_completion if complete else None)
    sent, delivered = run.sent - first, run.delivered - delivered
    missing = sent * run.receivers - delivered
    disorder, bad = run.disorder - disorder, run.bad - bad
    return {
        "messages_sent": sent,
        "deliveries": delivered,
        "secs": round(window.seconds, 3),
        "deliveries_per_s": round(delivered / window.seconds, 1),
        "p50_us": percentile_us(run.latencies, 0.5),
        "p99_us": percentile_us(run.latencies, 0.99),
        "missing": missing,
        "disorder": disorder,
        "bad": bad,
        "exact": missing == 0 and disorder == 0 and bad == 0 and run.closed == 0,
        **window.costs(delivered),
    }


class Idle(WSListener):
    """A connection that only stays open."""


async def idle(args: argparse.Namespace) -> dict[str, object]:
    await asyncio.sleep(0.5)
    before = tree_rss_bytes(args.server_pids)
    gate = asyncio.Semaphore(args.inflight)
    window = Window(args.server_pids)

    async def one() -> WSTransport:
        async with gate:
            transport, _ = await connect(Idle, args.port, args.path)
            return transport

    window.start()
    transports = await asyncio.gather(*(one() for _ in range(args.connections)))
    window.stop()
    print("open", flush=True)  # for a profiler that looks at the server meanwhile
    await asyncio.sleep(args.hold)
    after = tree_rss_bytes(args.server_pids)
    dropped = sum(t.is_disconnected for t in transports)
    close(transports)
    return {
        "open": len(transports),
        "dropped": dropped,
        "secs": round(window.seconds, 3),
        "handshakes_per_s": round(len(transports) / window.seconds, 1),
        "kib_per_conn": round((after - before) / len(transports) / 1024, 2),
        **window.costs(len(transports)),
    }


def numbers(text: str) -> list[int]:
    """``"1,2,3"`` as ``[1, 2, 3]``."""
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["echo", "fanout", "idle"])
    parser.add_argument("port", type=int)
    parser.add_argument("server_pids", type=numbers, help="PID[,PID...]")
    parser.add_argument("--path", default="/ws")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--binary", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--mark", action="store_true", help="echo: SIGUSR1 the servers at the ends")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--receivers", type=int, default=100)
    parser.add_argument("--stalled", type=int, default=0)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--receiver-ports", type=numbers, help="fanout: P1[,P2...]")
    parser.add_argument("--paced-rate", type=float, default=0.0, help="fanout: messages/s")
    parser.add_argument("--paced-seconds", type=float, default=4.0)
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--inflight", type=int, default=50)
    parser.add_argument("--hold", type=float, default=1.0, help="idle: seconds before measuring")
    args = parser.parse_args()
    modes = {"echo": echo, "fanout": fanout, "idle": idle}
    try:
        result = uvloop.run(modes[args.mode](args))
    except (OSError, TimeoutError) as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
