"""Many idle WebSockets on one fastrapi process, pings on: memory, ping cost, a good client.

    python benchmarks/idle_many.py [--connections 100000] [--hold 60] [--out DIR]
    nox -s bench -- --idle [ARGS]

One server process (``servers/fastrapi_idle.py``, under ``taskset -c 0``) pings every
connection every ``--ping-interval`` seconds (or ``--ping-timeout`` when that is longer: one
ping is out at a time). The load side is ``idle_client.c``, compiled here with
``cc -O2``: one thread on epoll per process, up to ``--per-process`` connections each, under
``taskset -c 1``, each connection bound to a source address of its own in 127.0.0.0/8
(``--per-address`` connections per address: one address pair has only ~28k ephemeral ports).
Everything runs under ``nice``.

It reports:

* KiB per connection, resident: the server's ``VmRSS`` with every connection open (and settled)
  minus before, over the count; plus the kernel's share: ``/proc/net/sockstat``'s TCP buffer
  pages and the socket slabs (``TCP``, ``sock_inode_cache``, ``filp``, ``eventpoll_epi`` from
  ``/proc/slabinfo``), which count both ends of each loopback connection: halved for the
  server's side.
* the CPU the pings cost: the server's CPU time over the hold window (nothing but pings and
  their pongs happen then, and the good client's few probes), per second per 1,000 connections
  at this ping rate, and per ping.
* ping timer lateness: in the server, one attendant timer in 16 (pings and pong checks) notes
  how late it ran (``servers/fastrapi_idle.py``), reported for the hold and, apart, for the
  opening (thousands of handshakes a second); and at the client, each ping's arrival
  minus the previous one's minus the period (so it is the sum of the two timers' lateness, the
  ping's and the pong check's, plus the delivery): p50, p99, max.
* the garbage collector's full collections (each walks every tracked object of every
  connection): how many, and the longest, while opening and during the hold.
* a good client's latency while all are held: every 0.5 s a new connection (raw sockets, from
  127.0.0.1) does the handshake (connect to 101) and one echo; p50, p99, max of each.

``RLIMIT_NOFILE`` is raised to what the count needs; where the hard limit is lower (a
container that may not raise it), the count is lowered to what fits and the report says so.
Results: ``results.json`` and ``README.md`` in ``--out`` (default ``benchmarks/results/idle``).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Final

HERE: Final = Path(__file__).parent
TICKS: Final = os.sysconf("SC_CLK_TCK")
PAGE: Final = os.sysconf("SC_PAGE_SIZE")
SLABS: Final = ("TCP", "sock_inode_cache", "filp", "eventpoll_epi")
SPARE_FILES: Final = 64  # descriptors a process needs besides its connections


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def kernel_bytes() -> dict[str, int]:
    """TCP buffer memory (sockstat) and the socket slabs, in bytes, machine-wide."""
    found = {"tcp_buffers": 0}
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            words = line.split()
            found["tcp_buffers"] = int(words[words.index("mem") + 1]) * PAGE
    try:
        for line in Path("/proc/slabinfo").read_text().splitlines()[2:]:
            words = line.split()
            if words[0] in SLABS:
                found[words[0]] = int(words[1]) * int(words[3])
    except PermissionError:  # slabinfo needs root; sockstat alone then
        pass
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def raise_file_limit(wanted: int) -> int:
    """Raise this process's descriptor limit (the children inherit it) towards ``wanted``;
    the limit it got."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    return max(soft, wanted)


def compile_client(where: Path) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("idle_many.py needs a C compiler (cc) for idle_client.c")
    binary = where / "idle_client"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(HERE / "idle_client.c")], check=True)
    return binary


def pinned(core: int, *command: str) -> list[str]:
    """``command`` under ``nice`` (and ``taskset -c core`` where there is one)."""
    prefix = ["nice", "-n", "10"]
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        prefix += ["taskset", "-c", str(core)]
    return [*prefix, *command]


def wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("the server did not listen within 30 s")


def _recv_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while end not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def probe(port: int) -> tuple[float, float]:
    """One good client: connect and handshake, then one echo; the seconds each took."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    payload = b"are you there?"
    mask = os.urandom(4)
    frame = bytes([0x81, 0x80 | len(payload)]) + mask
    frame += bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        head = _recv_until(sock, b"\r\n\r\n")
        shook = time.perf_counter()
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"refused: {head[:40]!r}")
        sock.sendall(frame)
        rest = head.partition(b"\r\n\r\n")[2]
        while len(rest) < 2 + len(payload):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the echo")
            rest += chunk
        echoed = time.perf_counter()
        if rest[2 : 2 + len(payload)] != payload:
            raise ConnectionError(f"echo {rest!r}")
    return shook - started, echoed - shook


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]

    return {"p50": at(0.5), "p99": at(0.99), "max": ordered[-1], "n": len(ordered)}


def milliseconds(seconds: dict[str, float]) -> dict[str, float]:
    """Quantiles in seconds as milliseconds (the count ``n`` as it is)."""
    return {k: v if k == "n" else round(v * 1000, 2) for k, v in seconds.items()}


def split_samples(
    text: str, hold_start: float, hold_end: float
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """The server's ``late``/``gc`` lines (see ``servers/fastrapi_idle.py``), in milliseconds,
    by when they came: before the hold (``opening``: the handshakes) or during it."""
    timers: dict[str, list[float]] = {"opening": [], "hold": []}
    collections: dict[str, list[float]] = {"opening": [], "hold": []}
    for line in text.splitlines():
        kind, when, value = line.split()
        if float(when) > hold_end:
            continue  # the shutdown
        part = "hold" if float(when) >= hold_start else "opening"
        (timers if kind == "late" else collections)[part].append(float(value) * 1000)
    return timers, collections


def read_line(pipe: IO[str]) -> str:
    line = pipe.readline()
    if not line:
        raise RuntimeError("a client process ended early")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100_000)
    parser.add_argument("--ping-interval", type=float, default=5.0)
    parser.add_argument("--ping-timeout", type=float, default=5.0)
    parser.add_argument("--hold", type=float, default=60.0, help="seconds all are held")
    parser.add_argument("--per-process", type=int, default=15_000)
    parser.add_argument("--per-address", type=int, default=10_000)
    parser.add_argument("--inflight", type=int, default=200, help="handshakes under way")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "idle")
    args = parser.parse_args()
    asked = count = args.connections
    limit = raise_file_limit(count + SPARE_FILES)
    note = ""
    if limit < count + SPARE_FILES:
        count = limit - SPARE_FILES
        note = (
            f"{asked:,} asked; RLIMIT_NOFILE's hard limit here is {limit:,} and may not be "
            f"raised (no CAP_SYS_RESOURCE), so one server process holds at most {count:,}"
        )
        print(note, flush=True)
    per_process = min(args.per_process, limit - SPARE_FILES)
    period = max(args.ping_interval, args.ping_timeout)
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        binary = compile_client(Path(scratch))
        lateness_file = Path(scratch) / "lateness"
        server = subprocess.Popen(
            pinned(
                0,
                sys.executable,
                str(HERE / "servers" / "fastrapi_idle.py"),
                str(port),
                str(args.ping_interval),
                str(args.ping_timeout),
                str(lateness_file),
            )
        )
        clients: list[subprocess.Popen[str]] = []
        try:
            wait_listening(port, server)
            for _ in range(20):
                probe(port)  # warm the code paths up before the baseline
            time.sleep(1)
            rss_before = status_kib(server.pid, "VmRSS")
            kernel_before = kernel_bytes()
            began = time.monotonic()
            first_address = 2  # 127.0.0.2 on: 127.0.0.1 is the good client's
            for start in range(0, count, per_process):
                share = min(per_process, count - start)
                clients.append(
                    subprocess.Popen(
                        pinned(
                            1,
                            str(binary),
                            "127.0.0.1",
                            str(port),
                            "/ws",
                            str(share),
                            str(first_address + start // args.per_address),
                            str(args.per_address),
                            str(max(1, args.inflight // math.ceil(count / per_process))),
                            str(args.hold + 3600),  # held until stdin ends
                            str(period),
                        ),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            opened = failed = 0
            for client in clients:
                assert client.stdout is not None
                _, got, lost, _ = read_line(client.stdout).split()
                opened, failed = opened + int(got), failed + int(lost)
            opening = time.monotonic() - began
            print(f"{opened:,} open, {failed:,} failed, in {opening:.1f} s", flush=True)
            time.sleep(3)  # settle: the last handshakes' garbage, the kernel's buffers
            rss_held = status_kib(server.pid, "VmRSS")
            kernel_held = kernel_bytes()
            for client in clients:
                assert client.stdin is not None
                client.stdin.write("start\n")  # count the pings from here
                client.stdin.flush()
            cpu_start, wall_start = server_cpu(server.pid), time.monotonic()
            handshakes, echoes, errors = [], [], 0
            while time.monotonic() - wall_start < args.hold:
                try:
                    shook, echoed = probe(port)
                    handshakes.append(shook)
                    echoes.append(echoed)
                except OSError:
                    errors += 1
                time.sleep(0.5)
            cpu = server_cpu(server.pid) - cpu_start
            wall = time.monotonic() - wall_start
            rss_peak = status_kib(server.pid, "VmHWM")
            for client in clients:
                assert client.stdin is not None
                client.stdin.close()  # the hold is over: report
            pings = closed = 0
            late: dict[int, int] = {}
            for client in clients:
                assert client.stdout is not None
                while not (line := read_line(client.stdout)).startswith("held"):
                    pass
                _, got_pings, got_closed = line.split()
                pings, closed = pings + int(got_pings), closed + int(got_closed)
                for line in client.stdout:
                    _, bucket, number = line.split()
                    late[int(bucket)] = late.get(int(bucket), 0) + int(number)
                client.wait()
        finally:
            for client in clients:
                if client.poll() is None:
                    client.kill()
                    client.wait()
            server.terminate()
            server.wait(timeout=60)
        timers, collections = split_samples(
            lateness_file.read_text(), wall_start, wall_start + wall
        )
    lateness = [bucket / 10 for bucket, number in sorted(late.items()) for _ in range(number)]
    kernel = {
        name: (kernel_held.get(name, 0) - kernel_before.get(name, 0)) / opened / 1024
        for name in kernel_held
    }
    kernel_total = sum(kernel.values())
    result = {
        "meta": {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PHYS_PAGES') * PAGE / 2**30:.1f} GiB",
            "python": platform.python_version(),
            "asked": asked,
            "note": note,
            "ping_interval": args.ping_interval,
            "ping_timeout": args.ping_timeout,
            "hold_seconds": round(wall, 1),
            "client_processes": len(clients),
            "source_addresses": math.ceil(count / args.per_address),
        },
        "connections": opened,
        "failed": failed,
        "closed_by_server_during_hold": closed,
        "handshakes_per_s_opening": round(opened / opening, 1),
        "rss_kib_per_connection": round((rss_held - rss_before) / opened, 2),
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_held_mib": round(rss_held / 1024, 1),
        "rss_peak_mib": round(rss_peak / 1024, 1),
        "kernel_kib_per_connection_both_ends": {k: round(v, 2) for k, v in kernel.items()},
        "kernel_kib_per_connection_server_side": round(kernel_total / 2, 2),
        "pings": pings,
        "pings_per_s": round(pings / wall, 1),
        "server_cpu_seconds": round(cpu, 2),
        "server_cpu_share_of_a_core": round(cpu / wall, 4),
        "cpu_ms_per_s_per_1000_connections": round(cpu / wall / (opened / 1000) * 1000, 3),
        "cpu_us_per_ping": round(cpu / pings * 1e6, 1) if pings else None,
        "timer_lateness_ms": {k: round(v, 3) for k, v in quantiles(timers["hold"]).items()},
        "timer_lateness_ms_opening": {
            k: round(v, 3) for k, v in quantiles(timers["opening"]).items()
        },
        "full_collections": {
            when: {"count": len(lengths), "longest_ms": round(max(lengths, default=0.0), 1)}
            for when, lengths in collections.items()
        },
        "ping_lateness_ms": quantiles(lateness),
        "good_client_handshake_ms": milliseconds(quantiles(handshakes)),
        "good_client_echo_ms": milliseconds(quantiles(echoes)),
        "good_client_errors": errors,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "README.md").write_text(report(result))
    print(report(result))


def report(result: dict[str, Any]) -> str:
    """The results as a Markdown page."""
    meta, late, timer = result["meta"], result["ping_lateness_ms"], result["timer_lateness_ms"]
    opening, full = result["timer_lateness_ms_opening"], result["full_collections"]
    hand, echo = result["good_client_handshake_ms"], result["good_client_echo_ms"]
    lines = [
        f"# {result['connections']:,} idle WebSockets on one fastrapi process",
        "",
        f"`python benchmarks/idle_many.py`, {meta['date']}, {meta['machine']}, Python "
        f"{meta['python']}; pings every {meta['ping_interval']} s (timeout "
        f"{meta['ping_timeout']} s); held {meta['hold_seconds']} s; "
        f"{meta['client_processes']} client process(es) over {meta['source_addresses']} "
        "source address(es).",
        "",
    ]
    if meta["note"]:
        lines += [f"**{meta['note']}.**", ""]
    lines += [
        "| measure | value |",
        "|---|---:|",
        f"| connections open (failed) | {result['connections']:,} ({result['failed']}) |",
        f"| handshakes/s while opening | {result['handshakes_per_s_opening']:,} |",
        f"| resident KiB per connection (server process) | {result['rss_kib_per_connection']} |",
        f"| kernel KiB per connection, server's side (socket slabs + buffers, half of both "
        f"ends) | {result['kernel_kib_per_connection_server_side']} |",
        f"| server RSS before / held / peak (MiB) | {result['rss_before_mib']} / "
        f"{result['rss_held_mib']} / {result['rss_peak_mib']} |",
        f"| pings/s | {result['pings_per_s']:,} |",
        f"| server CPU (share of a core) | {result['server_cpu_share_of_a_core']} |",
        f"| CPU ms per second per 1,000 connections | "
        f"{result['cpu_ms_per_s_per_1000_connections']} |",
        f"| CPU us per ping (with its pong) | {result['cpu_us_per_ping']} |",
        f"| server timer lateness p50 / p99 / max (ms; pings and pong checks, 1 in 16) | "
        f"{timer.get('p50')} / {timer.get('p99')} / {timer.get('max')} |",
        f"| the same while opening (handshakes under way) | "
        f"{opening.get('p50')} / {opening.get('p99')} / {opening.get('max')} |",
        f"| full garbage collections while opening / during the hold (longest, ms) | "
        f"{full['opening']['count']} ({full['opening']['longest_ms']}) / "
        f"{full['hold']['count']} ({full['hold']['longest_ms']}) |",
        f"| ping lateness at the client p50 / p99 / max (ms; two timers and the delivery) | "
        f"{late.get('p50')} / {late.get('p99')} / {late.get('max')} |",
        f"| good client handshake p50 / p99 / max (ms) | {hand.get('p50')} / {hand.get('p99')}"
        f" / {hand.get('max')} |",
        f"| good client echo p50 / p99 / max (ms) | {echo.get('p50')} / {echo.get('p99')} / "
        f"{echo.get('max')} |",
        f"| good client errors | {result['good_client_errors']} |",
        f"| connections the server closed during the hold | "
        f"{result['closed_by_server_during_hold']} |",
        "",
        "Kernel KiB per connection, both ends, by part: "
        + ", ".join(f"{k} {v}" for k, v in result["kernel_kib_per_connection_both_ends"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
