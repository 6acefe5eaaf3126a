"""A chat room behind OAuth2 bearer tokens: one security scheme guards the HTTP routes
and the WebSocket handshake alike, with scopes (``chat:read`` to listen, ``chat:write``
to post).

    python examples/secure_chat.py

then get a token (``POST /token`` with the form
``username=ann&password=ann-secret&scope=chat:read chat:write``), and ``GET /me`` with
``Authorization: Bearer <token>``, or open ``ws://localhost:8000/chat/lobby`` with the
same header, or from a browser: ``new WebSocket("ws://localhost:8000/chat/lobby",
["bearer", token])``. A missing or unknown token refuses the handshake with 401 and
``WWW-Authenticate``, before the handler runs.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from pydantic import BaseModel

from fastrapi import (
    Depends,
    FastrAPI,
    HTTPException,
    Hub,
    Security,
    SecurityScopes,
    WebSocket,
)
from fastrapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

app = FastrAPI(hub=Hub())
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="token",
    scopes={"chat:read": "Listen to rooms", "chat:write": "Post to rooms"},
)


class User(BaseModel):
    name: str
    scopes: list[str]


# Stand-ins for your user store (with hashed passwords: pwdlib, argon2) and your
# tokens (JWTs, or a session table).
USERS = {
    "ann": ("ann-secret", ["chat:read", "chat:write"]),
    "bob": ("bob-secret", ["chat:read"]),
}
TOKENS: dict[str, User] = {}


@app.post("/token")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> dict[str, str]:
    """A bearer token for the user, with the scopes asked for that the user may have."""
    password, allowed = USERS.get(form.username, ("", []))
    if not password or not secrets.compare_digest(form.password, password):
        raise HTTPException(400, "Incorrect username or password")
    token = secrets.token_urlsafe(24)  # a browser may send it as a subprotocol
    TOKENS[token] = User(
        name=form.username, scopes=[s for s in form.scopes if s in allowed]
    )
    return {"access_token": token, "token_type": "bearer"}


async def current_user(
    scopes: SecurityScopes, token: Annotated[str, Depends(oauth2_scheme)]
) -> User:
    """The token's user, if it has every scope the route (and its dependencies) needs."""
    challenge = f'Bearer scope="{scopes.scope_str}"' if scopes.scopes else "Bearer"
    user = TOKENS.get(token)
    if user is None:
        raise HTTPException(
            401, "Could not validate credentials", {"WWW-Authenticate": challenge}
        )
    if not set(scopes.scopes) <= set(user.scopes):
        raise HTTPException(
            403, "Not enough permissions", {"WWW-Authenticate": challenge}
        )
    return user


@app.get("/me")
async def me(
    user: Annotated[User, Security(current_user, scopes=["chat:read"])],
) -> User:
    return user


class Refused(BaseModel):
    """A line the user may not say (no ``chat:write`` scope); the connection stays."""

    error: str


@app.websocket("/chat/{room}", receives=str, sends=Refused)
async def chat(
    ws: WebSocket[str, Refused],
    room: str,
    user: Annotated[User, Security(current_user, scopes=["chat:read"])],
    hub: Hub,
) -> None:
    await ws.accept()  # answers the subprotocol "bearer" if the token came that way
    async with hub.join(room, ws):
        async for text in ws.iter_text():
            if "chat:write" not in user.scopes:
                await ws.send_json(Refused(error="you may only listen here"))
                continue
            await hub.publish(room, {"user": user.name, "text": text})


if __name__ == "__main__":
    app.serve("127.0.0.1", 8000)
