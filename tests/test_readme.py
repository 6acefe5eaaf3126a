"""The README's example runs: two clients of a room hear each other, one of another room
does not."""

from __future__ import annotations

import re
from pathlib import Path

import trio
import trio.testing

from fastrapi import FastrAPI
from fastrapi.testing import open_websocket

README = Path(__file__).parents[1] / "README.md"


def readme_app() -> FastrAPI:
    """The app of the README's first Python block."""
    found = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert found is not None
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(found[1], str(README), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, FastrAPI)
    return app


async def test_the_readme_chat_fans_out_to_its_room() -> None:
    app = readme_app()
    with trio.fail_after(5):
        async with (
            open_websocket(app, "/chat/lobby?username=ann") as ann,
            open_websocket(app, "/chat/lobby") as bob,
            open_websocket(app, "/chat/attic") as cat,
        ):
            await trio.testing.wait_all_tasks_blocked()  # all three have joined
            await ann.send_text("hi")
            expected = {"room": "lobby", "user": "ann", "text": "hi"}
            assert await bob.receive_json() == expected
            assert await ann.receive_json() == expected
            await cat.send_text("anyone?")
            assert (await cat.receive_json())["text"] == "anyone?"
            await ann.send_text("bye")
            assert (await bob.receive_json())["text"] == "bye"  # nothing from the attic
