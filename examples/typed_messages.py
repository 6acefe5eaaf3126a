"""Typed messages: each message is validated into a pydantic model on the way in.

Send ``{"room": "lobby", "text": "hi"}`` to ``ws://localhost:8000/chat``; a message that
does not fit gets an error back (with pydantic's errors) and the connection carries on.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from fastrapi import FastrAPI, MessageDecodeError, WebSocket

app = FastrAPI()


class ChatMessage(BaseModel):
    room: str = Field(min_length=1)
    text: str = Field(max_length=500)


class Reply(BaseModel):
    room: str
    echo: str


@app.websocket("/chat")
async def chat(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        try:
            async for message in ws.iter_json(ChatMessage):
                await ws.send_json(Reply(room=message.room, echo=message.text))
            return  # the client closed
        except MessageDecodeError as exc:
            await ws.send_json({"error": "invalid message", "detail": exc.errors})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
