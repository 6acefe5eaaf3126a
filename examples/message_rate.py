"""How many messages a client may send: a rate per connection, app-wide and per route.

    python examples/message_rate.py

Every WebSocket route of this app reads at most ``CHAT_RATE`` messages a second from
each client (``CHAT_BURST`` at once after a pause): a faster client is throttled, its
messages read no faster than that, so TCP slows it down and nothing is lost. ``/commands``
allows ``COMMAND_RATE`` a second (``COMMAND_BURST`` at once) and closes a client that goes
faster with 1008 "rate limit exceeded". A route's options replace the app's one by one: a
route that sets its rate and not its burst keeps the app's burst.
See the "Limits and abuse" page of the docs.
"""

from __future__ import annotations

from typing import Final

from fastrapi import FastrAPI, WebSocket

CHAT_RATE: Final = 20.0
CHAT_BURST: Final = 40
COMMAND_RATE: Final = 2.0
COMMAND_BURST: Final = 2

app = FastrAPI(max_message_rate=CHAT_RATE, max_message_burst=CHAT_BURST)


@app.websocket("/chat")
async def chat(ws: WebSocket) -> None:
    await ws.accept()
    async for text in ws.iter_text():
        await ws.send_text(text)


@app.websocket(
    "/commands",
    max_message_rate=COMMAND_RATE,
    max_message_burst=COMMAND_BURST,
    message_rate_policy="close",
)
async def commands(ws: WebSocket) -> None:
    await ws.accept()
    async for command in ws.iter_text():
        await ws.send_json({"command": command, "done": True})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
