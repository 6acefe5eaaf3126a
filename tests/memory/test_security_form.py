"""``OAuth2PasswordRequestForm`` and its strict form: the token request of the password flow,
from a urlencoded or multipart body, on both servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import pytest
import trio

from fastrapi import Depends, FastrAPI
from fastrapi.security import (  # noqa: TC001 (the routes' annotations are resolved at runtime)
    OAuth2PasswordRequestForm,
    OAuth2PasswordRequestFormStrict,
)

if TYPE_CHECKING:
    from .conftest import HTTP

URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


def token_app() -> FastrAPI:
    app = FastrAPI()

    @app.post("/token")
    async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, object]:
        return vars(form)

    @app.post("/strict")
    async def strict(
        form: Annotated[OAuth2PasswordRequestFormStrict, Depends()],
    ) -> dict[str, object]:
        return vars(form)

    return app


async def test_every_field(http: HTTP) -> None:
    body = (
        b"grant_type=password&username=ann&password=p%40ss&scope=me+items"
        b"&client_id=c&client_secret=s"
    )
    with trio.fail_after(5):
        response = await http(token_app(), "POST", "/token", headers=URLENCODED, body=body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "grant_type": "password",
        "username": "ann",
        "password": "p@ss",
        "scopes": ["me", "items"],
        "client_id": "c",
        "client_secret": "s",
    }


async def test_only_the_required_fields(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            token_app(), "POST", "/token", headers=URLENCODED, body=b"username=ann&password=pw"
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "grant_type": None,
        "username": "ann",
        "password": "pw",
        "scopes": [],
        "client_id": None,
        "client_secret": None,
    }


async def test_a_multipart_form(http: HTTP) -> None:
    boundary = "b0undary"
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in {"username": "ann", "password": "pw"}.items()
        )
        + f"--{boundary}--\r\n"
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    with trio.fail_after(5):
        response = await http(token_app(), "POST", "/token", headers=headers, body=body.encode())
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "ann"


@pytest.mark.parametrize(
    ("path", "body", "bad"),
    [
        ("/token", b"username=ann", ["password"]),
        ("/token", b"", ["username", "password"]),
        ("/token", b"username=ann&password=pw&grant_type=client_credentials", ["grant_type"]),
        ("/strict", b"username=ann&password=pw", ["grant_type"]),
        ("/strict", b"username=ann&password=pw&grant_type=Password", ["grant_type"]),
    ],
    ids=["no-password", "empty", "wrong-grant", "strict-no-grant", "strict-wrong-grant"],
)
async def test_a_bad_form_is_a_422(path: str, body: bytes, bad: list[str], http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(token_app(), "POST", path, headers=URLENCODED, body=body)
    assert response.status_code == 422, response.text
    assert [error["loc"] for error in response.json()["detail"]] == [["body", f] for f in bad]


async def test_the_strict_form_takes_grant_type_password(http: HTTP) -> None:
    body = b"grant_type=password&username=ann&password=pw"
    with trio.fail_after(5):
        response = await http(token_app(), "POST", "/strict", headers=URLENCODED, body=body)
    assert (response.status_code, response.json()["grant_type"]) == (200, "password")


async def test_json_is_not_a_form(http: HTTP) -> None:
    with trio.fail_after(5):
        response = await http(
            token_app(),
            "POST",
            "/token",
            headers={"Content-Type": "application/json"},
            body=b'{"username": "ann", "password": "pw"}',
        )
    assert response.status_code == 422
