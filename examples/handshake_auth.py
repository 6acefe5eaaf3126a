"""Handshake auth: the four places a WebSocket client can carry its token.

A browser's ``new WebSocket(url, protocols)`` cannot set headers, so a token travels in
the query string, a cookie, or the ``Sec-WebSocket-Protocol`` header (``["bearer",
token]``); other clients may also send ``Authorization``. Each route checks it in a
dependency, before ``accept()``: a bad token is refused with HTTP 401, a
``WWW-Authenticate`` header and a JSON body the client can read, and the handler never
runs.

Run it with ``python examples/handshake_auth.py``; then, say,
``ws://localhost:8000/query?token=secret-ann``.
"""

from __future__ import annotations

from typing import Annotated

from fastrapi import Cookie, Depends, FastrAPI, Header, HTTPException, Query, WebSocket

app = FastrAPI()

TOKENS = {"secret-ann": "ann", "secret-bob": "bob"}  # stands in for your token check


def user_for(token: str | None) -> str:
    """The user a token belongs to; a 401 the client can read if none does."""
    user = TOKENS.get(token or "")
    if user is None:
        raise HTTPException(
            401, "invalid or missing token", {"WWW-Authenticate": "Bearer"}
        )
    return user


def from_query(token: Annotated[str | None, Query()] = None) -> str:
    return user_for(token)


def from_header(authorization: Annotated[str, Header()] = "") -> str:
    scheme, _, token = authorization.partition(" ")
    return user_for(token if scheme.lower() == "bearer" else None)


def from_cookie(session: Annotated[str | None, Cookie()] = None) -> str:
    return user_for(session)


def from_subprotocol(ws: WebSocket) -> str:
    # the browser offers ["bearer", token]; we must answer with one of them: "bearer"
    offered = ws.subprotocols
    token = offered[1] if len(offered) == 2 and offered[0] == "bearer" else None
    return user_for(token)


async def greet(ws: WebSocket, user: str, subprotocol: str | None = None) -> None:
    await ws.accept(subprotocol=subprotocol)
    await ws.send_json({"hello": user})
    async for text in ws.iter_text():
        await ws.send_json({"user": user, "text": text})


@app.websocket("/query")
async def query_route(ws: WebSocket, user: Annotated[str, Depends(from_query)]) -> None:
    await greet(ws, user)


@app.websocket("/header")
async def header_route(
    ws: WebSocket, user: Annotated[str, Depends(from_header)]
) -> None:
    await greet(ws, user)


@app.websocket("/cookie")
async def cookie_route(
    ws: WebSocket, user: Annotated[str, Depends(from_cookie)]
) -> None:
    await greet(ws, user)


@app.websocket("/subprotocol")
async def subprotocol_route(
    ws: WebSocket, user: Annotated[str, Depends(from_subprotocol)]
) -> None:
    await greet(ws, user, subprotocol="bearer")  # browsers require the echo


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
