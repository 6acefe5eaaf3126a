"""The FastrAPI docs' "Sending data": text (as written there), binary and JSON."""
# mypy: allow-untyped-defs

from fastrapi import FastrAPI

app = FastrAPI()


@app.websocket("/ws")
async def websocket_endpoint(ws):
    await ws.accept()
    await ws.send_text("Hello, client!")


@app.websocket("/bytes")
async def bytes_endpoint(ws):
    await ws.accept()
    await ws.send_bytes(b"\x00\x01\x02")


@app.websocket("/json")
async def json_endpoint(ws):
    await ws.accept()
    await ws.send_json({"greeting": "Hello, client!"})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
