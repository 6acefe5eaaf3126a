"""The FastrAPI docs' "Broadcast pattern" on the Hub (the original: broadcast_seed.py).

``hub.publish`` hands the message to every member without waiting on any of them: a
client that stops reading meets its budget and is closed (1008), and nobody else
notices; members leave when their handler ends, so there is no set to change while it is
iterated.
"""

from __future__ import annotations

from fastrapi import FastrAPI, Hub, WebSocket

app = FastrAPI(hub=Hub())


@app.websocket("/ws")
async def websocket_endpoint(ws: WebSocket, hub: Hub) -> None:
    await ws.accept()
    # with a presence value, so that members() counts it
    async with hub.join("everyone", ws, presence=True):
        async for data in ws.iter_text():
            total_clients = len(await hub.members("everyone"))
            await hub.publish(
                "everyone", {"message": data, "total_clients": total_clients}
            )


if __name__ == "__main__":
    app.serve("0.0.0.0", 8000)
