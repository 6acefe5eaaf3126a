"""A real ``redis-server`` for the tests: a free loopback port, no persistence, stopped by its PID.

It listens on TCP (``redis://``), on TLS only (``rediss://``, with a certificate for 127.0.0.1,
or another name, from a test CA) or on a unix socket only (``unix://``); Debian's build has TLS.

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
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import urlencode

import pytest

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    import trustme

START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tls_options(ca: trustme.CA, host: str, directory: Path) -> list[str]:
    """Write a certificate for ``host`` issued by ``ca``, its key and ``ca.pem`` (the CA's) to
    ``directory``; the options that make Redis serve TLS with them, without client certificates."""
    cert, key, ca_cert = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    issued = ca.issue_cert(host)
    issued.cert_chain_pems[0].write_to_path(cert)
    issued.private_key_pem.write_to_path(key)
    ca.cert_pem.write_to_path(ca_cert)
    options = ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    return [*options, "--tls-ca-cert-file", str(ca_cert), "--tls-auth-clients", "no"]


class RedisServer:
    """One ``redis-server`` process; :meth:`stop` and :meth:`start` again keep its port (or
    socket). ``with RedisServer(...) as server:`` starts it and stops it at the end.

    Args:
        executable: The path of ``redis-server``.
        directory: Its working directory, where it also keeps its certificate or socket.
        ca: Listen on TLS only, with a certificate issued by this CA.
        tls_host: The name the certificate is for (the server is on 127.0.0.1 all the same).
        unix: Listen on a unix socket only, ``directory/redis.sock``.
        persistent: Keep the data across a :meth:`stop` and :meth:`start` (an append-only
            file, written out at the SIGTERM that stops it), as a production Redis does.
    """

    def __init__(
        self,
        executable: str,
        directory: Path,
        *,
        ca: trustme.CA | None = None,
        tls_host: str = "127.0.0.1",
        unix: bool = False,
        persistent: bool = False,
    ) -> None:
        if ca is not None and unix:
            raise ValueError("a test Redis listens on TLS or on a unix socket, not both")
        self.executable = executable
        self.directory = directory
        self.port = _free_port()
        self.socket = directory / "redis.sock" if unix else None
        self.ca_certs = directory / "ca.pem" if ca is not None else None
        if self.socket is not None:
            self._listen = ["--port", "0", "--unixsocket", str(self.socket)]
        elif ca is None:
            self._listen = ["--port", str(self.port), "--bind", "127.0.0.1"]
        else:
            self._listen = ["--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1"]
            self._listen += _tls_options(ca, tls_host, directory)
        self.process: subprocess.Popen[bytes] | None = None
        self._persistence = ["--appendonly", "yes" if persistent else "no"]

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``; with TLS, ``rediss://`` and the query that trusts the
        CA; on a unix socket, ``unix://PATH``."""
        if self.socket is not None:
            return f"unix://{self.socket}"
        if self.ca_certs is not None:
            return f"rediss://127.0.0.1:{self.port}/0?{urlencode({'ssl_ca_certs': self.ca_certs})}"
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start it and wait (at most ``START_TIMEOUT``) until it accepts connections.

        Raises:
            RuntimeError: it exited, or was not ready in time (its output is in the message).
        """
        command = [self.executable, *self._listen]
        command += ["--save", "", *self._persistence, "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        assert self.process.stdout is not None
        output = b""
        deadline = time.monotonic() + START_TIMEOUT
        fd = self.process.stdout.fileno()
        poll = select.poll()  # not select(): a test with a thousand sockets has fds past 1024
        poll.register(fd, select.POLLIN)
        while b"ready to accept connections" not in output.lower():  # 7.0 words it two ways
            left = deadline - time.monotonic()
            readable = poll.poll(max(left, 0) * 1000)
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
