"""A real ``redis-server`` for the tests: a free loopback port, no persistence, stopped by its PID.

``redis-server`` is Debian's package (``tests/redis/install.sh``, run by ``nox -s tests``). Where
it is missing the Redis tests are skipped, except under ``CI=true``, where they fail: CI must
run them.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from pathlib import Path

START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process; :meth:`stop` and :meth:`start` again keep its port."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait (at most ``START_TIMEOUT``) until it accepts connections.

        Raises:
            RuntimeError: it exited, or was not ready in time (its output is in the message).
        """
        command = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        assert self.process.stdout is not None
        output = b""
        deadline = time.monotonic() + START_TIMEOUT
        fd = self.process.stdout.fileno()
        while b"Ready to accept connections" not in output:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([fd], [], [], max(left, 0))
            chunk = os.read(fd, 4096) if readable else b""
            if not chunk:
                self.stop()
                why = "exited" if left > 0 else f"was not ready in {START_TIMEOUT}s"
                raise RuntimeError(f"redis-server {why}: {output.decode(errors='replace')}")
            output += chunk

    def stop(self) -> None:
        """Stop it by its PID (SIGTERM, then SIGKILL after ``STOP_TIMEOUT``); wait for it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        assert process.stdout is not None
        process.stdout.close()


def redis_executable() -> str:
    """The path of ``redis-server``; skips the test where it is missing, fails under CI."""
    found = shutil.which("redis-server")
    if found is None:
        message = (
            "redis-server is missing: bash tests/redis/install.sh (apt-get install redis-server)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found
