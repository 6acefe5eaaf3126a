"""The Hub for clients: ``app.hub_route`` speaks the fastrapi.hub.v1 protocol at
/realtime.

Rooms anyone may read; only a named user (``?user=``) may write, and only in ``room:*``
topics; ``who`` is an rpc method. Clients: the browser's ``/_fastrapi/hub.js`` and
``fastrapi.client.connect_hub`` (see ``docs/clients.rst``).

Run it with ``python examples/realtime.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastrapi import Depends, FastrAPI, HTTPException, Hub, Query

if TYPE_CHECKING:
    from fastrapi.hub import HubConnection

app = FastrAPI(hub=Hub(history_size=100))


def user(user: Annotated[str, Query()] = "") -> str:
    """The client's name: in a real app, from its token (``fastrapi.security``)."""
    if user == "mallory":
        raise HTTPException(403, "not you")
    return user


async def can_subscribe(connection: HubConnection, topic: str) -> bool:
    return topic.startswith("room:")


async def can_publish(
    connection: HubConnection, topic: str, name: Annotated[str, Depends(user)]
) -> bool:
    if not name:
        raise HTTPException(401, "name yourself (?user=) to write")
    return topic.startswith("room:")


async def who(connection: HubConnection, params: Any) -> dict[str, Any]:
    """rpc ``who``: the topics this client is subscribed to."""
    return {"topics": sorted(connection.topics)}


app.hub_route(
    "/realtime",
    can_subscribe=can_subscribe,
    can_publish=can_publish,
    rpc={"who": who},
    dependencies=[Depends(user)],
)


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
