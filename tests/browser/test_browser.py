"""The example pages in headless Chromium: the demo's HTML test client (the FastrAPI docs'
page), and the Hub chat with three pages in two rooms."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import trio

from fastrapi.testing import open_live_server

from ..test_examples import app_of

pytestmark = [pytest.mark.browser, pytest.mark.integration]

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


@pytest.mark.usefixtures("browser_ready")
async def test_the_page_connects_sends_and_shows_the_reply(tmp_path: Path) -> None:
    screenshot = tmp_path / "page.png"
    with trio.fail_after(90):
        async with open_live_server(app_of("demo")) as server:
            done = await trio.run_process(
                [
                    "node",
                    str(HERE / "drive.mjs"),
                    server.url("/"),
                    "hello browser",
                    str(screenshot),
                ],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
    assert done.returncode == 0, done.stderr.decode()
    shown = json.loads(done.stdout)
    assert shown["lines"] == [
        "Connected to server",
        "You: hello browser",
        'Server: {"reply":"Message received","echo":"hello browser"}',
    ]
    assert shown["input"] == ""
    assert screenshot.stat().st_size > 1000


@pytest.mark.usefixtures("browser_ready")
async def test_two_pages_chat_in_a_room_and_a_third_in_another_sees_nothing() -> None:
    with trio.fail_after(90):
        async with open_live_server(app_of("chat_hub")) as server:
            done = await trio.run_process(
                ["node", str(HERE / "chat.mjs"), server.url("/")],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
    assert done.returncode == 0, done.stderr.decode()
    shown = json.loads(done.stdout)
    assert shown["ann"] == {
        "lines": ["bob joined", "ann: hello bob", "bob: hi ann"],
        "members": "ann, bob",
    }
    assert shown["bob"] == {"lines": ["ann: hello bob", "bob: hi ann"], "members": "ann, bob"}
    assert shown["cat"] == {"lines": ["cat: anyone here?"], "members": "cat"}


@pytest.mark.usefixtures("browser_ready")
async def test_the_api_documentation_pages_render_offline(tmp_path: Path) -> None:
    """/docs, /redoc and /asyncapi with every request to another host blocked: each shows
    the operations or channels, and none asked for anything elsewhere. (The screenshots in
    docs/_static/ are these, from examples/api_documentation.py.)"""
    with trio.fail_after(90):
        async with open_live_server(app_of("api_documentation")) as server:
            done = await trio.run_process(
                ["node", str(HERE / "docs_ui.mjs"), server.url("/"), str(tmp_path)],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["blocked"] == []
    assert result["shown"] == {
        "docs": ["/rooms"],
        "redoc": ["List Rooms "],
        "asyncapi": ["/chat/{room}", "Say", "Typing", "Said", "Presence"],
    }
    for name in ("swagger-ui", "redoc", "asyncapi"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
