"""Where fastrapi's CPU per message and memory per idle connection go, against the one-task floor.

    python benchmarks/profile_echo.py [--seconds 5] [--idle 1000]

For fastrapi (ws auto) and the one-task trio + websockets loop, each in a process of its own
pinned to CPU 0 and driven by ``loadgen.py`` on CPU 1: cProfile over an echo window at 16
connections, self time grouped by part (task steps, channels, ``statistics()``, ``poll()``,
codec, sockets, fastrapi's layers) per message, with the calls per message that say why; then
tracemalloc with ``--idle`` connections open, the Python memory they hold grouped by file, per
connection. The profiler slows everything down about twofold, so read its microseconds as
shares, and the benchmark's CPU per message as the truth.

The messages are the echoes the load client counted: it starts and stops the profile itself
(``--mark``: SIGUSR1 to the server at the two ends of its measured window), so what is divided
does not depend on which functions a server happens to call per message.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import runpy
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Final

from run import Server, free_port, pinned, start, stop

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    Test = Callable[[str, str], bool]  # on a profiled function's file and name

HERE: Final = Path(__file__).parent
SERVERS: Final = {"fastrapi": "fastrapi_app.py", "floor": "trio_websockets_loop.py"}
WAIT: Final = "waiting in epoll (idle, not counted)"
OS_IO: Final = ("<built-in method posix.write>", "<built-in method posix.read>")  # on the socket

# (part, test on "file:function") in order: the first that matches takes the function.
PARTS: Final[list[tuple[str, Test]]] = [
    ("statistics() objects", lambda f, n: n == "statistics" or "_statistics" in n),
    ("poll() per send", lambda f, n: n == "<method 'poll' of 'select.poll' objects>"),
    (
        "epoll registration (epoll_ctl)",
        lambda f, n: n == "<method 'modify' of 'select.epoll' objects>",
    ),
    ("locks", lambda f, n: "trio/_sync.py" in f),
    ("outcome and attrs objects", lambda f, n: "outcome/" in f or "attrs generated" in f),
    ("trio channels", lambda f, n: "trio/_channel.py" in f),
    ("trio task steps (run loop, traps, scheduling)", lambda f, n: "trio/_core/" in f),
    ("trio sockets and streams", lambda f, n: "trio/_socket.py" in f or "trio/_highlevel" in f),
    (WAIT, lambda f, n: n == "<method 'poll' of 'select.epoll' objects>"),
    (
        "socket send and recv calls (or os.write and os.read)",
        lambda f, n: "of '_socket.socket' objects" in n or n in OS_IO,
    ),
    ("codec (websockets sans-I/O)", lambda f, n: "websockets/" in f),
    ("fastrapi pump (_pump.py)", lambda f, n: "fastrapi/_pump.py" in f),
    ("fastrapi server (codec glue, stream)", lambda f, n: "fastrapi/server/" in f),
    ("fastrapi WebSocket API, state checks", lambda f, n: "fastrapi/" in f),
    ("the handler / the floor's loop", lambda f, n: "benchmarks/servers/" in f),
    ("h11", lambda f, n: "h11/" in f),
]
COUNTED: Final[dict[str, Test]] = {  # calls per message that explain the parts
    "task steps (Context.run)": lambda f, n: (
        n == "<method 'run' of '_contextvars.Context' objects>"
    ),
    "channel send/receive": lambda f, n: (
        "trio/_channel.py" in f and n in ("send", "receive", "send_nowait", "receive_nowait")
    ),
    "statistics() calls": lambda f, n: n == "statistics",
    "poll() calls": lambda f, n: n == "<method 'poll' of 'select.poll' objects>",
    "epoll_ctl (modify) calls": lambda f, n: n == "<method 'modify' of 'select.epoll' objects>",
    "recv / os.read calls (one that finds nothing is a wasted syscall)": lambda f, n: (
        n in ("<method 'recv' of '_socket.socket' objects>", "<built-in method posix.read>")
    ),
    "send / os.write calls": lambda f, n: (
        n in ("<method 'send' of '_socket.socket' objects>", "<built-in method posix.write>")
    ),
    "lock acquire/release": lambda f, n: (
        "trio/_sync.py" in f and n in ("acquire_nowait", "release", "acquire")
    ),
    "checkpoints": lambda f, n: n in ("checkpoint", "checkpoint_if_cancelled"),
}


def serve_profiled(script: str, port: int, out: str) -> None:
    """The server in this process: SIGUSR1 starts the profile (and a memory snapshot), the
    second SIGUSR1 writes both to ``out``.prof / ``out``.mem, then ``out``.done."""
    profiler = cProfile.Profile()
    marks: list[tracemalloc.Snapshot] = []

    def toggle(signum: int, frame: FrameType | None) -> None:
        if not marks:
            marks.append(tracemalloc.take_snapshot())
            profiler.enable()
            return
        profiler.disable()
        profiler.dump_stats(f"{out}.prof")
        tracemalloc.take_snapshot().dump(f"{out}.mem.after")
        marks[0].dump(f"{out}.mem.before")
        Path(f"{out}.done").touch()  # last: the files above are whole

    tracemalloc.start()
    signal.signal(signal.SIGUSR1, toggle)
    sys.argv = [script, str(port)]
    runpy.run_path(str(HERE / "servers" / script), run_name="__main__")


def loadgen(*args: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(HERE / "loadgen.py"), *args]
    return subprocess.Popen(pinned(1, command), stdout=subprocess.PIPE)


def profile(name: str, seconds: float, idle: int, out: Path) -> None:
    port = free_port()
    base = out / name
    server = start_profiled(name, port, base)
    try:  # the client marks the profiled window (--mark) and counts the echoes in it
        client = loadgen("echo", str(port), str(server.pid), "--seconds", str(seconds), "--mark")
        result = json.loads(finish(client, seconds + 60))
        if "error" in result or not result["msgs"] or result["bad"]:
            raise RuntimeError(f"{name}: the echo run failed: {result}")
        wait_for_dump(base)
    finally:
        stop(server)
    (out / f"{name}.echo.json").write_text(json.dumps(result))
    port = free_port()
    server = start_profiled(name, port, Path(f"{base}-idle"))
    try:
        time.sleep(0.5)
        server.send_signal(signal.SIGUSR1)
        client = loadgen(
            "idle", str(port), str(server.pid), "--connections", str(idle), "--hold", "3"
        )
        assert client.stdout is not None
        client.stdout.readline()  # "open": all of them are
        time.sleep(1)
        server.send_signal(signal.SIGUSR1)
        finish(client, 120)
        wait_for_dump(Path(f"{base}-idle"))
    finally:
        stop(server)


def finish(client: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The rest of ``client``'s output once it ends (killed after ``timeout`` seconds)."""
    try:
        return client.communicate(timeout=timeout)[0]
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def wait_for_dump(base: Path) -> None:
    """Until the server has written the profile and snapshots the second SIGUSR1 asked for."""
    done = Path(f"{base}.done")
    deadline = time.monotonic() + 60
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {done.name} after 60 s: see {base.name}.log")
        time.sleep(0.1)


def start_profiled(name: str, port: int, base: Path) -> subprocess.Popen[bytes]:
    """Start ``name`` under this script's ``--serve`` mode, as ``run.start`` starts a server."""
    server = Server(name, "profile_echo.py", ("--serve", SERVERS[name], str(base)))
    Path(f"{base}.done").unlink(missing_ok=True)  # a previous run's
    return start(server, port, base.with_suffix(".log"))


def part_of(file: str, function: str) -> str:
    for part, test in PARTS:
        if test(file, function):
            return part
    return "other"


def report(out: Path, idle: int) -> str:
    lines = []
    per_part: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    for name in SERVERS:
        stats = pstats.Stats(str(out / f"{name}.prof"))
        table = stats.stats  # type: ignore[attr-defined]  # pstats keeps it untyped
        echo = json.loads((out / f"{name}.echo.json").read_text())
        messages = echo["msgs"]  # the echoes the client counted in the profiled window
        cpu[name] = echo["server_cpu_us_per_msg"]
        per_part[name] = {}
        counts[name] = {}
        for (file, _, function), (_, ncalls, tottime, _, _) in table.items():
            part = part_of(file, function)
            per_part[name][part] = per_part[name].get(part, 0.0) + tottime * 1e6 / messages
            for label, test in COUNTED.items():
                if test(file, function):
                    counts[name][label] = counts[name].get(label, 0.0) + ncalls / messages
        counts[name]["messages profiled"] = messages
    lines += [
        "| part (self time, us per message under cProfile) | fastrapi | floor | above the floor |",
        "|---|---:|---:|---:|",
    ]
    parts = sorted(per_part["fastrapi"], key=lambda p: -per_part["fastrapi"][p])
    for part in parts:
        mine, floor = per_part["fastrapi"][part], per_part["floor"].get(part, 0.0)
        lines.append(f"| {part} | {mine:.1f} | {floor:.1f} | {mine - floor:+.1f} |")
    total = (
        sum(v for p, v in per_part["fastrapi"].items() if p != WAIT),
        sum(v for p, v in per_part["floor"].items() if p != WAIT),
    )
    lines.append(f"| total | {total[0]:.1f} | {total[1]:.1f} | {total[0] - total[1]:+.1f} |")
    mine, floor = cpu["fastrapi"], cpu["floor"]  # the client's reading: a check on the total
    label = "server CPU time (/proc), under the profiler"
    lines.append(f"| {label} | {mine:.1f} | {floor:.1f} | {mine - floor:+.1f} |")
    lines += ["", "| calls per message | fastrapi | floor |", "|---|---:|---:|"]
    for label in [*COUNTED, "messages profiled"]:
        lines.append(
            f"| {label} | {counts['fastrapi'].get(label, 0):.2f} "
            f"| {counts['floor'].get(label, 0):.2f} |"
        )
    lines += [
        "",
        f"| Python memory per idle connection ({idle} open), by file | fastrapi | floor |",
    ]
    lines.append("|---|---:|---:|")
    by_file: dict[str, dict[str, float]] = {}
    for name in SERVERS:
        before = tracemalloc.Snapshot.load(str(out / f"{name}-idle.mem.before"))
        after = tracemalloc.Snapshot.load(str(out / f"{name}-idle.mem.after"))
        for stat in after.compare_to(before, "filename"):
            file = short_file(stat.traceback[0].filename)
            by_file.setdefault(file, {})[name] = (
                by_file.get(file, {}).get(name, 0.0) + stat.size_diff / idle / 1024
            )
    ranked = sorted(by_file, key=lambda f: -abs(by_file[f].get("fastrapi", 0.0)))
    shown = [f for f in ranked if max(abs(v) for v in by_file[f].values()) >= 0.05]
    for file in shown:
        row = by_file[file]
        lines.append(f"| {file} | {row.get('fastrapi', 0):.2f} | {row.get('floor', 0):.2f} |")
    sums = [sum(by_file[f].get(n, 0.0) for f in by_file) for n in SERVERS]
    lines.append(f"| total (KiB) | {sums[0]:.2f} | {sums[1]:.2f} |")
    return "\n".join(lines) + "\n"


def short_file(path: str) -> str:
    """A file's path from its package down (``trio/_core/_run.py``)."""
    for marker in ("site-packages/", "lib/python3.11/", f"{HERE.parent}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "profile")
    parser.add_argument("--report-only", action="store_true", help="from the last run's files")
    parser.add_argument("port", nargs="?", type=int, help="with --serve: the port to serve")
    parser.add_argument("--serve", nargs=2, metavar=("SCRIPT", "OUT"), help="the server side")
    args = parser.parse_args()
    if args.serve:
        serve_profiled(args.serve[0], args.port, args.serve[1])
        return
    args.out.mkdir(parents=True, exist_ok=True)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {1})
    for name in SERVERS if not args.report_only else ():
        profile(name, args.seconds, args.idle, args.out)
    text = report(args.out, args.idle)
    (args.out / "breakdown.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
