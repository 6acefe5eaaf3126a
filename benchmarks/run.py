"""Run every benchmark against fastrapi and its peers, in one run; write benchmarks/results/.

    python benchmarks/run.py [--quick]

Each server runs alone in its own process pinned to CPU 0, the load generator in this process
pinned to CPU 1 (when the machine has two). For each server: 32-byte text echo at 1, 16 and 256
connections (messages/s, p50/p99 round trip), 64 KiB binary echo (MB/s each way), opening
handshakes per second, and the server's memory per idle connection with 5,000 open. CPU time of
both processes is read from /proc for every echo run, to show the client is the cheaper side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

import loadgen

HERE: Final = Path(__file__).parent
ROOT: Final = HERE.parent
RESULTS: Final = HERE / "results"
TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    name: str
    command: list[str]


SERVERS: Final = [
    Server("fastrapi native (auto: websockets)", ["examples/autobahn_echo.py", "auto"]),
    Server("fastrapi native (wsproto)", ["examples/autobahn_echo.py", "wsproto"]),
    Server("fastrapi on Hypercorn", ["examples/autobahn_echo.py", "hypercorn"]),
    Server("uvicorn + Starlette", ["benchmarks/servers/uvicorn_starlette.py"]),
    Server("websockets asyncio", ["benchmarks/servers/websockets_asyncio.py"]),
    Server("Hypercorn bare ASGI", ["benchmarks/servers/hypercorn_asgi.py"]),
    Server("trio + wsproto, one task", ["benchmarks/servers/trio_wsproto_loop.py"]),
    Server("trio + websockets, one task", ["benchmarks/servers/trio_websockets_loop.py"]),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def start(server: Server, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, *server.command[:1], str(port), *server.command[1:]],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(process.pid, {0})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            loadgen.connect(port).close()
            return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{server.name} did not accept connections within 20 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(server: Server, seconds: float, idle: int) -> dict[str, object]:
    port = free_port()
    process = start(server, port)
    result: dict[str, object] = {}
    try:
        loadgen.echo(port, 16, 32, 0.5)  # warm-up
        for connections in (1, 16, 256):
            client0, server0 = time.process_time(), cpu_seconds(process.pid)
            run = loadgen.echo(port, connections, 32, seconds)
            client_cpu = time.process_time() - client0
            server_cpu = cpu_seconds(process.pid) - server0
            result[f"echo{connections}"] = {
                "msgs_per_s": round(run.rate),
                "p50_ms": round(run.percentile(0.5), 3),
                "p99_ms": round(run.percentile(0.99), 3),
                "client_cpu_us_per_msg": round(client_cpu / run.messages * 1e6, 2),
                "server_cpu_us_per_msg": round(server_cpu / run.messages * 1e6, 2),
            }
        big = loadgen.echo(port, 4, 65536, seconds, binary=True)
        result["binary64k_mb_per_s"] = round(big.messages * 65536 / big.seconds / 1e6, 1)
        result["handshakes_per_s"] = round(loadgen.handshakes(port, seconds))
        time.sleep(0.5)
        before = rss_bytes(process.pid)
        held = loadgen.open_idle(port, idle)
        time.sleep(1)
        result["idle_bytes_per_conn"] = round((rss_bytes(process.pid) - before) / idle)
        for sock in held:
            sock.close()
    finally:
        stop(process)
    return result


def median(runs: list[dict[str, object]]) -> dict[str, object]:
    """Every figure's median over the rounds (the first error, if a round failed)."""
    for run in runs:
        if "error" in run:
            return run
    merged: dict[str, object] = {}
    for key, first in runs[0].items():
        if isinstance(first, dict):
            merged[key] = median([run[key] for run in runs])  # type: ignore[misc]  # same shape every round
        else:
            numbers = cast("list[float]", [run[key] for run in runs])
            merged[key] = round(statistics.median(numbers), 3)
    return merged


def _echo(result: dict[str, object], connections: int) -> dict[str, float]:
    echo = result[f"echo{connections}"]
    assert isinstance(echo, dict)
    return echo


def _ratio(echo: dict[str, float], other: dict[str, object] | None) -> str:
    """``echo``'s rate over ``other``'s (at 16 connections), as "1.23x"."""
    if not other or "error" in other:
        return "-"
    return f"{echo['msgs_per_s'] / _echo(other, 16)['msgs_per_s']:.2f}x"


def markdown(results: dict[str, dict[str, object]], meta: dict[str, object]) -> str:
    base = results.get("uvicorn + Starlette")
    hyper = results.get("Hypercorn bare ASGI")
    lines = [
        "# Benchmark results",
        "",
        f"Run {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']},"
        f" {meta['seconds']} s per point, the median of {meta['rounds']} rounds; server pinned to"
        " CPU 0, load generator to CPU 1."
        " Reproduce: `nox -s bench`.",
        "",
        "| server | 1 conn msgs/s | 16 conns msgs/s | 256 conns msgs/s | p50 / p99 ms (16) "
        "| vs uvicorn (16) | vs Hypercorn (16) | 64 KiB MB/s | handshakes/s | KiB per idle conn |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} |")
            continue
        echo = {n: _echo(r, n) for n in (1, 16, 256)}
        lines.append(
            f"| {name} | {echo[1]['msgs_per_s']} | {echo[16]['msgs_per_s']} "
            f"| {echo[256]['msgs_per_s']} | {echo[16]['p50_ms']} / {echo[16]['p99_ms']} "
            f"| {_ratio(echo[16], base)} | {_ratio(echo[16], hyper)} "
            f"| {r['binary64k_mb_per_s']} | {r['handshakes_per_s']} "
            f"| {float(str(r['idle_bytes_per_conn'])) / 1024:.1f} |"
        )
    lines += [
        "",
        "Client vs server CPU per message (µs, 16 connections): the load generator must be the",
        "cheaper side for the figures to measure the server.",
        "",
        "| server | client µs/msg | server µs/msg |",
        "|---|---:|---:|",
    ]
    for name, r in results.items():
        if "error" not in r:
            e16 = _echo(r, 16)
            lines.append(
                f"| {name} | {e16['client_cpu_us_per_msg']} | {e16['server_cpu_us_per_msg']} |"
            )
    return "\n".join(lines) + "\n"


def rst_table(results: dict[str, dict[str, object]], meta: dict[str, object]) -> str:
    """The main figures as a reStructuredText table, for the docs."""
    base = results.get("uvicorn + Starlette")
    hyper = results.get("Hypercorn bare ASGI")
    rows = [
        "   * - server\n     - msgs/s at 1 / 16 / 256 connections\n"
        "     - p50 / p99 ms (16)\n     - vs uvicorn (16)\n     - vs Hypercorn (16)\n"
        "     - 64 KiB MB/s\n     - handshakes/s\n     - KiB per idle connection"
    ]
    for name, r in results.items():
        if "error" in r:
            continue
        echo = {n: _echo(r, n) for n in (1, 16, 256)}
        rates = " / ".join(str(echo[n]["msgs_per_s"]) for n in (1, 16, 256))
        rows.append(
            f"   * - {name}\n"
            f"     - {rates}\n"
            f"     - {echo[16]['p50_ms']} / {echo[16]['p99_ms']}\n"
            f"     - {_ratio(echo[16], base)}\n     - {_ratio(echo[16], hyper)}\n"
            f"     - {r['binary64k_mb_per_s']}\n     - {r['handshakes_per_s']}\n"
            f"     - {float(str(r['idle_bytes_per_conn'])) / 1024:.1f}"
        )
    head = (
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python"
        f" {meta['python']}, {meta['seconds']} s per point, the median of {meta['rounds']}"
        " rounds.\n\n"
        ".. list-table::\n   :header-rows: 1\n\n"
    )
    return head + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s per point, 500 idle connections")
    parser.add_argument("--only", help="run only the servers whose name contains this")
    parser.add_argument(
        "--rounds", type=int, help="measure every server this many times, round-robin (default 3)"
    )
    args = parser.parse_args()
    seconds, idle = (1.0, 500) if args.quick else (4.0, 5000)
    rounds = args.rounds or (1 if args.quick else 3)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {1})
    servers = [s for s in SERVERS if not args.only or args.only in s.name]
    runs: dict[str, list[dict[str, object]]] = {server.name: [] for server in servers}
    for round_ in range(1, rounds + 1):
        for server in servers:  # round-robin: a noisy minute spreads over every server
            print(f"{server.name} (round {round_}/{rounds}) ...", flush=True)
            try:
                runs[server.name].append(measure(server, seconds, idle))
            except (OSError, RuntimeError) as exc:
                runs[server.name].append({"error": str(exc)[:300]})
            print(f"  {runs[server.name][-1]}", flush=True)
    results = {name: median(each) for name, each in runs.items()}
    meta: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": seconds,
        "idle_connections": idle,
        "rounds": rounds,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    (RESULTS / "README.md").write_text(markdown(results, meta))
    (RESULTS / "table.rst").write_text(rst_table(results, meta))
    print((RESULTS / "README.md").read_text())


if __name__ == "__main__":
    main()
