"""The FastrAPI docs' "Closing connections": a greeting as the work, then a normal
closure."""
# mypy: allow-untyped-defs

from fastrapi import FastrAPI

app = FastrAPI()


@app.websocket("/ws")
async def websocket_endpoint(ws):
    await ws.accept()
    # ... do work ...
    await ws.send_text("Hello, and goodbye")
    await ws.close(code=1000)  # Normal closure


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
