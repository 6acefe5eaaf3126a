"""The FastrAPI docs' "Receiving data": text (as written there), binary and JSON."""
# mypy: allow-untyped-defs

from fastrapi import FastrAPI

app = FastrAPI()


@app.websocket("/ws")
async def websocket_endpoint(ws):
    await ws.accept()
    text = await ws.receive_text()
    print(f"Received: {text}")


@app.websocket("/bytes")
async def bytes_endpoint(ws):
    await ws.accept()
    data = await ws.receive_bytes()
    print(f"Received {len(data)} bytes")


@app.websocket("/json")
async def json_endpoint(ws):
    await ws.accept()
    data = await ws.receive_json()
    print(f"Received: {data}")


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
