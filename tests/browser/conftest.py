"""What the browser tests share: where they are, and the fixture that skips them (fails them
under CI) when Chromium, Node.js or playwright-core is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing() -> str | None:
    """What the test lacks, if anything (tests/browser/install.sh installs it)."""
    if not Path(CHROMIUM).exists():
        return f"Chromium ({CHROMIUM})"
    if shutil.which("node") is None:
        return "Node.js"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core (npm ci in tests/browser)"
    return None


@pytest.fixture
def browser_ready() -> None:
    lack = missing()
    if lack is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{lack} is missing: tests/browser/install.sh should have installed it")
    pytest.skip(f"{lack} is missing: run bash tests/browser/install.sh")
