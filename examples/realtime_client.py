"""A service that follows a room of ``examples/realtime.py`` with the Python client, and
says hello in it.

Run ``python examples/realtime.py``, then ``python examples/realtime_client.py``.
"""

from __future__ import annotations

import trio

from fastrapi.client import connect_hub
from realtime import app as app  # the server it talks to (what the tests serve)


async def follow(url: str, room: str, count: int) -> list[object]:
    """Say hello in ``room``, and return the first ``count`` messages of it."""
    got: list[object] = []
    async with (
        connect_hub(url, min_reconnect_delay=0.1, max_reconnect_delay=10) as hub,
        hub.subscribe(room) as sub,
    ):
        await hub.publish(room, {"text": "hello from a service"})
        async for publication in sub:
            print(publication.position.offset, publication.data, sub.recovered)
            got.append(publication.data)
            if len(got) == count:
                break
    return got


if __name__ == "__main__":
    trio.run(follow, "ws://127.0.0.1:8000/realtime?user=service", "room:lobby", 10)
