"""The AsyncAPI 3.0 document of the WebSocket routes: its shape, its validity against the
specification's rules (``asyncapi_rules.py``), and its routes (/asyncapi.json, /asyncapi)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

import jsonschema
import pydantic
import pytest
import trio

from fastrapi import Depends, FastrAPI, Header, Hub, Query, WebSocket
from fastrapi.asyncapi import ASYNCAPI_VERSION, get_asyncapi
from fastrapi.openapi.docs import ASSETS_PATH
from fastrapi.security import APIKeyQuery, HTTPBearer, OAuth2PasswordBearer

from .asyncapi_rules import ASYNCAPI_3_RULES

if TYPE_CHECKING:
    from .conftest import HTTP


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(ASYNCAPI_3_RULES)
    return jsonschema.Draft202012Validator(ASYNCAPI_3_RULES)


class Author(pydantic.BaseModel):
    name: str


class Say(pydantic.BaseModel):
    """A line said in the room."""

    type: Literal["say"] = "say"
    text: str
    author: Author


class Leave(pydantic.BaseModel):
    type: Literal["leave"] = "leave"


class Said(pydantic.BaseModel):
    text: str
    author: Author


key = APIKeyQuery(name="key")
bearer = HTTPBearer()
oauth2 = OAuth2PasswordBearer(tokenUrl="/token", scopes={"chat": "Chat"})


def chat_app() -> FastrAPI:
    app = FastrAPI(title="Chat", version="2.0.0", description="Rooms.", hub=Hub())

    async def user(token: Annotated[str, Depends(bearer)]) -> str:
        return "bob"

    @app.websocket(
        "/rooms/{room}", receives=Say | Leave, sends=Said, closes={4001: "the room is full"}
    )
    async def room(
        ws: WebSocket[Say | Leave, Said],
        room: str,
        hub: Hub,
        who: Annotated[str, Depends(user)],
        since: Annotated[int | None, Query()] = None,
        x_client: Annotated[str, Header()] = "web",
    ) -> None:
        """Chat in a room.

        Every line said is sent to every member."""

    @app.websocket("/ticks", sends=list[int])
    async def ticks(ws: WebSocket[Any, list[int]], k: Annotated[str, Depends(key)]) -> None:
        """Numbers."""

    @app.websocket("/plain")
    async def plain(ws: WebSocket) -> None: ...

    @app.websocket("/secret", include_in_schema=False)
    async def secret(ws: WebSocket, t: Annotated[str, Depends(oauth2)]) -> None: ...

    return app


def test_the_document_is_valid_asyncapi_3(validator: jsonschema.Draft202012Validator) -> None:
    document = chat_app().asyncapi()
    assert list(validator.iter_errors(document)) == []
    assert document["asyncapi"] == ASYNCAPI_VERSION == "3.0.0"
    assert document["info"] == {"title": "Chat", "version": "2.0.0", "description": "Rooms."}


@pytest.mark.parametrize(
    ("where", "key", "bad"),
    [
        (("operations", "receive_room"), "action", "listen"),
        (("channels", "room", "bindings", "ws"), "method", "PUT"),
        (("channels", "room"), "address", 7),
        (("components", "securitySchemes", "HTTPBearer"), "type", "telepathy"),
    ],
)
def test_the_validator_catches_a_broken_document(
    validator: jsonschema.Draft202012Validator, where: tuple[str, ...], key: str, bad: object
) -> None:
    document = chat_app().asyncapi()
    part = document
    for name in where:
        part = part[name]
    part[key] = bad
    assert list(validator.iter_errors(document)) != []


def test_a_channel_per_route_with_parameters_bindings_and_close_codes() -> None:
    channels = chat_app().asyncapi()["channels"]
    assert list(channels) == ["room", "ticks", "plain"]  # not the one out of the schema
    room = channels["room"]
    assert room["address"] == "/rooms/{room}"
    assert room["parameters"] == {"room": {}}
    assert room["title"] == "Chat in a room."
    assert room["description"].startswith("Chat in a room.\n\nEvery line said is sent")
    assert "- `4001`: the room is full" in room["description"]
    assert "- `1011`: " in room["description"]
    ws = room["bindings"]["ws"]
    assert ws["bindingVersion"] == "0.1.0"
    assert ws["query"]["properties"]["since"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert "required" not in ws["query"]
    assert ws["headers"]["properties"]["x-client"] == {"type": "string", "default": "web"}
    assert list(room["messages"]) == ["Say", "Leave", "Said", "HubEnvelope"]
    assert channels["plain"]["bindings"] == {"ws": {"bindingVersion": "0.1.0"}}
    assert channels["plain"]["messages"] == {}


def test_operations_messages_and_schemas_moved_to_components() -> None:
    document = chat_app().asyncapi()
    operations, components = document["operations"], document["components"]
    assert list(operations) == ["receive_room", "send_room", "send_ticks"]
    receive = operations["receive_room"]
    assert receive["action"] == "receive"
    assert receive["channel"] == {"$ref": "#/channels/room"}
    assert receive["messages"] == [
        {"$ref": "#/channels/room/messages/Say"},
        {"$ref": "#/channels/room/messages/Leave"},
    ]
    assert operations["send_room"]["messages"][-1] == {
        "$ref": "#/channels/room/messages/HubEnvelope"
    }
    assert receive["security"] == [{"$ref": "#/components/securitySchemes/HTTPBearer"}]
    assert operations["send_ticks"]["security"] == [
        {"$ref": "#/components/securitySchemes/APIKeyQuery"}
    ]
    messages = components["messages"]
    assert messages["Say"]["payload"] == {"$ref": "#/components/schemas/Say"}
    assert messages["Say"]["summary"] == "A line said in the room."
    assert messages["list"]["payload"] == {"type": "array", "items": {"type": "integer"}}
    assert set(messages["HubEnvelope"]["payload"]["required"]) == {
        "topic",
        "epoch",
        "offset",
        "data",
    }
    schemas = components["schemas"]
    assert set(schemas) == {"Author", "Say", "Leave", "Said"}
    assert schemas["Say"]["properties"]["author"] == {"$ref": "#/components/schemas/Author"}
    assert "$defs" not in json.dumps(document)
    assert components["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"},
        "APIKeyQuery": {"type": "httpApiKey", "name": "key", "in": "query"},
    }


def test_oauth2_scopes_become_available_scopes(validator: jsonschema.Draft202012Validator) -> None:
    app = FastrAPI()

    @app.websocket("/ws", receives=str)
    async def handler(ws: WebSocket, t: Annotated[str, Depends(oauth2)]) -> None: ...

    document = app.asyncapi()
    assert list(validator.iter_errors(document)) == []
    scheme = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme == {
        "type": "oauth2",
        "flows": {"password": {"tokenUrl": "/token", "availableScopes": {"chat": "Chat"}}},
    }


def test_an_app_without_websockets(validator: jsonschema.Draft202012Validator) -> None:
    document = get_asyncapi(title="T", version="1", routes=FastrAPI().routes)
    assert document == {
        "asyncapi": "3.0.0",
        "info": {"title": "T", "version": "1"},
        "defaultContentType": "application/json",
        "channels": {},
        "operations": {},
    }
    assert list(validator.iter_errors(document)) == []


async def test_served_cached_and_rendered(http: HTTP) -> None:
    app = chat_app()
    with trio.fail_after(5):
        document = await http(app, "GET", "/asyncapi.json")
        page = await http(app, "GET", "/asyncapi")
        script = await http(app, "GET", f"{ASSETS_PATH}/asyncapi-viewer.js")
    assert document.status_code == 200
    assert json.loads(document.body) == app.asyncapi()
    assert app.asyncapi() is app.asyncapi_schema
    text = page.body.decode()
    assert '<asyncapi-viewer src="/asyncapi.json" sidebar></asyncapi-viewer>' in text
    assert f'src="{ASSETS_PATH}/asyncapi-viewer.js"' in text
    assert "<title>Chat - AsyncAPI</title>" in text
    assert "connect-src 'self';" in page.headers["content-security-policy"]
    assert script.status_code == 200


async def test_off_or_replaced(http: HTTP) -> None:
    off = FastrAPI(asyncapi_url=None, docs_url=None, redoc_url=None)
    no_page = FastrAPI(asyncapi_docs_url=None)
    custom = FastrAPI()
    custom.asyncapi = lambda: {"asyncapi": "3.0.0", "custom": True}  # type: ignore[method-assign]
    with trio.fail_after(5):
        assert (await http(off, "GET", "/asyncapi.json")).status_code == 404
        assert (await http(off, "GET", "/asyncapi")).status_code == 404
        assert (await http(off, "GET", f"{ASSETS_PATH}/asyncapi-viewer.js")).status_code == 404
        assert (await http(no_page, "GET", "/asyncapi")).status_code == 404
        assert (await http(no_page, "GET", "/asyncapi.json")).status_code == 200
        replaced = await http(custom, "GET", "/asyncapi.json")
    assert json.loads(replaced.body) == {"asyncapi": "3.0.0", "custom": True}


def test_text_and_binary_messages(validator: jsonschema.Draft202012Validator) -> None:
    app = FastrAPI()

    @app.websocket("/raw", receives=str | bytes, sends=bytes)
    async def raw(ws: WebSocket) -> None: ...

    document = app.asyncapi()
    assert list(validator.iter_errors(document)) == []
    messages = document["components"]["messages"]
    assert messages["Text"] == {
        "name": "Text",
        "contentType": "text/plain",
        "payload": {"type": "string"},
    }
    assert messages["Binary"]["contentType"] == "application/octet-stream"
    assert messages["Binary"]["payload"] == {"type": "string", "format": "binary"}
    assert [m["$ref"] for m in document["operations"]["send_raw"]["messages"]] == [
        "#/channels/raw/messages/Binary"
    ]


def test_the_chat_examples_declare_their_messages(
    validator: jsonschema.Draft202012Validator,
) -> None:
    from ..test_examples import app_of

    for name, sent in [
        ("chat_room", {"UserJoined", "ChatLine", "UserLeft"}),
        ("chat_hub", {"Members", "Reload", "HubEnvelope"}),
        ("secure_chat", {"Refused", "HubEnvelope"}),  # it takes the Hub
        ("api_documentation", {"Said", "Presence"}),
    ]:
        document = app_of(name).asyncapi()
        assert list(validator.iter_errors(document)) == [], name
        (channel,) = set(document["channels"]) - {"hub"}  # chat_hub's page has a hub route
        send = document["operations"][f"send_{channel}"]["messages"]
        assert {ref["$ref"].rpartition("/")[2] for ref in send} == sent, name


def test_servers_from_the_apps_absolute_urls(validator: jsonschema.Draft202012Validator) -> None:
    app = FastrAPI(
        servers=[
            {"url": "https://chat.example.com/v1", "description": "Production"},
            {"url": "http://localhost:8000"},
            {"url": "/relative"},
        ]
    )
    document = app.asyncapi()
    assert list(validator.iter_errors(document)) == []
    assert document["servers"] == {
        "server1": {
            "host": "chat.example.com",
            "protocol": "wss",
            "pathname": "/v1",
            "description": "Production",
        },
        "server2": {"host": "localhost:8000", "protocol": "ws"},
    }
    assert "servers" not in FastrAPI(servers=[{"url": "/api"}]).asyncapi()
    given = {"main": {"host": "example.com", "protocol": "wss"}}
    assert get_asyncapi(title="T", version="1", routes=[], servers=given)["servers"] == given


def test_a_hub_route_has_its_protocol_messages_close_codes_and_security(
    validator: jsonschema.Draft202012Validator,
) -> None:
    app = chat_app()

    async def can_publish(connection: object, topic: str, k: Annotated[str, Depends(key)]) -> bool:
        return True

    app.hub_route("/realtime", can_publish=can_publish, dependencies=[Depends(bearer)])
    document = app.asyncapi()
    assert list(validator.iter_errors(document)) == []
    hub = document["channels"]["hub"]
    assert hub["address"] == "/realtime"
    assert hub["title"].startswith("The app's Hub, in the fastrapi.hub.v1 protocol")
    for code in ("1001", "1006", "1008", "1012", "1013", "4400", "4401", "4403"):
        assert f"- `{code}`: " in hub["description"]
    assert "4500-4999 are the application's" in hub["description"]
    assert list(hub["messages"]) == [
        "HubSubscribe",
        "HubUnsubscribe",
        "HubPublish",
        "HubRpc",
        "HubPresence",
        "HubHistory",
        "HubPong",
        "HubHello",
        "HubSubscribed",
        "HubPublication",
        "HubJoin",
        "HubLeave",
        "HubPing",
        "HubReply",
        "HubError",
    ]
    receive = document["operations"]["receive_hub"]
    assert receive["security"] == [
        {"$ref": "#/components/securitySchemes/HTTPBearer"},
        {"$ref": "#/components/securitySchemes/APIKeyQuery"},
    ]
    messages = document["components"]["messages"]
    assert messages["Leave"]["payload"] == {"$ref": "#/components/schemas/Leave"}  # the chat's
    assert messages["HubSubscribed"]["summary"].startswith("The reply to subscribe")
    subscribed = document["components"]["schemas"]["HubSubscribed"]
    assert set(subscribed["required"]) >= {"was_recovering", "recovered", "epoch", "offset"}
