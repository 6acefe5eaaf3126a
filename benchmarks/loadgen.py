"""A load generator cheaper per message than the servers it measures.

One process, one epoll loop, raw sockets: the opening handshake is written by hand, every
client frame is built once (masked with a fixed key, as RFC 6455 allows any key), and a reply is
recognised from its 2-10 byte header alone. Each connection keeps one message in flight: send,
wait for the echo, note the round trip, send again. The runner measures this process's CPU time
beside the server's, to show the client stays the cheaper side.
"""

from __future__ import annotations

import base64
import os
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Final

MASK: Final = b"\x37\xfa\x21\x3d"
KEY: Final = base64.b64encode(b"fastrapi-bench-k").decode()


def client_frame(payload: bytes, binary: bool) -> bytes:
    """One masked client frame carrying ``payload``."""
    n = len(payload)
    head = bytes([0x82 if binary else 0x81])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 2**16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    keystream = (MASK * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")
    return head + MASK + masked


def split_frame(buffer: bytearray) -> tuple[int, int] | None:
    """The opcode and payload size of the first whole server frame in ``buffer``, which is
    removed from it; ``None`` if the frame is not all there yet."""
    if len(buffer) < 2:
        return None
    n, at = buffer[1] & 0x7F, 2
    if n == 126:
        if len(buffer) < 4:
            return None
        n, at = struct.unpack_from("!H", buffer, 2)[0], 4
    elif n == 127:
        if len(buffer) < 10:
            return None
        n, at = struct.unpack_from("!Q", buffer, 2)[0], 10
    if len(buffer) < at + n:
        return None
    opcode = buffer[0] & 0x0F
    del buffer[: at + n]
    return opcode, n


def connect(port: int, path: str = "/ws") -> socket.socket:
    """Open a WebSocket to 127.0.0.1:``port`` (blocking), ready for frames.

    A frame the server sent right after its handshake (Hypercorn pings at once) is read
    and dropped here.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the server closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        status = head.split(b"\r\n", 1)[0]
        raise ConnectionError(f"handshake refused: {status!r}")
    early = bytearray(head.split(b"\r\n\r\n", 1)[1])
    while early:
        if split_frame(early) is None:
            early += sock.recv(4096)
    sock.setblocking(False)
    return sock


@dataclass
class EchoResult:
    """What one echo run measured."""

    messages: int
    seconds: float
    latencies_ns: list[int] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def percentile(self, p: float) -> float:
        """A latency percentile in milliseconds."""
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] / 1e6


def echo(
    port: int, connections: int, size: int, seconds: float, binary: bool = False
) -> EchoResult:
    """Echo ``size``-byte messages on ``connections`` connections for ``seconds``."""
    socks = [connect(port) for _ in range(connections)]
    frame = client_frame(os.urandom(size) if binary else b"x" * size, binary)
    selector = selectors.DefaultSelector()
    buffers: dict[int, bytearray] = {}
    sent_at: dict[int, int] = {}
    latencies: list[int] = []
    by_fd = {sock.fileno(): sock for sock in socks}
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
        buffers[sock.fileno()] = bytearray()
    messages = 0
    start = time.perf_counter()
    deadline = start + seconds
    for sock in socks:
        sent_at[sock.fileno()] = time.perf_counter_ns()
        _send_all(sock, frame)
    while time.perf_counter() < deadline:
        for key, _ in selector.select(timeout=1):
            fd = key.fd
            sock = by_fd[fd]
            data = sock.recv(2**20)
            if not data:
                raise ConnectionError("the server closed a connection")
            buffer = buffers[fd]
            buffer += data
            while (got := split_frame(buffer)) is not None:
                opcode, length = got
                if opcode >= 0x8:
                    continue  # a ping of the server's own
                if length != size:
                    raise ConnectionError(f"echo of {length} bytes, sent {size}")
                now = time.perf_counter_ns()
                latencies.append(now - sent_at[fd])
                messages += 1
                sent_at[fd] = now
                _send_all(sock, frame)
    elapsed = time.perf_counter() - start
    for sock in socks:
        selector.unregister(sock)
        sock.close()
    return EchoResult(messages, elapsed, latencies)


def _send_all(sock: socket.socket, data: bytes) -> None:
    """sendall() on a non-blocking socket (a large frame may fill the buffer)."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            time.sleep(0.0005)


def handshakes(port: int, seconds: float) -> float:
    """Opening handshakes per second, one connection after another."""
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        connect(port).close()
        count += 1
    return count / (time.perf_counter() - start)


def open_idle(port: int, count: int) -> list[socket.socket]:
    """Open ``count`` WebSockets and leave them idle (the caller closes them)."""
    return [connect(port) for _ in range(count)]
