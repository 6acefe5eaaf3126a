"""Run the WebSocket benchmarks against fastrapi and its peers, in one run; write the results.

    python benchmarks/run.py [--quick] [--servers a,b] [--workloads x,y] [--rounds N]

Every server runs alone under ``taskset -c 0``; the load client (``loadgen.py``: picows on
uvloop, a process of its own) under ``taskset -c 1``. Each round starts every server afresh and
runs every workload on it; rounds rotate the order of the servers, and each figure is the median
of its rounds. The client reads its own CPU time and the server's from /proc over every measured
window, so the tables show both costs per message. Writes ``results.json`` (every round's raw
numbers), ``README.md`` and ``table.rst`` into ``benchmarks/results/`` (``results/quick/``
with ``--quick``).

``fastrapi_redis`` is fastrapi across processes: a ``redis-server`` of its own (a free loopback
port, no persistence) and two processes of ``servers/fastrapi_app.py`` whose Hub is on it, all
three under ``taskset -c 0``; it runs only the workloads that name it (``fanout_n1000_redis``,
which runs on one fastrapi process too).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Final

from loadgen import machine_busy_seconds

HERE: Final = Path(__file__).parent
ROOT: Final = HERE.parent
LOADGEN: Final = HERE / "loadgen.py"
FASTRAPI: Final = "fastrapi"  # the key of the server the ratios are about


@dataclass(frozen=True)
class Server:
    label: str
    script: str  # relative to benchmarks/, run as ``python SCRIPT PORT *ARGS``
    args: tuple[str, ...] = ()
    default: bool = True
    redis: bool = False  # two processes of the script, their Hub on a redis-server of their own


SERVERS: Final = {
    "fastrapi": Server("fastrapi native (ws auto)", "servers/fastrapi_app.py"),
    "fastrapi_wsproto": Server(
        "fastrapi native (ws=wsproto)", "servers/fastrapi_app.py", ("wsproto",)
    ),
    "trio_websockets_loop": Server(
        "one-task trio + websockets sans-I/O (the floor)", "servers/trio_websockets_loop.py"
    ),
    "trio_wsproto_loop": Server("one-task trio + wsproto", "servers/trio_wsproto_loop.py"),
    "websockets_trio": Server("websockets' own Trio server", "servers/websockets_trio.py"),
    "websockets_asyncio": Server("websockets asyncio", "servers/websockets_asyncio.py"),
    "uvicorn_starlette": Server("uvicorn + Starlette", "servers/uvicorn_starlette.py"),
    "hypercorn_raw": Server("Hypercorn trio worker, raw ASGI", "servers/hypercorn_asgi.py"),
    "trio_websocket": Server("trio-websocket", "servers/trio_websocket_server.py"),
    "fastrapi_redis": Server(
        "fastrapi native, 2 processes, Hub on Redis", "servers/fastrapi_app.py", redis=True
    ),
    "fastrapi_h11": Server(
        "fastrapi native (http=h11)", "servers/fastrapi_app.py", ("h11",), default=False
    ),
    "fastrapi_hypercorn": Server(
        "fastrapi on Hypercorn", "servers/fastrapi_app.py", ("hypercorn",), default=False
    ),
}


@dataclass(frozen=True)
class Workload:
    label: str
    mode: str
    args: tuple[str, ...]
    metric: str  # the key of the headline figure in the client's result
    unit: str
    timed: bool = True  # measured for --seconds (echo, fan-out)
    seconds: float | None = None  # its own measured time, longer than --seconds
    default: bool = True
    servers: tuple[str, ...] | None = None  # only these (None: all but the Redis pair)

    def runs_on(self, server: str) -> bool:
        if self.servers is not None:
            return server in self.servers
        return not SERVERS[server].redis


PACED_RATE: Final = 20  # messages/s to 1,000 members: a fifth to a third of what either can do


def workloads(idle: int) -> dict[str, Workload]:
    """Every workload by key, in the order they run on a fresh server (idle memory first)."""
    echo = ("--path", "/ws", "--size", "32")
    return {
        "idle": Workload(
            f"handshakes/s, opening {idle:,}",
            "idle",
            ("--connections", str(idle)),
            "handshakes_per_s",
            "handshakes/s",
            timed=False,
        ),
        "echo_c16": Workload(
            "echo 32 B, 16 conns", "echo", (*echo, "--connections", "16"), "msgs_per_s", "msg/s"
        ),
        "echo_c256": Workload(
            "echo 32 B, 256 conns", "echo", (*echo, "--connections", "256"), "msgs_per_s", "msg/s"
        ),
        "json_c16": Workload(
            "JSON 226 B, 16 conns",
            "echo",
            ("--path", "/json", "--json", "--connections", "16"),
            "msgs_per_s",
            "msg/s",
        ),
        "bin64k_c4": Workload(
            "binary 64 KiB, 4 conns",
            "echo",
            ("--path", "/ws", "--binary", "--size", "65536", "--connections", "4"),
            "mb_per_s",
            "MB/s",
        ),
        "fanout_n100": Workload(
            "fan-out 32 B to 100",
            "fanout",
            ("--path", "/bcast", "--receivers", "100"),
            "deliveries_per_s",
            "deliveries/s",
        ),
        "fanout_n1000": Workload(
            "fan-out 32 B to 1,000",
            "fanout",
            ("--path", "/bcast", "--receivers", "1000"),
            "deliveries_per_s",
            "deliveries/s",
        ),
        "fanout_n1000_stalled": Workload(
            "fan-out to 1,000 + 1 that never reads",
            "fanout",
            ("--path", "/bcast", "--receivers", "1000", "--stalled", "1"),
            "deliveries_per_s",
            "deliveries/s",
            # a stalled member's socket buffers hold some 700 of these messages: it bites
            # only after that many broadcasts, some 10-25 s at these rates
            seconds=30.0,
            default=False,
        ),
        "fanout_n1000_redis": Workload(
            "fan-out 32 B to 1,000, one process or two on Redis",
            "fanout",
            # the window of 8, then (on the same connections) 4 s at a fixed rate: the latency
            # of a fan-out that does not queue
            (
                *("--path", "/bcast", "--receivers", "1000"),
                *("--paced-rate", str(PACED_RATE), "--paced-seconds", "4"),
            ),
            "deliveries_per_s",
            "deliveries/s",
            servers=(FASTRAPI, "fastrapi_redis"),
        ),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pinned(cpu: int, argv: list[str]) -> list[str]:
    """``argv`` under ``taskset -c cpu`` where the machine has a core for each side."""
    if len(os.sched_getaffinity(0)) > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *argv]
    return argv


def start(
    server: Server, port: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``server`` on ``port`` under ``taskset -c 0``, once it accepts connections."""
    command = [sys.executable, str(HERE / server.script), str(port), *server.args]
    return spawn(server.label, command, port, log, env)


def spawn(
    label: str, command: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``command`` under ``taskset -c 0``, once it accepts connections on ``port``."""
    with log.open("ab") as sink:
        process = subprocess.Popen(pinned(0, command), cwd=ROOT, stdout=sink, stderr=sink, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{label} exited with {process.returncode}; see {log.name}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{label} did not accept connections within 20 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Running:
    """A server under test: its processes (the Redis pair's two servers, then redis-server)
    and its ports (the sender's first; fan-out receivers spread over all of them)."""

    processes: tuple[subprocess.Popen[bytes], ...]
    ports: tuple[int, ...]

    def exited(self) -> int | None:
        """The exit status of a process that ended, if one did."""
        return next((p.returncode for p in self.processes if p.poll() is not None), None)

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


def launch(server: Server, log: Path) -> Running:
    """``server`` on a free port; the Redis pair: a ``redis-server`` (no persistence), then two
    processes of the script on it, each on a port of its own."""
    if not server.redis:
        port = free_port()
        return Running((start(server, port, log),), (port,))
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is missing: bash tests/redis/install.sh")
    redis_port = free_port()  # each port is bound before the next is chosen: all differ
    command = [executable, "--port", str(redis_port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", tempfile.gettempdir()]
    redis = spawn("redis-server", command, redis_port, log)
    env = {**os.environ, "FASTRAPI_HUB_URL": f"redis://127.0.0.1:{redis_port}/0"}
    servers: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for _ in range(2):
            ports.append(free_port())
            servers.append(start(server, ports[-1], log, env))
    except RuntimeError:
        Running((*servers, redis), ()).stop()
        raise
    return Running((*servers, redis), tuple(ports))


def drive(workload: Workload, running: Running, seconds: float) -> dict[str, object]:
    """Run the load client once against ``running``."""
    timing = ("--seconds", str(workload.seconds or seconds)) if workload.timed else ()
    pids = ",".join(str(process.pid) for process in running.processes)
    command = [sys.executable, str(LOADGEN), workload.mode, str(running.ports[0]), pids]
    if workload.mode == "fanout" and len(running.ports) > 1:
        command += ["--receiver-ports", ",".join(map(str, running.ports))]
    try:
        done = subprocess.run(
            pinned(1, [*command, *workload.args, *timing]),
            capture_output=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "the load client did not finish within 180 s"}
    try:
        result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"load client failed: {done.stderr.decode()[-300:]}"}
    return result


DISTURBED: Final = 0.2  # cores used by the rest of the machine during a measured window
RETRIES: Final = 2
budget = [240.0]  # seconds a whole run may spend waiting for quiet and measuring again


def undisturbed(workload: Workload, running: Running, seconds: float) -> dict[str, object]:
    """``drive``, again (after waiting for quiet) while something else on this shared machine
    took more than ``DISTURBED`` of a core during a measured window; the least disturbed run is
    kept, marked ``disturbed`` if even that one was."""
    runs = [drive(workload, running, seconds)]
    while len(runs) <= RETRIES and budget[0] > 0 and disturbance(runs[-1]) > DISTURBED:
        began = time.monotonic()
        wait_for_quiet(10)
        runs.append(drive(workload, running, seconds))
        budget[0] -= time.monotonic() - began
    best = min(runs, key=lambda r: disturbance(r) if "error" not in r else math.inf)
    best["disturbed"] = disturbance(best) > DISTURBED
    best["tries"] = len(runs)
    return best


def disturbance(result: dict[str, object]) -> float:
    """The most of a core the rest of the machine used in one of the result's windows."""
    windows = [num(result, key) for key in ("other_core", "paced_other_core")]
    return max((w for w in windows if not math.isnan(w)), default=math.nan)


def wait_for_quiet(longest: float) -> None:
    """Until the machine's other load is below ``DISTURBED`` over half a second."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(0.5)
        if (machine_busy_seconds() - before) / 0.5 < DISTURBED:
            return


def measure(
    server: Server, chosen: dict[str, Workload], seconds: float, log: Path
) -> dict[str, dict[str, object]]:
    """Every workload of ``chosen`` once, on fresh processes of ``server``."""
    running = launch(server, log)
    results: dict[str, dict[str, object]] = {}
    try:
        for port in running.ports:  # warm-up, not recorded
            drive(workloads(0)["echo_c16"], replace(running, ports=(port,)), 0.5)
        for key, workload in chosen.items():
            results[key] = undisturbed(workload, running, seconds)
            if (status := running.exited()) is not None:
                results[key] = {"error": f"the server exited ({status})"}
                break
            time.sleep(0.3)  # closes settle before the next workload
    finally:
        running.stop()
    return results


def num(result: dict[str, object], key: str) -> float:
    """A numeric field of a result (NaN where it is missing)."""
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else math.nan


def median_of(rounds: list[dict[str, object]]) -> dict[str, object]:
    """Each numeric field's median over the rounds that did not fail, and how many did."""
    good = [r for r in rounds if "error" not in r]
    merged: dict[str, object] = {"rounds_ok": len(good), "rounds": len(rounds)}
    if not good:
        merged["error"] = rounds[0].get("error", "no round") if rounds else "no round"
        return merged
    for key, value in good[0].items():
        if key == "disturbed":
            merged[key] = sum(bool(r.get(key)) for r in good)  # how many rounds were
        elif isinstance(value, bool):
            merged[key] = all(r.get(key) for r in good)
        elif isinstance(value, int | float):
            merged[key] = round(statistics.median(num(r, key) for r in good), 3)
    return merged


def short(value: float) -> str:
    """A figure the way the tables print it: 17.4k, 1013, 27.6."""
    if value >= 10_000:
        return f"{value / 1000:.1f}k"
    if value >= 1000:
        return f"{value:.0f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


@dataclass(frozen=True)
class Row:
    label: str
    workload: str
    metric: str
    lower_is_better: bool = False
    cost: bool = True  # show the server's CPU per message beside the figure


def rows(chosen: dict[str, Workload], idle: int) -> list[Row]:
    out = []
    for key, w in chosen.items():
        if key == "idle":
            out.append(Row(w.label, key, "handshakes_per_s", cost=False))
            out.append(
                Row(f"KiB per idle connection at {idle:,}", key, "kib_per_conn", True, False)
            )
        else:
            out.append(Row(f"{w.label}, {w.unit}", key, w.metric))
            if key == "fanout_n1000_stalled":
                out.append(
                    Row(
                        "  server memory growth meanwhile, KiB",
                        key,
                        "server_rss_growth_kib",
                        lower_is_better=True,
                        cost=False,
                    )
                )
    return out


def cell(result: dict[str, object] | None, row: Row) -> str:
    if result is None:
        return "-"
    if "error" in result:
        return "failed"
    value = result.get(row.metric)
    if not isinstance(value, int | float):
        return "-"
    text = short(float(value))
    cost = result.get("server_cpu_us_per_msg")
    if row.cost and isinstance(cost, int | float):
        text += f" ({short(float(cost))} us)"
    checks = (result.get("exact"), result.get("paced_exact"))
    if False in checks or result.get("bad") or result.get("dropped"):
        text += " !"
    text += " ~" * int(num(result, "disturbed") or 0)
    if result["rounds_ok"] != result["rounds"]:
        text += f" ({result['rounds_ok']}/{result['rounds']})"
    return text


def ratio(mine: dict[str, object] | None, theirs: dict[str, object] | None, row: Row) -> str:
    if not mine or not theirs or "error" in mine or "error" in theirs:
        return "-"
    a, b = mine.get(row.metric), theirs.get(row.metric)
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "-"
    return f"{a / b:.2f}x"


Medians = dict[str, dict[str, dict[str, object]]]  # server -> workload -> median figures


def markdown(medians: Medians, chosen: dict[str, Workload], meta: dict[str, object]) -> str:
    servers = list(medians)
    idle = int(str(meta["idle_connections"]))
    table_rows = rows(chosen, idle)
    head = "| workload | " + " | ".join(SERVERS[s].label for s in servers) + " |"
    rule = "|---|" + "---:|" * len(servers)
    lines = [
        "# Benchmark results",
        "",
        f"Run {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']};"
        f" {meta['seconds']} s measured per point after {meta['warmup']} s of warm-up, the"
        f" median of {meta['rounds']} interleaved rounds (the order of the servers rotates every"
        " round). Servers under `taskset -c 0`, the load client (picows"
        f" {meta['versions']['picows']} on uvloop, `benchmarks/loadgen.py`) under"  # type: ignore[index]
        f" `taskset -c 1`. Reproduce: `nox -s bench{meta.get('args', '')}`.",
        "",
        f"fastrapi's `/bcast`: {meta['fastrapi_bcast']}.",
        "",
        "Each cell is the median; `(N us)` is the server's CPU time per message (per delivery for"
        " fan-out), read from /proc over the measured window. `!` marks a median over a round"
        " where something was off (a wrong echo, a receiver that missed a message or got one"
        " twice or out of order, a dropped connection); `(k/n)` says only k of n rounds ran;"
        f" each `~` is a round in which the rest of this shared machine used more than {DISTURBED}"
        " of a core even after waiting for quiet and measuring again (the CPU per message is"
        " the steadier figure then).",
        "",
        head,
        rule,
    ]
    for row in table_rows:
        cells = [cell(medians[s].get(row.workload), row) for s in servers]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    if FASTRAPI in medians:
        peers = [s for s in servers if s != FASTRAPI]
        lines += [
            "",
            "## fastrapi (ws auto) against each peer, same run",
            "",
            "fastrapi's median over the peer's (for memory, lower is better).",
            "",
            "| workload | " + " | ".join(SERVERS[s].label for s in peers) + " |",
            "|---|" + "---:|" * len(peers),
        ]
        for row in table_rows:
            mine = medians[FASTRAPI].get(row.workload)
            cells = [ratio(mine, medians[s].get(row.workload), row) for s in peers]
            lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "## CPU per message: each peer's over fastrapi's, same run",
            "",
            "The steadier comparison when other work on the machine took part of a server's"
            " core: higher means fastrapi spends less CPU per message (per delivery) than that"
            " peer. 0.50x: fastrapi pays twice the peer's CPU per message.",
            "",
            "| workload | " + " | ".join(SERVERS[s].label for s in peers) + " |",
            "|---|" + "---:|" * len(peers),
        ]
        for row in table_rows:
            if not row.cost:
                continue
            mine = medians[FASTRAPI].get(row.workload)
            cost = Row(row.label, row.workload, "server_cpu_us_per_msg")
            cells = [ratio(medians[s].get(row.workload), mine, cost) for s in peers]
            lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    echoes = [(key, w) for key, w in chosen.items() if w.mode == "echo"]
    if echoes:
        lines += [
            "",
            "## Latency, microseconds (p50 / p99)",
            "",
            "| workload | " + " | ".join(SERVERS[s].label for s in servers) + " |",
            rule,
        ]
    for key, w in echoes:
        cells = []
        for s in servers:
            r = medians[s].get(key)
            ok = r and "error" not in r
            cells.append(
                f"{short(num(r, 'p50_us'))} / {short(num(r, 'p99_us'))}" if r and ok else "-"
            )
        lines.append(f"| {w.label} | " + " | ".join(cells) + " |")
    if "fanout_n1000_redis" in chosen:
        lines += hub_across_processes(medians, meta)
    lines += [
        "",
        "## The load client's cost against the server's",
        "",
        "Client CPU per message (all / user space alone) and server CPU per message, in"
        " microseconds, and the server's share of its core: a server near 1.00 is the limit,"
        " as intended; *other* is what the rest of the machine used meanwhile."
        " The client's kernel time (loopback TCP: a send and a receive per message"
        " per connection) is what any client pays, a C one included (`benchmarks/README.md`"
        " compares); its user-space time is picows' and this client's own work.",
        "",
        "| workload | server | client us/msg (user) | server us/msg | client / server |"
        " server core | other |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, w in chosen.items():
        for s in servers:
            r = medians[s].get(key)
            if not r or "error" in r:
                continue
            c, u, v = (
                num(r, k)
                for k in (
                    "client_cpu_us_per_msg",
                    "client_user_us_per_msg",
                    "server_cpu_us_per_msg",
                )
            )
            lines.append(
                f"| {w.label} | {SERVERS[s].label} | {c:.1f} ({u:.1f}) | {v:.1f}"
                f" | {c / v:.2f} | {num(r, 'server_core'):.2f} | {num(r, 'other_core'):.2f} |"
            )
    return "\n".join(lines) + "\n"


def ms(result: dict[str, object], key: str) -> str:
    """A figure in microseconds, in milliseconds."""
    return f"{num(result, key) / 1000:.1f}"


def hub_across_processes(medians: Medians, meta: dict[str, object]) -> list[str]:
    """The section on ``fanout_n1000_redis``: one process against two on Redis."""
    redis = meta.get("redis_server", "?")
    coredis = meta["versions"]["coredis"]  # type: ignore[index]
    lines = [
        "",
        "## The Hub across processes: fan-out to 1,000 through Redis",
        "",
        "`fanout_n1000_redis`: 1,000 members of `/bcast` and one sender. *One process*: all on"
        " `fastrapi` (the memory Hub). *Two processes*: `fastrapi_redis`, 500 members on each"
        f" of two processes whose Hub is on one redis-server ({redis}, no persistence; coredis"
        f" {coredis}), the sender on the first. Every server process, Redis included, runs"
        " under `taskset -c 0`: the server side has one core either way. First the window of 8"
        " messages (throughput), then, on the same connections, 4 s at"
        f" {PACED_RATE} messages/s ({PACED_RATE * 1000:,} deliveries/s) on a fixed schedule: the"
        " latency of a fan-out that does not queue. Latency: from the client's send of a"
        " message to its arrival at a member, p50 / p99 over every delivery, in ms. CPU per"
        " delivery is the server side's (every process) over all 1,000 members' deliveries,"
        " split into the sender's process, the other one and Redis.",
        "",
        "| | deliveries/s | server CPU us/delivery (sender's + other + Redis) | p50 / p99 ms"
        f" | at {PACED_RATE}/s: p50 / p99 ms | at {PACED_RATE}/s: CPU us/delivery | server core"
        " | client core |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        FASTRAPI: "one process, memory Hub",
        "fastrapi_redis": "two processes through Redis (500 + 500)",
    }
    for server, name in names.items():
        r = medians.get(server, {}).get("fanout_n1000_redis")
        if not r or "error" in r:
            continue
        split = ""
        if SERVERS[server].redis:
            parts = (num(r, f"server{i}_cpu_us_per_msg") for i in range(3))
            split = " (" + " + ".join(f"{part:.1f}" for part in parts) + ")"
        lines.append(
            f"| {name} | {cell(r, Row('', 'fanout_n1000_redis', 'deliveries_per_s', cost=False))}"
            f" | {num(r, 'server_cpu_us_per_msg'):.1f}{split}"
            f" | {ms(r, 'p50_us')} / {ms(r, 'p99_us')}"
            f" | {ms(r, 'paced_p50_us')} / {ms(r, 'paced_p99_us')}"
            f" | {num(r, 'paced_server_cpu_us_per_msg'):.1f}"
            f" | {num(r, 'server_core'):.2f} | {num(r, 'client_core'):.2f} |"
        )
    return lines


def rst_table(medians: Medians, chosen: dict[str, Workload], meta: dict[str, object]) -> str:
    """The main table as a reStructuredText list-table, for the docs."""
    servers = list(medians)
    out = [
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python"
        f" {meta['python']}, the median of {meta['rounds']} interleaved rounds; in brackets the"
        " server's CPU time per message; each ``~`` is a round in which other work on the"
        " machine took more than a fifth of a core, ``!`` a round where a check failed."
        f" fastrapi's ``/bcast``: {str(meta['fastrapi_bcast']).replace('`', '``')}.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - workload",
        *(f"     - {SERVERS[s].label}" for s in servers),
    ]
    for row in rows(chosen, int(str(meta["idle_connections"]))):
        out.append(f"   * - {row.label.strip()}")
        out += [f"     - {cell(medians[s].get(row.workload), row)}" for s in servers]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 1 s per point, 1,000 idle")
    parser.add_argument("--servers", help=f"comma-separated, of: {', '.join(SERVERS)}")
    parser.add_argument("--workloads", help="comma-separated, of: " + ", ".join(workloads(0)))
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--seconds", type=float, help="measured seconds per point (default 2)")
    parser.add_argument("--out", type=Path, help="where to write (default benchmarks/results)")
    parser.add_argument(
        "--report", type=Path, help="only write the tables again from this results.json"
    )
    args = parser.parse_args()
    if args.report:
        rewrite(args.report, args.out)
        return
    seconds = args.seconds or (1.0 if args.quick else 2.0)
    rounds = args.rounds or (1 if args.quick else 3)
    idle = 1000 if args.quick else 5000
    out: Path = args.out or (HERE / "results" / "quick" if args.quick else HERE / "results")
    keys = args.servers.split(",") if args.servers else [k for k, s in SERVERS.items() if s.default]
    every = workloads(idle)
    picked = args.workloads.split(",") if args.workloads else [k for k in every if every[k].default]
    chosen = {k: every[k] for k in picked}
    unknown = [k for k in keys if k not in SERVERS]
    if unknown:
        parser.error(f"unknown servers: {unknown}")
    plans = {k: {w: wl for w, wl in chosen.items() if wl.runs_on(k)} for k in keys}
    keys = [k for k in keys if plans[k]]
    if not keys:
        parser.error("none of the chosen workloads runs on the chosen servers")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * idle)), hard))
    out.mkdir(parents=True, exist_ok=True)
    log = out / "servers.log"
    log.write_text("")
    raw: dict[str, list[dict[str, dict[str, object]]]] = {k: [] for k in keys}
    began = time.monotonic()
    for round_ in range(rounds):
        order = keys[round_ % len(keys) :] + keys[: round_ % len(keys)]
        for key in order:
            print(f"round {round_ + 1}/{rounds}: {SERVERS[key].label} ...", flush=True)
            try:
                raw[key].append(measure(SERVERS[key], plans[key], seconds, log))
            except (OSError, RuntimeError) as exc:
                raw[key].append({w: {"error": str(exc)[:300]} for w in plans[key]})
            for w, r in raw[key][-1].items():
                figure = r.get(chosen[w].metric, r.get("error"))
                print(f"  {w}: {figure}", flush=True)
    medians: Medians = {
        k: {w: median_of([r.get(w, {"error": "not run"}) for r in raw[k]]) for w in plans[k]}
        for k in keys
    }
    meta: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": seconds,
        "warmup": 0.3,
        "rounds": rounds,
        "idle_connections": idle,
        "wall_seconds": round(time.monotonic() - began),
        "args": " -- " + " ".join(sys.argv[1:]) if sys.argv[1:] else "",
        "fastrapi_bcast": "`fastrapi.Hub` (`hub.join` and `hub.publish`)",
        "versions": {
            name: version(name)
            for name in (
                "fastrapi-trio",
                "picows",
                "uvloop",
                "trio",
                "websockets",
                "wsproto",
                "uvicorn",
                "starlette",
                "hypercorn",
                "trio-websocket",
                "orjson",
                "coredis",
            )
        },
    }
    redis = shutil.which("redis-server")
    if redis and any(SERVERS[k].redis for k in keys):
        answer = subprocess.run([redis, "--version"], capture_output=True, text=True, check=False)
        meta["redis_server"] = answer.stdout.split()[2].removeprefix("v=")  # "Redis server v=7.."
    write(out, medians, chosen, meta, raw)


def rewrite(results: Path, out: Path | None) -> None:
    """The tables again from a ``results.json`` (after a change to how they are drawn)."""
    data = json.loads(results.read_text())
    every = workloads(data["meta"]["idle_connections"])
    chosen = {k: w for k, w in every.items() if any(k in m for m in data["medians"].values())}
    write(out or results.parent, data["medians"], chosen, data["meta"], data["rounds"])


def write(
    out: Path,
    medians: Medians,
    chosen: dict[str, Workload],
    meta: dict[str, object],
    raw: object,
) -> None:
    """results.json (with every round), README.md and table.rst into ``out``."""
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "medians": medians, "rounds": raw}, indent=1)
    )
    (out / "README.md").write_text(markdown(medians, chosen, meta))
    (out / "table.rst").write_text(rst_table(medians, chosen, meta))
    print((out / "README.md").read_text())


if __name__ == "__main__":
    main()
