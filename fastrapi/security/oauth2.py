"""OAuth2 schemes (FastAPI's ``fastapi.security.oauth2``) and :class:`SecurityScopes`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, final

from .._connection import HTTPConnection  # noqa: TC001 (the planner resolves it)
from ..params import Form
from ._models import OAuth2 as OAuth2Model
from ._models import OAuthFlows as OAuthFlowsModel
from .base import SecurityBase
from .utils import bearer_authorization, get_authorization_scheme_param

if TYPE_CHECKING:
    from collections.abc import Iterable


__all__ = [
    "OAuth2",
    "OAuth2AuthorizationCodeBearer",
    "OAuth2PasswordBearer",
    "OAuth2PasswordRequestForm",
    "OAuth2PasswordRequestFormStrict",
    "SecurityScopes",
]

# The fields of both token forms (FastAPI's): a secret is marked ``format: password`` for the
# API document.
_Username: TypeAlias = Annotated[str, Form()]
_Secret: TypeAlias = Annotated[str, Form(json_schema_extra={"format": "password"})]
_Scope: TypeAlias = Annotated[str, Form()]
_ClientId: TypeAlias = Annotated[str | None, Form()]
_ClientSecret: TypeAlias = Annotated[str | None, Form(json_schema_extra={"format": "password"})]


class OAuth2PasswordRequestForm:
    """The form of an OAuth2 password-flow token request (RFC 6749 4.3.2), as a dependency:
    ``form: Annotated[OAuth2PasswordRequestForm, Depends()]`` in the route at ``tokenUrl``.

    The fields come from an ``application/x-www-form-urlencoded`` (or multipart) body; a
    missing ``username`` or ``password`` is a 422, as is a ``grant_type`` other than
    ``password``. This class lets ``grant_type`` be absent (as FastAPI's does);
    :class:`OAuth2PasswordRequestFormStrict` requires it, as the RFC does.

    Attributes:
        grant_type: ``"password"``, or ``None`` when the client did not say.
        username: The user name.
        password: The password.
        scopes: The requested scopes (the form's ``scope`` field split at spaces).
        client_id: The client's id, if sent in the form (RFC 6749 prefers HTTP Basic).
        client_secret: The client's secret, if sent in the form.
    """

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: _Username,
        password: _Secret,
        scope: _Scope = "",
        client_id: _ClientId = None,
        client_secret: _ClientSecret = None,
    ) -> None:
        self.grant_type = grant_type
        self.username = username
        self.password = password
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret


class OAuth2PasswordRequestFormStrict(OAuth2PasswordRequestForm):
    """:class:`OAuth2PasswordRequestForm` that requires ``grant_type=password`` (RFC 6749):
    without it the request is a 422."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str, Form(pattern="^password$")],
        username: _Username,
        password: _Secret,
        scope: _Scope = "",
        client_id: _ClientId = None,
        client_secret: _ClientSecret = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class OAuth2(SecurityBase):
    """The base of the OAuth2 schemes: its value is the whole ``Authorization`` header.

    Args:
        flows: The OAuth2 flows it supports (a model, or the OpenAPI dict of them).
        scheme_name: The name of this scheme in the API document (default: the class name).
        description: Its description there.
        auto_error: A missing ``Authorization`` raises 401 with ``WWW-Authenticate: Bearer``
            (``True``) or gives ``None``.
    """

    model: OAuth2Model

    def __init__(
        self,
        *,
        flows: OAuthFlowsModel | dict[str, dict[str, Any]] | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        if not isinstance(flows, OAuthFlowsModel):
            flows = OAuthFlowsModel.model_validate(flows or {})
        self.model = OAuth2Model(flows=flows, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    async def __call__(self, connection: HTTPConnection) -> str | None:
        """The ``Authorization`` header of the request or handshake, as it came.

        Raises:
            HTTPException: 401 for a missing one (only with ``auto_error``).
        """
        return self._authorization(connection)


class _BearerFlow(OAuth2):
    """An OAuth2 flow whose access token comes as a bearer token: the value is the token."""

    async def __call__(self, connection: HTTPConnection) -> str | None:
        """The bearer token of the request, or of the handshake's ``Authorization`` or
        subprotocols (``["bearer", token]``, as :class:`~fastrapi.security.HTTPBearer`).

        Raises:
            HTTPException: 401 with ``WWW-Authenticate: Bearer`` for a missing, empty or
                non-bearer credential (only with ``auto_error``; else the value is ``None``).
                FastAPI gives ``""`` for ``Authorization: Bearer`` with no token.
        """
        scheme, token = get_authorization_scheme_param(bearer_authorization(connection))
        if scheme.lower() != "bearer" or not token:
            self._unauthenticated()
            return None
        return token


class OAuth2PasswordBearer(_BearerFlow):
    """The OAuth2 password flow: the client gets a token at ``tokenUrl`` (a route taking
    :class:`OAuth2PasswordRequestForm`) and sends it as a bearer token; the value is the token.

    Args:
        tokenUrl: Where a client exchanges a user name and password for a token.
        scheme_name: The name of this scheme in the API document (default: the class name).
        scopes: The scopes the flow offers, name to description.
        description: Its description in the API document.
        auto_error: A missing token raises 401 (``True``) or gives ``None``.
        refreshUrl: Where a client refreshes its token.
    """

    def __init__(
        self,
        tokenUrl: str,
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
        refreshUrl: str | None = None,
    ) -> None:
        flow = {"tokenUrl": tokenUrl, "refreshUrl": refreshUrl, "scopes": scopes or {}}
        super().__init__(
            flows={"password": flow},
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )


class OAuth2AuthorizationCodeBearer(_BearerFlow):
    """The OAuth2 authorization code flow; the value is the bearer token the client sends.

    Args:
        authorizationUrl: Where the user authorizes the client.
        tokenUrl: Where the client exchanges the code for a token.
        refreshUrl: Where a client refreshes its token.
        scheme_name: The name of this scheme in the API document (default: the class name).
        scopes: The scopes the flow offers, name to description.
        description: Its description in the API document.
        auto_error: A missing token raises 401 (``True``) or gives ``None``.
    """

    def __init__(
        self,
        authorizationUrl: str,
        tokenUrl: str,
        refreshUrl: str | None = None,
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        flow = {
            "authorizationUrl": authorizationUrl,
            "tokenUrl": tokenUrl,
            "refreshUrl": refreshUrl,
            "scopes": scopes or {},
        }
        super().__init__(
            flows={"authorizationCode": flow},
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )


@final
class SecurityScopes:
    """The OAuth2 scopes a dependency chain requires, for a parameter annotated with this class.

    fastrapi fills it in: ``scopes`` has the scopes of every ``Security(..., scopes=[...])``
    from the route down to the dependency that asks, outermost first, each once;
    ``scope_str`` is them joined by spaces (the OAuth2 spelling, for a ``WWW-Authenticate``
    header). Treat it as read-only: it is made once, when the route is declared.

    Args:
        scopes: The scopes (fastrapi gives them; construct one yourself only in tests).
    """

    def __init__(self, scopes: Iterable[str] | None = None) -> None:
        self.scopes: list[str] = list(scopes or ())
        self.scope_str: str = " ".join(self.scopes)

    def __repr__(self) -> str:
        return f"SecurityScopes({self.scopes!r})"
