"""`fastrapi run` in a real process, and what it prints, for the tests that need processes."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

ROOT = Path(__file__).parents[2]
APP = "tests.integration.served_app:app"


class Output:
    """What a process printed so far, searched as it comes."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdout is not None
        self.stream = process.stdout
        self.seen = b""

    async def wait_for(self, pattern: bytes, start: int = 0) -> re.Match[bytes]:
        while (found := re.compile(pattern).search(self.seen, start)) is None:
            chunk = await self.stream.receive_some()
            assert chunk, f"the process exited; it printed {self.seen.decode()!r}"
            self.seen += chunk
        return found


@contextlib.asynccontextmanager
async def fastrapi_run(
    *args: str, app: str = APP, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[trio.Process, Output]]:
    """``python -m fastrapi run APP --port 0 ARGS`` in ``cwd``, stopped by its PID at the end."""
    command = ("-m", "fastrapi", "run", app, "--port", "0", *args)
    async with python_run(*command, cwd=cwd, env=env) as started:
        yield started


@contextlib.asynccontextmanager
async def python_run(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[trio.Process, Output]]:
    """``python ARGS`` in ``cwd``, its output (stderr too) searched as it comes, killed by its
    PID at the end if it is still running."""
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(
            partial(
                trio.run_process,
                [sys.executable, *args],
                cwd=cwd,
                env=env,
                check=False,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
        try:
            yield process, Output(process)
        finally:
            if process.returncode is None:
                process.kill()


async def start_workers(output: Output, count: int, start: int = 0) -> tuple[int, dict[int, int]]:
    """The port a supervisor printed after ``start``, and each of its workers' pid by number,
    once they all serve."""
    found = await output.wait_for(rb"serving on http://127\.0\.0\.1:(\d+) with", start)
    port, start = int(found[1]), found.end()
    pids = {}
    for number in range(1, count + 1):
        found = await output.wait_for(rb"worker %d \(pid (\d+)\) is serving" % number, start)
        pids[number] = int(found[1])
    return port, pids
