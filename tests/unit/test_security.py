"""The security schemes' API documents, and the markers, without a server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fastrapi import Depends, Security, SecurityScopes
from fastrapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPBasic,
    HTTPBearer,
    HTTPDigest,
    OAuth2,
    OAuth2AuthorizationCodeBearer,
    OAuth2PasswordBearer,
    OpenIdConnect,
)
from fastrapi.security.utils import get_authorization_scheme_param

if TYPE_CHECKING:
    from fastrapi.security.base import SecurityBase


@pytest.mark.parametrize(
    ("scheme", "name", "document"),
    [
        (HTTPBearer(), "HTTPBearer", {"type": "http", "scheme": "bearer"}),
        (
            HTTPBearer(bearerFormat="JWT", description="d", scheme_name="jwt"),
            "jwt",
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "d"},
        ),
        (HTTPBasic(realm="r"), "HTTPBasic", {"type": "http", "scheme": "basic"}),
        (HTTPDigest(), "HTTPDigest", {"type": "http", "scheme": "digest"}),
        (
            APIKeyHeader(name="X-Key"),
            "APIKeyHeader",
            {"type": "apiKey", "in": "header", "name": "X-Key"},
        ),
        (APIKeyQuery(name="k"), "APIKeyQuery", {"type": "apiKey", "in": "query", "name": "k"}),
        (APIKeyCookie(name="s"), "APIKeyCookie", {"type": "apiKey", "in": "cookie", "name": "s"}),
        (
            OAuth2PasswordBearer("token", scopes={"me": "Read me"}, refreshUrl="refresh"),
            "OAuth2PasswordBearer",
            {
                "type": "oauth2",
                "flows": {
                    "password": {
                        "tokenUrl": "token",
                        "refreshUrl": "refresh",
                        "scopes": {"me": "Read me"},
                    }
                },
            },
        ),
        (
            OAuth2AuthorizationCodeBearer("authorize", "token"),
            "OAuth2AuthorizationCodeBearer",
            {
                "type": "oauth2",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": "authorize",
                        "tokenUrl": "token",
                        "scopes": {},
                    }
                },
            },
        ),
        (
            OAuth2(flows={"clientCredentials": {"tokenUrl": "t"}}),
            "OAuth2",
            {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "t", "scopes": {}}}},
        ),
        (
            OpenIdConnect(openIdConnectUrl="https://id.example/.well-known"),
            "OpenIdConnect",
            {"type": "openIdConnect", "openIdConnectUrl": "https://id.example/.well-known"},
        ),
    ],
    ids=lambda v: "" if isinstance(v, dict | str) else type(v).__name__,
)
def test_each_scheme_has_its_api_document(
    scheme: SecurityBase, name: str, document: dict[str, object]
) -> None:
    assert scheme.scheme_name == name
    assert scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True) == document


def test_a_bad_flow_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="tokenUrl"):
        OAuth2(flows={"password": {"scopes": {}}})


@pytest.mark.parametrize(
    ("header", "parts"),
    [
        (None, ("", "")),
        ("", ("", "")),
        ("Bearer", ("Bearer", "")),
        ("Bearer  abc ", ("Bearer", "abc")),
        ("Digest a=1, b=2", ("Digest", "a=1, b=2")),
    ],
)
def test_get_authorization_scheme_param(header: str | None, parts: tuple[str, str]) -> None:
    assert get_authorization_scheme_param(header) == parts


def test_security_is_a_depends_with_scopes() -> None:
    def dep() -> None: ...

    marker = Security(dep, scopes=["a", "b"], use_cache=False)
    assert isinstance(marker, Depends)
    assert (marker.dependency, marker.scopes, marker.use_cache) == (dep, ("a", "b"), False)
    assert repr(marker).endswith("dep, scopes=['a', 'b'])")
    assert Security(dep).scopes == ()


def test_security_scopes_alone() -> None:
    assert (SecurityScopes().scopes, SecurityScopes().scope_str) == ([], "")
    scopes = SecurityScopes(["me", "items"])
    assert (scopes.scopes, scopes.scope_str) == (["me", "items"], "me items")
    assert repr(scopes) == "SecurityScopes(['me', 'items'])"
