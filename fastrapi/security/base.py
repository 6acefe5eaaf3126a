"""The base of the security schemes (FastAPI's ``fastapi.security.base``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import HTTPException

if TYPE_CHECKING:
    from .._connection import HTTPConnection
    from ._models import SecuritySchemeModel

__all__ = ["SecurityBase"]


class SecurityBase:
    """A security scheme: a dependency that reads a credential from the connection.

    Every scheme reads what an HTTP request and a WebSocket handshake share (headers, query,
    cookies), so it works on both kinds of route; on a WebSocket, the error it raises before
    ``accept()`` refuses the handshake with its status and ``WWW-Authenticate`` header.

    Attributes:
        model: The scheme's OpenAPI Security Scheme object.
        scheme_name: Its name in the API document (the class name unless given).
        auto_error: Missing credentials raise the 401 of :meth:`make_not_authenticated_error`
            (``True``), or make the dependency's value ``None`` (``False``, for optional
            authentication or several schemes tried in turn).
    """

    model: SecuritySchemeModel
    scheme_name: str
    auto_error: bool = True

    def make_authenticate_headers(self) -> dict[str, str]:
        """The headers of the 401: a ``WWW-Authenticate`` challenge (``Bearer`` here)."""
        return {"WWW-Authenticate": "Bearer"}

    def make_not_authenticated_error(self) -> HTTPException:
        """The error raised for missing or unusable credentials; override it to answer
        otherwise (a 403, as FastAPI before 0.122 did)."""
        return HTTPException(401, "Not authenticated", self.make_authenticate_headers())

    def _unauthenticated(self) -> None:
        """Raise :meth:`make_not_authenticated_error` under ``auto_error``, else return."""
        if self.auto_error:
            raise self.make_not_authenticated_error()

    def _authorization(self, connection: HTTPConnection) -> str | None:
        """The whole ``Authorization`` header; when there is none, the 401 or ``None``."""
        authorization = connection.headers.get("authorization")
        if not authorization:
            self._unauthenticated()
            return None
        return authorization
