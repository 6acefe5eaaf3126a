"""HTTP authentication schemes (RFC 7235): ``Authorization: Basic|Bearer|Digest ...``
(FastAPI's ``fastapi.security.http``)."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel

from .._connection import HTTPConnection  # noqa: TC001 (the planner resolves it)
from ._models import HTTPBase as HTTPBaseModel
from ._models import HTTPBearer as HTTPBearerModel
from .base import SecurityBase
from .utils import bearer_authorization, get_authorization_scheme_param

__all__ = [
    "HTTPAuthorizationCredentials",
    "HTTPBase",
    "HTTPBasic",
    "HTTPBasicCredentials",
    "HTTPBearer",
    "HTTPDigest",
]


class HTTPBasicCredentials(BaseModel):
    """What :class:`HTTPBasic` gives: the user name and password of the request."""

    username: str
    password: str


class HTTPAuthorizationCredentials(BaseModel):
    """What :class:`HTTPBearer` and :class:`HTTPDigest` give: the ``Authorization`` header split
    at its first space, ``scheme`` (``"Bearer"``) and ``credentials`` (the token)."""

    scheme: str
    credentials: str


class HTTPBase(SecurityBase):
    """Any ``Authorization: <scheme> <credentials>``; the subclasses check the scheme.

    Args:
        scheme: The scheme's name in the API document (``"basic"``, ``"bearer"``...).
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing credential raises 401 (``True``) or gives ``None``.
    """

    model: HTTPBaseModel

    def __init__(
        self,
        *,
        scheme: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = HTTPBaseModel(scheme=scheme, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        """``WWW-Authenticate: <Scheme>``, the scheme's name capitalised."""
        return {"WWW-Authenticate": self.model.scheme.title()}

    def _credentials(
        self, authorization: str | None, scheme: str | None
    ) -> HTTPAuthorizationCredentials | None:
        """The credentials of ``authorization`` when it has some (and is of ``scheme``, if
        given); else the 401, or ``None`` without ``auto_error``."""
        given, credentials = get_authorization_scheme_param(authorization)
        if not credentials or (scheme is not None and given.lower() != scheme):
            self._unauthenticated()
            return None
        return HTTPAuthorizationCredentials(scheme=given, credentials=credentials)

    async def __call__(self, connection: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        """The request's credentials, of any scheme.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate`` for a missing or empty ``Authorization``
                (only with ``auto_error``; else the value is ``None``).
        """
        return self._credentials(connection.headers.get("authorization"), None)


class HTTPBasic(HTTPBase):
    """HTTP Basic authentication (RFC 7617): gives :class:`HTTPBasicCredentials`.

    The user name and password are decoded as UTF-8 (RFC 7617's ``charset="UTF-8"``, what
    browsers send; FastAPI takes only ASCII). Malformed credentials (not base64, not text, no
    ``:``) are a 401 even without ``auto_error``: the client did try to authenticate.

    Args:
        scheme_name: The name of this scheme in the API document (default: the class name).
        realm: The protection space, sent in the challenge: ``Basic realm="..."``.
        description: Its description in the API document.
        auto_error: A missing credential raises 401 (``True``) or gives ``None``.
    """

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        realm: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(
            scheme="basic", scheme_name=scheme_name, description=description, auto_error=auto_error
        )
        self.realm = realm

    def make_authenticate_headers(self) -> dict[str, str]:
        """``WWW-Authenticate: Basic``, with ``realm="..."`` when the scheme has one."""
        if self.realm:
            return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}
        return {"WWW-Authenticate": "Basic"}

    async def __call__(  # type: ignore[override]  # a narrower value, as FastAPI's
        self, connection: HTTPConnection
    ) -> HTTPBasicCredentials | None:
        """The request's user name and password.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: Basic`` for no ``Authorization: Basic``
                (only with ``auto_error``) and for malformed credentials (always).
        """
        scheme, param = get_authorization_scheme_param(connection.headers.get("authorization"))
        if scheme.lower() != "basic":
            self._unauthenticated()
            return None
        try:
            decoded = base64.b64decode(param, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise self.make_not_authenticated_error() from exc
        username, colon, password = decoded.partition(":")
        if not colon:
            raise self.make_not_authenticated_error()
        return HTTPBasicCredentials(username=username, password=password)


class HTTPBearer(HTTPBase):
    """A bearer token (RFC 6750): gives :class:`HTTPAuthorizationCredentials`.

    The token is the ``Authorization: Bearer <token>`` header's; on a WebSocket handshake
    without that header it may also come as the subprotocols ``["bearer", <token>]`` (what a
    browser can send), and then ``ws.accept()`` answers the subprotocol ``bearer``.

    Args:
        bearerFormat: A hint of the token's format for the API document (``"JWT"``).
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing, empty or non-bearer credential raises 401 (``True``) or gives
            ``None``.
    """

    model: HTTPBearerModel

    def __init__(
        self,
        *,
        bearerFormat: str | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        self.model = HTTPBearerModel(bearerFormat=bearerFormat, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    async def __call__(self, connection: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        """The bearer token of the request or handshake.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: Bearer`` for a missing, empty or
                non-bearer credential (only with ``auto_error``; else the value is ``None``).
        """
        return self._credentials(bearer_authorization(connection), "bearer")


class HTTPDigest(HTTPBase):
    """``Authorization: Digest ...`` (RFC 7616): gives :class:`HTTPAuthorizationCredentials`
    with the header's parameters unparsed; checking them is the app's (as in FastAPI).

    Args:
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing, empty or non-digest credential raises 401 (``True``) or gives
            ``None``.
    """

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        super().__init__(
            scheme="digest",
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )

    async def __call__(self, connection: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        """The request's digest credentials.

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: Digest`` for a missing, empty or
                non-digest credential (only with ``auto_error``; else the value is ``None``).
        """
        return self._credentials(connection.headers.get("authorization"), "digest")
