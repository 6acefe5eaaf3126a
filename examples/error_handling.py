"""The FastrAPI docs' "Error handling", as written there.

A disconnect is a ``ConnectionError`` (``WebSocketDisconnect``); invalid input is a
``ValueError``. The docs' loop uses ``receive_text()``, so no ``ValueError`` arises in
it; the ``/json`` route shows the same shape with ``receive_json()``, where bad JSON is
a ``ValueError`` (``MessageDecodeError``) and the connection stays usable.
"""
# mypy: allow-untyped-defs, allow-incomplete-defs, disable-error-code="type-arg"

from fastrapi import FastrAPI, WebSocketException

app = FastrAPI()


@app.websocket("/ws")
async def websocket_endpoint(ws):
    try:
        await ws.accept()
        while True:
            try:
                data = await ws.receive_text()
                await ws.send_json({"echo": data})
            except ConnectionError:
                print("Client disconnected")
                break
            except ValueError as e:
                await ws.send_json({"error": str(e)})
    except WebSocketException as e:
        print(f"WebSocket error: {e.code} - {e.reason}")
    finally:
        # Cleanup code
        print("Connection closed")


@app.websocket("/json")
async def json_endpoint(ws):
    await ws.accept()
    while True:
        try:
            data = await ws.receive_json()
            await ws.send_json({"echo": data})
        except ConnectionError:
            break
        except ValueError as e:
            await ws.send_json({"error": str(e)})


@app.websocket("/private")
async def private_endpoint(ws, token: str = ""):
    await ws.accept()
    if token != "secret":
        raise WebSocketException(code=4003, reason="forbidden")
    await ws.send_text("welcome")


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
