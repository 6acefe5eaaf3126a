"""The FastrAPI docs' "Connection state", as written there: loop while the client is
connected.

``client_state`` stays 1 (connected) while messages the client sent before leaving are
unread, so the loop loses none; the ``receive_text()`` after the last one raises
WebSocketDisconnect, which ends the handler normally.
"""
# mypy: allow-untyped-defs

from fastrapi import FastrAPI

app = FastrAPI()


@app.websocket("/ws")
async def websocket_endpoint(ws):
    await ws.accept()
    while ws.client_state == 1:  # 1 = Connected
        data = await ws.receive_text()
        await ws.send_text(f"Echo: {data}")


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
