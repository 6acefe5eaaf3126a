"""OpenID Connect (FastAPI's ``fastapi.security.open_id_connect_url``)."""

from __future__ import annotations

from .._connection import HTTPConnection  # noqa: TC001 (the planner resolves it)
from ._models import OpenIdConnect as OpenIdConnectModel
from .base import SecurityBase

__all__ = ["OpenIdConnect"]


class OpenIdConnect(SecurityBase):
    """OpenID Connect, for the API document: its value is the whole ``Authorization`` header;
    validating the token (against the provider's keys) is the app's, as in FastAPI.

    Args:
        openIdConnectUrl: The provider's discovery document.
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing ``Authorization`` raises 401 with ``WWW-Authenticate: Bearer``
            (``True``) or gives ``None``.
    """

    model: OpenIdConnectModel

    def __init__(
        self,
        *,
        openIdConnectUrl: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = OpenIdConnectModel(openIdConnectUrl=openIdConnectUrl, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    async def __call__(self, connection: HTTPConnection) -> str | None:
        """The ``Authorization`` header of the request or handshake, as it came.

        Raises:
            HTTPException: 401 for a missing one (only with ``auto_error``).
        """
        return self._authorization(connection)
