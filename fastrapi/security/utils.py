"""Reading credentials from a connection (FastAPI's ``fastapi.security.utils``, and the
WebSocket subprotocol carrier of bearer tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..websocket import WebSocket

if TYPE_CHECKING:
    from .._connection import HTTPConnection

__all__ = ["BEARER_SUBPROTOCOL", "bearer_authorization", "get_authorization_scheme_param"]

BEARER_SUBPROTOCOL: Final = "bearer"
"""The subprotocol a WebSocket client offers just before its token: ``["bearer", token]``."""


def get_authorization_scheme_param(authorization: str | None) -> tuple[str, str]:
    """``("Bearer", "abc")`` for ``"Bearer abc"``: the scheme and its parameter (stripped);
    ``("", "")`` for no header."""
    if not authorization:
        return "", ""
    scheme, _, param = authorization.partition(" ")
    return scheme, param.strip()


def bearer_authorization(connection: HTTPConnection) -> str | None:
    """The ``Authorization`` header; on a WebSocket handshake without one, ``"Bearer <token>"``
    when the client offered the subprotocols ``bearer`` and then ``<token>``.

    Browsers cannot set headers on a WebSocket, only subprotocols (``new WebSocket(url,
    ["bearer", token])``), and they drop a connection whose handshake answers none of those
    they offered: so once the token is taken from there, ``ws.accept()`` without a
    subprotocol answers ``bearer`` (never the token).
    """
    authorization = connection.headers.get("authorization")
    if authorization or not isinstance(connection, WebSocket):
        return authorization
    offered = connection.subprotocols
    try:
        token = offered[offered.index(BEARER_SUBPROTOCOL) + 1]
    except (ValueError, IndexError):
        return None  # no "bearer", or nothing after it
    connection._default_subprotocol = BEARER_SUBPROTOCOL
    return f"Bearer {token}"
