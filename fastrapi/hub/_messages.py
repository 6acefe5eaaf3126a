"""The messages of the ``fastrapi.hub.v1`` protocol as types, for the AsyncAPI document of a
hub route (the route parses and writes them itself: these are its description)."""

from __future__ import annotations

from typing import Any, Literal

import pydantic


class HubPosition(pydantic.BaseModel):
    """A position in a topic: the offset counts its messages within one epoch."""

    epoch: str
    offset: int = pydantic.Field(ge=0, le=2**53)


class HubSubscribe(pydantic.BaseModel):
    """HubSubscribe to a topic; with ``since``, first get what was published after it."""

    type: Literal["subscribe"]
    id: int
    topic: str
    since: HubPosition | None = None


class HubUnsubscribe(pydantic.BaseModel):
    """HubUnsubscribe from a topic (the reply's result is null)."""

    type: Literal["unsubscribe"]
    id: int
    topic: str


class HubPublish(pydantic.BaseModel):
    """HubPublish data to a topic (the reply's result is its position)."""

    type: Literal["publish"]
    id: int
    topic: str
    data: Any


class HubRpc(pydantic.BaseModel):
    """Call a method of the route's ``rpc`` (the reply's result is the method's)."""

    type: Literal["rpc"]
    id: int
    method: str
    params: Any = None


class HubPresence(pydantic.BaseModel):
    """Ask who is in a topic (the reply's result is ``{"members": [...]}``)."""

    type: Literal["presence"]
    id: int
    topic: str


class HubHistory(pydantic.BaseModel):
    """Ask for a topic's kept messages after ``since`` (the reply's result is
    ``{"publications", "epoch", "offset"}``)."""

    type: Literal["history"]
    id: int
    topic: str
    since: HubPosition | None = None
    limit: int | None = pydantic.Field(default=None, ge=1)


class HubPong(pydantic.BaseModel):
    """The answer to a ping."""

    type: Literal["pong"]


class HubHello(pydantic.BaseModel):
    """Sent first, once the connection is accepted."""

    type: Literal["hello"]
    version: Literal[1]
    ping_interval: float | None


class HubSubscribed(pydantic.BaseModel):
    """The reply to subscribe; when recovering, the missed publications follow it, in order.
    The publications continue from its epoch and offset."""

    type: Literal["subscribed"]
    id: int
    topic: str
    epoch: str
    offset: int
    was_recovering: bool
    recovered: bool


class HubPublication(pydantic.BaseModel):
    """A message of a subscribed topic, with its position."""

    type: Literal["publication"]
    topic: str
    epoch: str
    offset: int
    data: Any
    encoding: Literal["base64"] | None = None


class HubJoin(pydantic.BaseModel):
    """A client subscribed to the topic (with presence_events)."""

    type: Literal["join"]
    topic: str
    epoch: str
    offset: int
    """Its position in the topic: the notice is a message of the topic, replayed on recovery."""
    member: Any


class HubLeave(pydantic.BaseModel):
    """A client left the topic (with presence_events)."""

    type: Literal["leave"]
    topic: str
    epoch: str
    offset: int
    """Its position in the topic: the notice is a message of the topic, replayed on recovery."""
    member: Any


class HubPing(pydantic.BaseModel):
    """Sent every ping_interval seconds: answer with a pong; no ping within the interval and
    a grace means the connection is dead."""

    type: Literal["ping"]


class HubReply(pydantic.BaseModel):
    """The result of the command with this id."""

    type: Literal["reply"]
    id: int
    result: Any


class HubError(pydantic.BaseModel):
    """The command with this id (null: one that had none) failed; the connection stays. The
    codes are HTTP's: 400 malformed, 403 refused, 404 unknown, 409 already subscribed, 500
    failed, 503 the Hub is unavailable."""

    type: Literal["error"]
    id: int | None
    code: int
    message: str


COMMANDS = HubSubscribe | HubUnsubscribe | HubPublish | HubRpc | HubPresence | HubHistory | HubPong
"""What a client sends."""
SERVER_MESSAGES = (
    HubHello | HubSubscribed | HubPublication | HubJoin | HubLeave | HubPing | HubReply | HubError
)
"""What the server sends."""
