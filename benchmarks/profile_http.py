"""Instructions per HTTP request (and per WebSocket handshake) in fastrapi's server, and where
they go.

    python benchmarks/profile_http.py [--routes plain,json,...] [--requests 1000] [--parser auto]
    python benchmarks/profile_http.py --cprofile [--routes json] [--top 25]
    python benchmarks/profile_http.py --routes handshake --server websockets_asyncio.py

The default mode runs ``servers/http_fastrapi.py`` under ``valgrind --tool=callgrind`` and
drives it from this process over one keep-alive connection: per route, 300 warm-up requests,
a dump (which zeroes the counters), ``--requests`` requests, a dump; the second dump's total
over the requests is the route's instructions per request in the server's user space. It is the
one figure on this shared machine that does not move with the load of the others (the kernel's
share is not counted). ``handshake`` is a WebSocket handshake on ``/ws`` (a new connection, the
101 read, the connection kept open), served by ``servers/fastrapi_app.py``.

``--cprofile`` runs the server in a process of its own under cProfile, switched on after the
warm-up (SIGUSR1) and written out after the requests (SIGUSR2), and prints the functions with
the most own time and their calls per request.
"""

from __future__ import annotations

import argparse
import base64
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).parent
USER_BODY: Final = (
    b'{"name":"Ada Lovelace","email":"ada@example.com","age":36,'
    b'"tags":["math","poetry","engines"],"bio":"' + b"x" * 98 + b'"}'
)  # 200 bytes, as http_run.py's
ROUTES: Final = {
    "plain": b"GET /plain HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "json": b"GET /json HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "items": b"GET /items/42?q=hello HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "users": (
        b"POST /users HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(USER_BODY), USER_BODY)
    ),
    "sync": b"GET /sync HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "handshake": b"",  # a WebSocket handshake per "request"
}
WARMUP: Final = 300


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(60)


def connect(port: int) -> socket.socket:
    deadline = time.monotonic() + 600  # valgrind starts Python slowly on a busy machine
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def exchange(sock: socket.socket, request: bytes, buffer: bytearray) -> None:
    """Send ``request`` and read its whole response (content-length framed)."""
    sock.sendall(request)
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buffer[:end]).lower()
            found = re.search(rb"content-length: *(\d+)", head)
            size = end + 4 + (int(found.group(1)) if found else 0)
            if not head.startswith(b"http/1.1 2"):
                raise SystemExit(f"unexpected answer: {bytes(buffer[:size])!r}")
            if len(buffer) >= size:
                del buffer[:size]
                return
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buffer += chunk


def handshake(port: int, kept: list[socket.socket]) -> None:
    sock = connect(port)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit("the server closed the connection during the handshake")
        answer += chunk
    if not answer.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {answer!r}")
    kept.append(sock)


def run(port: int, route: str, count: int, state: dict[str, object]) -> None:
    if route == "handshake":
        kept: list[socket.socket] = state.setdefault("kept", [])  # type: ignore[assignment]
        for _ in range(count):
            handshake(port, kept)
        return
    sock: socket.socket = state.get("sock") or connect(port)  # type: ignore[assignment]
    state["sock"] = sock
    buffer = bytearray()
    for _ in range(count):
        exchange(sock, ROUTES[route], buffer)


def control(pid: int, port: int, route: str, state: dict[str, object], *args: str) -> None:
    """Run ``callgrind_control ARGS PID``; valgrind takes the command when the server runs, so
    a request of the route in hand wakes it up meanwhile (one or two extra of 1,000)."""
    command = subprocess.Popen(["callgrind_control", *args, str(pid)], stdout=subprocess.DEVNULL)
    while command.poll() is None:
        run(port, route, 1, state)
        time.sleep(0.05)


def total_of(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {dump}")


def script_of(route: str, given: str | None) -> str:
    if given is not None:
        return given
    return "fastrapi_app.py" if route == "handshake" else "http_fastrapi.py"


def callgrind(routes: list[str], requests: int, parser: str, given: str | None) -> None:
    out = Path(tempfile.mkdtemp(prefix="callgrind-http-"))
    for route in routes:
        script = script_of(route, given)
        port = free_port()
        argv = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p",
            sys.executable, str(HERE / "servers" / script), str(port), parser,
        ]  # fmt: skip
        log = (out / f"{route}.log").open("wb")
        server = subprocess.Popen(argv, stdout=log, stderr=log)
        try:
            state: dict[str, object] = {}
            run(port, route, WARMUP, state)
            control(server.pid, port, route, state, "--zero")
            run(port, route, requests, state)
            control(server.pid, port, route, state, "--dump")
            dumps = sorted(out.glob(f"cg.{server.pid}.*"), key=lambda p: p.stat().st_mtime)
            per = total_of(dumps[-1]) / requests
            print(f"{route:10} {per / 1000:8.1f}k instructions per request", flush=True)
            kept = state.get("kept")
            for sock in [state.get("sock"), *(kept if isinstance(kept, list) else [])]:
                if isinstance(sock, socket.socket):
                    sock.close()
        finally:
            stop(server)
    print(f"(callgrind files in {out}: callgrind_annotate FILE)")


PROFILED: Final = """
import cProfile, runpy, signal, sys
profile = cProfile.Profile()
def on(*_): profile.enable()
def off(*_):
    profile.disable()
    profile.dump_stats(sys.argv.pop())
signal.signal(signal.SIGUSR1, on)
signal.signal(signal.SIGUSR2, off)
sys.argv = sys.argv[1:]
sys.path.insert(0, sys.argv[0].rpartition("/")[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def cprofile(routes: list[str], requests: int, parser: str, top: int, given: str | None) -> None:
    for route in routes:
        script = script_of(route, given)
        port = free_port()
        stats = Path(tempfile.mkdtemp(prefix="cprofile-http-")) / f"{route}.prof"
        argv = [sys.executable, "-c", PROFILED, str(HERE / "servers" / script), str(port)]
        server = subprocess.Popen([*argv, parser, str(stats)])
        try:
            state: dict[str, object] = {}
            run(port, route, WARMUP, state)
            server.send_signal(signal.SIGUSR1)
            run(port, route, requests, state)
            server.send_signal(signal.SIGUSR2)
            run(port, route, 1, state)  # wakes the server for its handler
            deadline = time.monotonic() + 10
            while not stats.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
                run(port, route, 1, state)
            time.sleep(0.5)
        finally:
            stop(server)
        print(f"\n== {route}: own time and calls per request ({requests} requests)")
        report = pstats.Stats(str(stats))
        entries = report.stats  # type: ignore[attr-defined]
        total = sum(entry[2] for entry in entries.values())
        rows = sorted(entries.items(), key=lambda item: -item[1][2])[:top]
        print(f"total own time {total / requests * 1e6:.1f} us per request (profiled)")
        for (file, line, name), (_, calls, own, _, _) in rows:
            where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else ""
            print(f"{own / total:6.1%} {calls / requests:6.2f}/req  {name} {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", default="plain,json,items,users,sync,handshake")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--parser", default="auto")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--server", help="another servers/*.py (a peer serving the same routes)")
    options = parser.parse_args()
    routes = options.routes.split(",")
    if options.cprofile:
        cprofile(routes, options.requests, options.parser, options.top, options.server)
    else:
        callgrind(routes, options.requests, options.parser, options.server)


if __name__ == "__main__":
    main()
