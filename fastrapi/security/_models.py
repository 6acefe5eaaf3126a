"""The OpenAPI 3.1 Security Scheme objects of the schemes, as pydantic models (FastAPI's
``fastapi.openapi.models`` names and fields).

Each scheme keeps its object in ``.model``; ``model.model_dump(by_alias=True,
exclude_none=True)`` is the entry of ``components.securitySchemes``.
"""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "APIKey",
    "APIKeyIn",
    "HTTPBase",
    "HTTPBearer",
    "OAuth2",
    "OAuthFlow",
    "OAuthFlowAuthorizationCode",
    "OAuthFlowClientCredentials",
    "OAuthFlowImplicit",
    "OAuthFlowPassword",
    "OAuthFlows",
    "OpenIdConnect",
    "SecuritySchemeModel",
]


class SecuritySchemeModel(BaseModel):
    """What every Security Scheme object has: its ``type`` and a ``description``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str
    description: str | None = None


class HTTPBase(SecuritySchemeModel):
    """``type: http`` with an RFC 7235 ``scheme`` (``basic``, ``digest``, ...)."""

    type: Literal["http"] = "http"
    scheme: str


class HTTPBearer(HTTPBase):
    """``type: http``, ``scheme: bearer``, with an optional hint of the token's format."""

    scheme: Literal["bearer"] = "bearer"
    bearerFormat: str | None = None


class APIKeyIn(enum.StrEnum):
    """Where an API key travels."""

    query = "query"
    header = "header"
    cookie = "cookie"


class APIKey(SecuritySchemeModel):
    """``type: apiKey``: a key named ``name`` in the query, a header or a cookie."""

    type: Literal["apiKey"] = "apiKey"
    in_: APIKeyIn = Field(alias="in")
    name: str


class OAuthFlow(BaseModel):
    """What every OAuth2 flow has: a refresh URL and the scopes it offers."""

    model_config = ConfigDict(extra="allow")

    refreshUrl: str | None = None
    scopes: dict[str, str] = Field(default_factory=dict)


class OAuthFlowImplicit(OAuthFlow):
    """The implicit flow."""

    authorizationUrl: str


class OAuthFlowPassword(OAuthFlow):
    """The resource owner password flow."""

    tokenUrl: str


class OAuthFlowClientCredentials(OAuthFlow):
    """The client credentials flow."""

    tokenUrl: str


class OAuthFlowAuthorizationCode(OAuthFlow):
    """The authorization code flow."""

    authorizationUrl: str
    tokenUrl: str


class OAuthFlows(BaseModel):
    """The OAuth2 flows a scheme supports."""

    model_config = ConfigDict(extra="allow")

    implicit: OAuthFlowImplicit | None = None
    password: OAuthFlowPassword | None = None
    clientCredentials: OAuthFlowClientCredentials | None = None
    authorizationCode: OAuthFlowAuthorizationCode | None = None


class OAuth2(SecuritySchemeModel):
    """``type: oauth2`` and its flows."""

    type: Literal["oauth2"] = "oauth2"
    flows: OAuthFlows


class OpenIdConnect(SecuritySchemeModel):
    """``type: openIdConnect`` and the URL of the provider's discovery document."""

    type: Literal["openIdConnect"] = "openIdConnect"
    openIdConnectUrl: str
