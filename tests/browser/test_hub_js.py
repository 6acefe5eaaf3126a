"""The browser client's own tests (``hub.test.mjs``), run by Node against a fake WebSocket and
Node's mock timers: every protocol message, the close codes, backoff (with the measured spread
of 500 clients), queueing, timeouts, the heartbeat, storage and the network events."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import trio

HERE = Path(__file__).parent


@pytest.fixture
def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is missing: tests/browser/install.sh needs it")
        pytest.skip("Node.js is missing")
    return found


async def test_the_client_module_passes_its_node_tests(node: str) -> None:
    with trio.fail_after(60):
        done = await trio.run_process(
            [node, "--test", "--test-reporter=tap", str(HERE / "hub.test.mjs")],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    report = done.stdout.decode()
    assert done.returncode == 0, report + done.stderr.decode()
    counts = dict(re.findall(r"^# (pass|fail|skipped|todo) (\d+)$", report, re.MULTILINE))
    assert counts == {"pass": counts["pass"], "fail": "0", "skipped": "0", "todo": "0"}, counts
    assert int(counts["pass"]) >= 40, report
    assert re.search(r"# spread: first \d+ ms, last \d+ ms", report), report


async def test_the_client_module_type_checks_under_strict_typescript(node: str) -> None:
    """hub.js is plain JavaScript typed with JSDoc (``// @ts-check``): TypeScript's checker,
    strict, finds nothing in it."""
    tsc = HERE / "node_modules" / "typescript" / "bin" / "tsc"
    if not tsc.is_file():
        if os.environ.get("CI"):
            pytest.fail("TypeScript is missing: tests/browser/install.sh should have installed it")
        pytest.skip("TypeScript is missing: run bash tests/browser/install.sh")
    options = [
        "--noEmit",
        "--allowJs",
        "--checkJs",
        "--strict",
        "--skipLibCheck",
        "--noUnusedLocals",
    ]
    options += ["--noUnusedParameters", "--noImplicitReturns", "--target", "es2022"]
    options += ["--module", "es2022", "--lib", "es2022,dom"]
    with trio.fail_after(60):
        done = await trio.run_process(
            [node, str(tsc), *options, str(HERE.parents[1] / "fastrapi" / "static" / "hub.js")],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert (done.returncode, done.stdout.decode()) == (0, "")
