"""The example pages in headless Chromium: the demo's HTML test client (the FastrAPI docs'
page), and the Hub chat with three pages in two rooms."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import trio

from fastrapi.testing import open_live_server

from ..test_examples import app_of
from .conftest import HERE

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.browser, pytest.mark.integration]


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
