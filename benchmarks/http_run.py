"""Run the HTTP benchmarks (wrk) against fastrapi and its peers, in one run; write the results.

    python benchmarks/http_run.py [--servers a,b] [--routes x,y] [--connections 64,256]
                                  [--rounds N] [--seconds S] [--out DIR]

Every server runs alone under ``taskset -c 0``, ``wrk -t1`` under ``taskset -c 1`` (keep-alive,
``--latency``). Each round starts every server afresh, warms it up, and runs every route at
every connection count on it; rounds rotate the order of the servers, each figure is the median
of its rounds. The server's CPU time (every thread) is read from ``/proc/PID/stat`` at both ends
of each wrk run, so every point has the server's CPU per request beside its requests/s. Writes
``results.json`` (every round), ``README.md`` and ``table.rst`` into ``benchmarks/results/http/``.

FastrAPI (PyPI's ``fastrapi``, the Rust-powered framework) imports as ``fastrapi`` too, so it runs
from a virtualenv of its own, made on first use in ``~/.cache/fastrapi-bench/`` (``--rust-venv``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from run import free_port, pinned, spawn, stop

HERE: Final = Path(__file__).parent
FASTRAPI: Final = "fastrapi"
RUST_VERSION: Final = "0.2.11"
USER_BODY: Final = (
    '{"name":"Ada Lovelace","email":"ada@example.com","age":36,'
    '"tags":["math","poetry","engines"],"bio":"' + "x" * 98 + '"}'
)  # 200 bytes


@dataclass(frozen=True)
class Server:
    label: str
    script: str  # in benchmarks/servers/, run as ``python SCRIPT PORT *ARGS``
    args: tuple[str, ...] = ()
    rust: bool = False  # run by the FastrAPI (Rust) virtualenv's python


SERVERS: Final = {
    "fastrapi": Server("fastrapi (httptools)", "http_fastrapi.py"),
    "fastrapi_h11": Server("fastrapi (h11)", "http_fastrapi.py", ("h11",)),
    "fastapi_uvicorn": Server("FastAPI + uvicorn", "http_fastapi.py"),
    "starlette_uvicorn": Server("Starlette + uvicorn", "http_starlette.py"),
    "litestar_uvicorn": Server("Litestar + uvicorn", "http_litestar.py"),
    "fastrapi_rust": Server(f"FastrAPI {RUST_VERSION} (Rust)", "http_fastrapi_rust.py", rust=True),
}
ROUTES: Final = {
    "plain": ("GET /plain", "/plain"),
    "json": ("GET /json", "/json"),
    "items": ("GET /items/{id:int}?q=", "/items/42?q=hello"),
    "users": ("POST /users (200 B, pydantic)", "/users"),
    "sync": ("GET /sync (a plain def)", "/sync"),
}


def rust_python(venv: Path) -> str:
    """The FastrAPI (Rust) virtualenv's python, made (with pip) if missing."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        packages = [f"fastrapi=={RUST_VERSION}", "pydantic"]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return str(python)


def cpu_seconds(pid: int) -> float:
    """The user and system time of process ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_UNITS: Final = {"us": 1.0, "ms": 1e3, "s": 1e6}


def micros(text: str) -> float:
    """wrk's ``1.23ms`` in microseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, the request count, p50/p99 latency (us) and errors from wrk's report."""
    result: dict[str, float] = {}
    if found := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result["req_per_s"] = float(found[1])
    if found := re.search(r"(\d+) requests in", output):
        result["requests"] = float(found[1])
    for percent in ("50", "99"):
        if found := re.search(rf"^\s+{percent}%\s+(\S+)", output, re.MULTILINE):
            result[f"p{percent}_us"] = micros(found[1])
    errors = 0
    if found := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors = sum(int(n) for n in found.groups())
        result["timeouts"] = float(found[4])
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result["non_2xx"] = float(found[1])
    result["socket_errors"] = float(errors)
    return result


def wrk(port: int, route: str, connections: int, seconds: float, lua: Path) -> list[str]:
    path = ROUTES[route][1]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--latency"]
    if route == "users":
        command += ["-s", str(lua)]
    return pinned(1, [*command, f"http://127.0.0.1:{port}{path}"])


def point(
    pid: int, port: int, route: str, connections: int, seconds: float, lua: Path
) -> dict[str, float]:
    """One wrk run against the server ``pid``; its figures and the server's CPU per request."""
    before = cpu_seconds(pid)
    done = subprocess.run(
        wrk(port, route, connections, seconds, lua),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    used = cpu_seconds(pid) - before
    result = parse_wrk(done.stdout)
    if "requests" not in result:
        return {"error": 1.0}
    result["server_cpu_us_per_req"] = round(used * 1e6 / max(result["requests"], 1), 1)
    result["server_core"] = round(used / seconds, 2)
    return result


def measure(
    key: str,
    routes: list[str],
    counts: list[int],
    seconds: float,
    log: Path,
    lua: Path,
    rust: str,
) -> dict[str, dict[str, float]]:
    """Every route at every connection count once, on a fresh process of server ``key``."""
    server = SERVERS[key]
    python = rust if server.rust else sys.executable
    port = free_port()
    command = [python, str(HERE / "servers" / server.script), str(port), *server.args]
    process = spawn(server.label, command, port, log)
    results: dict[str, dict[str, float]] = {}
    try:
        point(process.pid, port, "json", 64, 1.0, lua)  # warm-up, not recorded
        for route in routes:
            for count in counts:
                results[f"{route}_c{count}"] = point(process.pid, port, route, count, seconds, lua)
                time.sleep(0.3)  # the closed connections settle
    finally:
        stop(process)
    return results


def median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    good = [r for r in rounds if "error" not in r]
    if not good:
        return {"error": 1.0}
    merged = {k: round(statistics.median(r.get(k, 0.0) for r in good), 1) for k in good[0]}
    merged["rounds_ok"] = float(len(good))
    return merged


Medians = dict[str, dict[str, dict[str, float]]]  # server -> point -> figures


def short(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def cell(result: dict[str, float] | None) -> str:
    if not result or "error" in result:
        return "failed" if result else "-"
    text = f"{short(result['req_per_s'])} ({short(result['server_cpu_us_per_req'])} us)"
    if result.get("socket_errors") or result.get("non_2xx"):
        text += " !"
    return text


def ratio(mine: dict[str, float] | None, theirs: dict[str, float] | None, key: str) -> str:
    if not mine or not theirs or "error" in mine or "error" in theirs or not theirs.get(key):
        return "-"
    return f"{mine[key] / theirs[key]:.2f}x"


def points(routes: list[str], counts: list[int]) -> list[tuple[str, str]]:
    return [
        (f"{route}_c{count}", f"{ROUTES[route][0]}, {count} conns")
        for count in counts
        for route in routes
    ]


def markdown(
    medians: Medians, routes: list[str], counts: list[int], meta: dict[str, object]
) -> str:
    servers = list(medians)
    head = "| route | " + " | ".join(SERVERS[s].label for s in servers) + " |"
    rule = "|---|" + "---:|" * len(servers)
    lines = [
        "# HTTP benchmark results",
        "",
        f"Run {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']};"
        f" `wrk -t1 -cN -d{meta['seconds']}s --latency` (keep-alive) after a 1 s warm-up, the"
        f" median of {meta['rounds']} interleaved rounds (the order of the servers rotates every"
        " round). Servers under `taskset -c 0`, wrk under `taskset -c 1`. Reproduce:"
        f" `nox -s bench -- --http{meta.get('args', '')}`.",
        "",
        "Each cell: requests/s and, in brackets, the server's CPU time per request (all its"
        " threads, from /proc over the run); `!` marks socket errors or non-2xx answers (see the"
        " last table). This machine is shared: other work can take part of the server's core,"
        " so the CPU per request is the steadier figure.",
        "",
        head,
        rule,
    ]
    for key, label in points(routes, counts):
        lines.append(
            f"| {label} | " + " | ".join(cell(medians[s].get(key)) for s in servers) + " |"
        )
    if FASTRAPI in medians:
        peers = [s for s in servers if s != FASTRAPI]
        for title, metric, mine_first in (
            ("requests/s, fastrapi's over the peer's", "req_per_s", True),
            (
                "CPU per request, the peer's over fastrapi's (higher: fastrapi spends less)",
                "server_cpu_us_per_req",
                False,
            ),
        ):
            lines += [
                "",
                f"## {title}",
                "",
                "| route | " + " | ".join(SERVERS[s].label for s in peers) + " |",
                "|---|" + "---:|" * len(peers),
            ]
            for key, label in points(routes, counts):
                mine = medians[FASTRAPI].get(key)
                cells = [
                    ratio(mine, medians[s].get(key), metric)
                    if mine_first
                    else ratio(medians[s].get(key), mine, metric)
                    for s in peers
                ]
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Latency, ms (p50 / p99)", "", head, rule]
    for key, label in points(routes, counts):
        cells = []
        for s in servers:
            r = medians[s].get(key)
            ok = r and "error" not in r
            cells.append(
                f"{r['p50_us'] / 1000:.1f} / {r['p99_us'] / 1000:.1f}" if r and ok else "-"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Errors (socket errors, of which timeouts; non-2xx answers)", "", head, rule]
    for key, label in points(routes, counts):
        cells = []
        for s in servers:
            r = medians[s].get(key)
            ok = r and "error" not in r
            cells.append(
                f"{r['socket_errors']:.0f} ({r.get('timeouts', 0):.0f}); {r.get('non_2xx', 0):.0f}"
                if r and ok
                else "-"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rst_table(
    medians: Medians, routes: list[str], counts: list[int], meta: dict[str, object]
) -> str:
    servers = list(medians)
    out = [
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs), Python"
        f" {meta['python']}, ``wrk -t1`` keep-alive, the median of {meta['rounds']} interleaved"
        " rounds; requests/s and, in brackets, the server's CPU time per request; ``!`` marks"
        " socket errors or non-2xx answers.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - route",
        *(f"     - {SERVERS[s].label}" for s in servers),
    ]
    for key, label in points(routes, counts):
        out.append(f"   * - {label}")
        out += [f"     - {cell(medians[s].get(key))}" for s in servers]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", help=f"comma-separated, of: {', '.join(SERVERS)}")
    parser.add_argument("--routes", help=f"comma-separated, of: {', '.join(ROUTES)}")
    parser.add_argument("--connections", default="64,256", help="comma-separated (default 64,256)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=5, help="per point (default 5)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "http")
    parser.add_argument(
        "--rust-venv",
        type=Path,
        default=Path.home() / ".cache" / "fastrapi-bench" / "fastrapi-rust",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is missing: apt-get install wrk (nox -s bench installs it)")
    keys = args.servers.split(",") if args.servers else list(SERVERS)
    routes = args.routes.split(",") if args.routes else list(ROUTES)
    counts = [int(c) for c in args.connections.split(",")]
    unknown = [k for k in keys if k not in SERVERS] + [r for r in routes if r not in ROUTES]
    if unknown:
        parser.error(f"unknown servers or routes: {unknown}")
    rust = rust_python(args.rust_venv) if any(SERVERS[k].rust for k in keys) else ""
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    log = out / "servers.log"
    log.write_text("")
    raw: dict[str, list[dict[str, dict[str, float]]]] = {k: [] for k in keys}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = '{USER_BODY}'\n"
        )
    lua = Path(script.name)
    began = time.monotonic()
    try:
        for round_ in range(args.rounds):
            order = keys[round_ % len(keys) :] + keys[: round_ % len(keys)]
            for key in order:
                print(f"round {round_ + 1}/{args.rounds}: {SERVERS[key].label} ...", flush=True)
                try:
                    raw[key].append(measure(key, routes, counts, args.seconds, log, lua, rust))
                except (OSError, RuntimeError) as exc:
                    print(f"  failed: {exc}", flush=True)
                    raw[key].append({})
                for name, r in raw[key][-1].items():
                    print(f"  {name}: {cell(r)}", flush=True)
    finally:
        lua.unlink()
    medians: Medians = {
        k: {
            p: median_of([r.get(p, {"error": 1.0}) for r in raw[k]])
            for p, _ in points(routes, counts)
        }
        for k in keys
    }
    meta: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "wall_seconds": round(time.monotonic() - began),
        "args": " " + " ".join(argv if argv is not None else sys.argv[1:]),
        "wrk": subprocess.run(
            ["wrk", "-v"], capture_output=True, text=True, check=False
        ).stdout.split("\n")[0],
    }
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "medians": medians, "rounds": raw}, indent=1)
    )
    (out / "README.md").write_text(markdown(medians, routes, counts, meta))
    (out / "table.rst").write_text(rst_table(medians, routes, counts, meta))
    print((out / "README.md").read_text())


if __name__ == "__main__":
    main()
