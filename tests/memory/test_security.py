"""Every security scheme of ``fastrapi.security`` on HTTP routes and on WebSocket handshakes,
on both servers: what each gives, and the refusal (status and ``WWW-Authenticate``) of each
missing or bad credential."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import pytest
import trio
from pydantic import BaseModel

from fastrapi import Depends, FastrAPI, HTTPException, WebSocket
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
from fastrapi.security.http import HTTPBase
from fastrapi.testing import HandshakeRejected

if TYPE_CHECKING:
    from fastrapi.security.base import SecurityBase

    from .conftest import HTTP, Connect


class Bearer403(HTTPBearer):
    """FastAPI's recipe for the pre-0.122 status."""

    def make_not_authenticated_error(self) -> HTTPException:
        return HTTPException(403, "Not authenticated")


SCHEMES: dict[str, SecurityBase] = {
    "bearer": HTTPBearer(),
    "bearer-opt": HTTPBearer(auto_error=False),
    "basic": HTTPBasic(),
    "basic-realm": HTTPBasic(realm="kingdom"),
    "basic-opt": HTTPBasic(auto_error=False),
    "digest": HTTPDigest(),
    "any": HTTPBase(scheme="custom"),
    "header": APIKeyHeader(name="X-Key"),
    "query": APIKeyQuery(name="key"),
    "cookie": APIKeyCookie(name="key"),
    "key-opt": APIKeyHeader(name="X-Key", auto_error=False),
    "password": OAuth2PasswordBearer("token"),
    "password-opt": OAuth2PasswordBearer("token", auto_error=False),
    "code": OAuth2AuthorizationCodeBearer("authorize", "token"),
    "oauth2": OAuth2(),
    "oidc": OpenIdConnect(openIdConnectUrl="https://example.com/.well-known"),
    "403": Bearer403(),
}


def plain(value: object) -> object:
    return value.model_dump() if isinstance(value, BaseModel) else value


def _add_routes(app: FastrAPI, name: str, scheme: SecurityBase) -> None:
    @app.get(f"/{name}")
    async def over_http(got: Annotated[Any, Depends(scheme)]) -> object:
        return {"got": plain(got)}

    @app.websocket(f"/{name}")
    async def over_websocket(ws: WebSocket, got: Annotated[Any, Depends(scheme)]) -> None:
        await ws.accept()
        await ws.send_json({"got": plain(got)})


def security_app() -> FastrAPI:
    app = FastrAPI()
    for name, scheme in SCHEMES.items():
        _add_routes(app, name, scheme)
    return app


def basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# (id, path, headers, expected value)
GIVES: list[tuple[str, str, dict[str, str], object]] = [
    ("bearer", "/bearer", bearer("abc"), {"scheme": "Bearer", "credentials": "abc"}),
    (
        "bearer-lowercase",
        "/bearer",
        {"Authorization": "bearer abc"},
        {"scheme": "bearer", "credentials": "abc"},
    ),
    ("bearer-opt-missing", "/bearer-opt", {}, None),
    ("bearer-opt-wrong-scheme", "/bearer-opt", basic(b"a:b"), None),
    ("basic", "/basic", basic(b"ann:s3cret:x"), {"username": "ann", "password": "s3cret:x"}),
    (
        "basic-utf8",
        "/basic",
        basic("zoë:pässword".encode()),
        {"username": "zoë", "password": "pässword"},
    ),
    ("basic-empty-password", "/basic", basic(b"ann:"), {"username": "ann", "password": ""}),
    ("basic-opt-missing", "/basic-opt", {}, None),
    (
        "digest",
        "/digest",
        {"Authorization": 'Digest username="ann"'},
        {"scheme": "Digest", "credentials": 'username="ann"'},
    ),
    (
        "any-scheme",
        "/any",
        {"Authorization": "Custom x y"},
        {"scheme": "Custom", "credentials": "x y"},
    ),
    ("header", "/header", {"X-Key": "k1"}, "k1"),
    ("query", "/query?key=k1", {}, "k1"),
    ("cookie", "/cookie", {"Cookie": "key=k1"}, "k1"),
    ("key-opt-missing", "/key-opt", {}, None),
    ("password", "/password", bearer("tok"), "tok"),
    ("password-opt-missing", "/password-opt", {}, None),
    ("password-opt-empty", "/password-opt", {"Authorization": "Bearer"}, None),
    ("code", "/code", bearer("tok"), "tok"),
    ("oauth2", "/oauth2", {"Authorization": "Whatever x"}, "Whatever x"),
    ("oidc", "/oidc", bearer("tok"), "Bearer tok"),
]

# (id, path, headers, status, WWW-Authenticate)
REFUSES: list[tuple[str, str, dict[str, str], int, str | None]] = [
    ("bearer-missing", "/bearer", {}, 401, "Bearer"),
    ("bearer-wrong-scheme", "/bearer", basic(b"a:b"), 401, "Bearer"),
    ("bearer-no-token", "/bearer", {"Authorization": "Bearer"}, 401, "Bearer"),
    ("bearer-empty-header", "/bearer", {"Authorization": ""}, 401, "Bearer"),
    ("basic-missing", "/basic", {}, 401, "Basic"),
    ("basic-wrong-scheme", "/basic", bearer("abc"), 401, "Basic"),
    ("basic-not-base64", "/basic", {"Authorization": "Basic notabase64token"}, 401, "Basic"),
    ("basic-junk-in-base64", "/basic", {"Authorization": "Basic YW5u!OnB3"}, 401, "Basic"),
    ("basic-no-colon", "/basic", basic(b"johnsecret"), 401, "Basic"),
    ("basic-not-utf8", "/basic", basic(b"\xff\xfe:pw"), 401, "Basic"),
    ("basic-no-credentials", "/basic", {"Authorization": "Basic"}, 401, "Basic"),
    ("basic-realm", "/basic-realm", {}, 401, 'Basic realm="kingdom"'),
    ("basic-opt-malformed", "/basic-opt", {"Authorization": "Basic %%%"}, 401, "Basic"),
    ("digest-missing", "/digest", {}, 401, "Digest"),
    ("digest-wrong-scheme", "/digest", bearer("abc"), 401, "Digest"),
    ("any-missing", "/any", {}, 401, "Custom"),
    ("any-no-credentials", "/any", {"Authorization": "Custom"}, 401, "Custom"),
    ("header-missing", "/header", {}, 401, "APIKey"),
    ("header-empty", "/header", {"X-Key": ""}, 401, "APIKey"),
    ("query-missing", "/query", {}, 401, "APIKey"),
    ("query-empty", "/query?key=", {}, 401, "APIKey"),
    ("cookie-missing", "/cookie", {"Cookie": "other=k1"}, 401, "APIKey"),
    ("password-missing", "/password", {}, 401, "Bearer"),
    ("password-wrong-scheme", "/password", basic(b"a:b"), 401, "Bearer"),
    ("password-no-token", "/password", {"Authorization": "Bearer"}, 401, "Bearer"),
    ("code-missing", "/code", {}, 401, "Bearer"),
    ("oauth2-missing", "/oauth2", {}, 401, "Bearer"),
    ("oidc-missing", "/oidc", {}, 401, "Bearer"),
    ("overridden-403", "/403", {}, 403, None),
]


@pytest.mark.parametrize(
    ("path", "headers", "value"), [c[1:] for c in GIVES], ids=[c[0] for c in GIVES]
)
async def test_http_gives(path: str, headers: dict[str, str], value: object, http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(security_app(), "GET", path, headers=headers)
    assert (response.status_code, response.json()) == (200, {"got": value})


@pytest.mark.parametrize(
    ("path", "headers", "status", "challenge"),
    [c[1:] for c in REFUSES],
    ids=[c[0] for c in REFUSES],
)
async def test_http_refuses(
    path: str, headers: dict[str, str], status: int, challenge: str | None, http: HTTP
) -> None:
    with trio.fail_after(5):
        response = await http(security_app(), "GET", path, headers=headers)
    assert (response.status_code, response.json()) == (status, {"detail": "Not authenticated"})
    assert response.headers.get("www-authenticate") == challenge


@pytest.mark.parametrize(
    ("path", "headers", "value"), [c[1:] for c in GIVES], ids=[c[0] for c in GIVES]
)
async def test_websocket_gives(
    path: str, headers: dict[str, str], value: object, connect: Connect
) -> None:
    with trio.fail_after(5):
        async with connect(security_app(), path, headers=headers) as client:
            assert await client.receive_json() == {"got": value}
    assert client.subprotocol is None


@pytest.mark.parametrize(
    ("path", "headers", "status", "challenge"),
    [c[1:] for c in REFUSES],
    ids=[c[0] for c in REFUSES],
)
async def test_websocket_refuses_the_handshake(
    path: str, headers: dict[str, str], status: int, challenge: str | None, connect: Connect
) -> None:
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(security_app(), path, headers=headers):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert caught.value.status_code == status
    assert orjson.loads(caught.value.body) == {"detail": "Not authenticated"}
    assert caught.value.headers.get("www-authenticate") == challenge


# -- the bearer token in Sec-WebSocket-Protocol ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/bearer", {"scheme": "Bearer", "credentials": "tok.en-1"}),
        ("/password", "tok.en-1"),
        ("/code", "tok.en-1"),
    ],
)
async def test_a_browser_sends_its_token_as_subprotocols(
    path: str, value: object, connect: Connect
) -> None:
    with trio.fail_after(5):
        async with connect(security_app(), path, subprotocols=["bearer", "tok.en-1"]) as client:
            assert await client.receive_json() == {"got": value}
    assert client.subprotocol == "bearer"  # one the client offered, never the token


async def test_the_app_may_answer_its_own_subprotocol(connect: Connect) -> None:
    app = FastrAPI()

    @app.websocket("/chat")
    async def chat(
        ws: WebSocket, token: Annotated[str, Depends(OAuth2PasswordBearer("t"))]
    ) -> None:
        await ws.accept(subprotocol="chat.v1")
        await ws.send_text(token)

    with trio.fail_after(5):
        offered = ["chat.v1", "bearer", "tok"]
        async with connect(app, "/chat", subprotocols=offered) as client:
            assert await client.receive_text() == "tok"
    assert client.subprotocol == "chat.v1"


async def test_the_authorization_header_wins_over_subprotocols(connect: Connect) -> None:
    with trio.fail_after(5):
        async with connect(
            security_app(), "/password", headers=bearer("header"), subprotocols=["bearer", "sub"]
        ) as client:
            assert await client.receive_json() == {"got": "header"}
    assert client.subprotocol is None  # the token did not come from there


@pytest.mark.parametrize("offered", [["bearer"], ["tok", "bearer"], ["Bearer", "tok"], ["chat.v1"]])
async def test_no_token_after_bearer_refuses(offered: list[str], connect: Connect) -> None:
    with trio.fail_after(5), pytest.raises(HandshakeRejected) as caught:
        async with connect(security_app(), "/bearer", subprotocols=offered):
            pytest.fail("the handshake must be refused")  # pragma: no cover
    assert (caught.value.status_code, caught.value.headers["www-authenticate"]) == (401, "Bearer")


async def test_subprotocols_do_not_carry_tokens_over_http(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            security_app(), "GET", "/bearer", headers={"Sec-WebSocket-Protocol": "bearer, tok"}
        )
    assert response.status_code == 401
