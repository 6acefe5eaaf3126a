"""app.serve() as a program runs it: started from plain Python or trio.run, stopped by a signal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import trio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).with_name("served_app.py")


async def read_until(stream: trio.abc.ReceiveStream, pattern: bytes) -> re.Match[bytes]:
    seen = b""
    while (found := re.search(pattern, seen)) is None:
        chunk = await stream.receive_some()
        assert chunk, f"the server exited; it printed {seen.decode()!r}"
        seen += chunk
    return found


@pytest.mark.parametrize(
    ("mode", "signum"),
    [("blocking", signal.SIGINT), ("blocking", signal.SIGTERM), ("trio", signal.SIGINT)],
)
async def test_signal_shuts_down_cleanly_and_closes_open_sockets_with_1001(
    mode: str, signum: int
) -> None:
    command = [sys.executable, str(SCRIPT), mode]
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(
                partial(
                    trio.run_process,
                    command,
                    check=False,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
            assert process.stdout is not None
            port = int((await read_until(process.stdout, rb"127\.0\.0\.1:(\d+)"))[1])

            def client() -> int | None:
                with connect(f"ws://127.0.0.1:{port}/ws") as ws:
                    ws.send("ping")
                    assert ws.recv(timeout=5) == "ping"
                    process.send_signal(signum)
                    with pytest.raises(ConnectionClosed):
                        ws.recv(timeout=10)
                    return ws.close_code

            code = await trio.to_thread.run_sync(client)
            await read_until(process.stdout, rb"exited cleanly")
            assert await process.wait() == 0
    assert code == 1001
