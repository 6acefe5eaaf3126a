"""A live feed over Server-Sent Events that a reconnecting browser resumes.

    python examples/sse_feed.py
    curl -N localhost:8000/feed/news                                # the live stream
    curl localhost:8000/publish/news -H 'content-type: application/json' -d '{"t":"hi"}'
    curl -N localhost:8000/feed/news -H 'Last-Event-ID: <an id you saw>'      # resume

In a browser, ``new EventSource("/feed/news")`` reconnects by itself after a drop and
sends the last ``id:`` it saw as ``Last-Event-ID``: each event's id is the message's Hub
position, so the stream first replays what the browser missed (the topic keeps its last
100 messages), then goes on live. If that is gone, the first event is ``event: gap`` and
the page should reload its state.
"""

from __future__ import annotations

from typing import Annotated

from fastrapi import Body, FastrAPI, Header, Hub
from fastrapi.sse import EventSourceResponse, event_id, hub_events

app = FastrAPI(hub=Hub(history_size=100))


@app.post("/publish/{topic}")
async def publish(
    topic: str, hub: Hub, message: Annotated[dict[str, object], Body()]
) -> dict[str, object]:
    """Publish a JSON message; the answer is its event id."""
    position = await hub.publish(topic, message)
    return {"id": event_id(position)}


@app.get("/feed/{topic}")
async def feed(
    topic: str, hub: Hub, last_event_id: Annotated[str | None, Header()] = None
) -> EventSourceResponse:
    """The topic's messages as events, after ``Last-Event-ID`` when the client has one."""
    return EventSourceResponse(hub_events(hub, topic, last_event_id))


if __name__ == "__main__":
    app.serve()
