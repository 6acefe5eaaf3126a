"""The OpenAPI document: its pieces (operation ids, parameters, bodies, responses, security,
callbacks, webhooks), its caching and serving, and its validity (openapi-spec-validator)."""

from __future__ import annotations

from collections.abc import AsyncIterator  # noqa: TC003 (the routes' return types are read)
from typing import Annotated, Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, computed_field

from fastrapi import FastrAPI
from fastrapi.datastructures import UploadFile  # noqa: TC001 (the planner resolves it)
from fastrapi.openapi.utils import get_openapi
from fastrapi.params import Body, Cookie, Depends, File, Form, Header, Path, Query, Security
from fastrapi.routing import APIRoute, APIRouter
from fastrapi.security import APIKeyHeader, HTTPBasic, OAuth2PasswordBearer
from fastrapi.sse import EventSourceResponse
from fastrapi.testclient import TestClient


class Item(BaseModel):
    name: str
    price: float | None = None


class Priced(BaseModel):
    price: float
    note: str | None = None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented spelling
    @property
    def taxed(self) -> float:
        return self.price * 1.2


class Filters(BaseModel):
    limit: int = 10
    order_by: str = "id"


def document(app: FastrAPI) -> dict[str, Any]:
    schema = app.openapi()
    validate(schema)  # a valid OpenAPI 3.1 document, whatever the test checks
    return schema


def operation(app: FastrAPI, path: str, method: str = "get") -> dict[str, Any]:
    found: dict[str, Any] = document(app)["paths"][path][method]
    return found


def test_operation_ids_summary_and_description() -> None:
    app = FastrAPI()

    @app.get("/items/{item_id:int}")
    async def read_item_of_user(item_id: int) -> None:
        """Read one.

        \f
        Not shown."""

    @app.post("/x", operation_id="custom", summary="Given")
    async def other() -> None:
        pass

    schema = document(app)
    op = schema["paths"]["/items/{item_id}"]["get"]
    assert op["operationId"] == "read_item_of_user_items__item_id__get"
    assert op["summary"] == "Read Item Of User"
    assert op["description"] == "Read one."
    other_op = schema["paths"]["/x"]["post"]
    assert (other_op["operationId"], other_op["summary"]) == ("custom", "Given")
    assert "description" not in other_op


def test_generate_unique_id_function_and_duplicates_warn() -> None:
    def by_tag(route: APIRoute) -> str:
        return f"{route.tags[0]}-{route.name}"

    app = FastrAPI(generate_unique_id_function=by_tag)

    @app.get("/a", tags=["items"])
    async def read() -> None:
        pass

    assert operation(app, "/a")["operationId"] == "items-read"
    app2 = FastrAPI()

    @app2.get("/a", operation_id="same")
    async def one() -> None:
        pass

    @app2.get("/b", operation_id="same")
    async def two() -> None:
        pass

    with pytest.warns(UserWarning, match="Duplicate Operation ID same"):
        app2.openapi()


def test_parameters_from_markers_and_models() -> None:
    app = FastrAPI()

    @app.get("/items/{item_id}")
    async def read(
        item_id: Annotated[int, Path(ge=1, title="The id")],
        q: Annotated[str | None, Query(max_length=5, deprecated=True)] = None,
        x_token: Annotated[str, Header(description="A token")] = "",
        session: Annotated[str | None, Cookie()] = None,
        hidden: Annotated[int, Query(include_in_schema=False)] = 0,
    ) -> None:
        pass

    @app.get("/search")
    async def search(filters: Annotated[Filters, Query()]) -> None:
        pass

    params = operation(app, "/items/{item_id}")["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in params] == [
        ("item_id", "path", True),
        ("q", "query", False),
        ("x-token", "header", False),
        ("session", "cookie", False),
    ]
    assert params[0]["schema"] == {"type": "integer", "minimum": 1, "title": "The id"}
    assert params[1]["deprecated"] is True
    assert params[1]["schema"]["anyOf"][0] == {"type": "string", "maxLength": 5}
    assert params[2]["description"] == "A token"
    assert params[2]["schema"] == {
        "type": "string",
        "default": "",
        "title": "X-Token",
        "description": "A token",
    }
    search_params = operation(app, "/search")["parameters"]
    assert [p["name"] for p in search_params] == ["limit", "order_by"]
    assert search_params[0]["schema"] == {"type": "integer", "default": 10, "title": "Limit"}


def test_bodies_json_embedded_form_and_multipart() -> None:
    app = FastrAPI()

    @app.post("/one")
    async def one(item: Item) -> None:
        pass

    @app.put("/two")
    async def two(item: Item, importance: Annotated[int, Body(gt=0)]) -> None:
        pass

    @app.post("/form")
    async def form(name: Annotated[str, Form()]) -> None:
        pass

    @app.post("/files")
    async def files(data: Annotated[bytes, File()], upload: UploadFile) -> None:
        pass

    schema = document(app)
    paths = schema["paths"]
    assert paths["/one"]["post"]["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
    }
    body_ref = paths["/two"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body_ref == {"$ref": "#/components/schemas/Body_two_two_put"}
    body = schema["components"]["schemas"]["Body_two_two_put"]
    assert body["required"] == ["item", "importance"]
    assert body["properties"]["importance"] == {
        "type": "integer",
        "exclusiveMinimum": 0,
        "title": "Importance",
    }
    form_content = paths["/form"]["post"]["requestBody"]["content"]
    assert list(form_content) == ["application/x-www-form-urlencoded"]
    files_content = paths["/files"]["post"]["requestBody"]["content"]
    assert list(files_content) == ["multipart/form-data"]
    files_body = schema["components"]["schemas"]["Body_files_files_post"]["properties"]
    binary = {"type": "string", "contentMediaType": "application/octet-stream"}
    assert files_body["data"] == {**binary, "title": "Data"}
    assert files_body["upload"] == {**binary, "title": "Upload"}


def test_responses_status_codes_and_the_422() -> None:
    app = FastrAPI()

    class Message(BaseModel):
        detail: str

    @app.get("/items/{item_id}", responses={404: {"model": Message}, "4XX": {}})
    async def read(item_id: int) -> list[Item]:
        return []

    @app.post("/created", status_code=201, response_description="Made")
    async def created() -> Item:
        return Item(name="x")

    @app.delete("/gone", status_code=204)
    async def gone() -> None:
        pass

    schema = document(app)
    responses = schema["paths"]["/items/{item_id}"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Item"},
        "title": "Response Read Items  Item Id  Get",
    }
    assert responses["404"] == {
        "description": "Not Found",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}},
    }
    assert responses["4XX"] == {"description": "Client Error"}
    assert "422" not in responses  # 4XX covers it
    created_responses = schema["paths"]["/created"]["post"]["responses"]
    assert list(created_responses) == ["201"]
    assert created_responses["201"]["description"] == "Made"
    assert schema["paths"]["/gone"]["delete"]["responses"] == {
        "204": {"description": "Successful Response"}
    }


def test_validation_error_schemas_only_when_something_is_validated() -> None:
    app = FastrAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {}

    schema = document(app)
    assert "components" not in schema
    assert list(schema["paths"]["/"]["get"]["responses"]) == ["200"]


def test_security_schemes_and_scopes() -> None:
    app = FastrAPI()
    oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Read me"})
    api_key = APIKeyHeader(name="X-Key")
    basic = HTTPBasic()

    async def user(token: Annotated[str, Depends(oauth2)]) -> str:
        return token

    @app.get("/me")
    async def me(who: Annotated[str, Security(user, scopes=["me"])]) -> None:
        pass

    @app.get("/key", dependencies=[Depends(api_key), Depends(basic)])
    async def key() -> None:
        pass

    schema = document(app)
    assert operation(app, "/me")["security"] == [{"OAuth2PasswordBearer": ["me"]}]
    assert operation(app, "/key")["security"] == [{"APIKeyHeader": []}, {"HTTPBasic": []}]
    assert schema["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {
            "type": "oauth2",
            "flows": {"password": {"scopes": {"me": "Read me"}, "tokenUrl": "token"}},
        },
        "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Key"},
        "HTTPBasic": {"type": "http", "scheme": "basic"},
    }


def test_callbacks_and_webhooks() -> None:
    callbacks = APIRouter()

    @callbacks.post("{$callback_url}/invoices/{$request.body.id}")
    def invoice_notification(body: Item) -> None:
        pass

    app = FastrAPI()

    @app.post("/invoices", callbacks=callbacks.routes)
    async def create_invoice(item: Item) -> None:
        pass

    @app.webhooks.post("new-item")
    def new_item(body: Item) -> None:
        pass

    schema = document(app)
    cb = schema["paths"]["/invoices"]["post"]["callbacks"]
    cb_op = cb["invoice_notification"]["{$callback_url}/invoices/{$request.body.id}"]["post"]
    assert cb_op["operationId"] == (
        "invoice_notification__callback_url__invoices___request_body_id__post"
    )
    assert cb_op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"
    }
    assert schema["webhooks"]["new-item"]["post"]["summary"] == "New Item"


def test_separate_input_output_schemas() -> None:
    def make(separate: bool) -> FastrAPI:
        app = FastrAPI(separate_input_output_schemas=separate)

        @app.post("/p")
        async def post(item: Priced) -> Priced:
            return item

        return app

    assert set(document(make(True))["components"]["schemas"]) >= {"Priced-Input", "Priced-Output"}
    # a computed field keeps the output schema apart even so (FastAPI's rule)
    assert set(document(make(False))["components"]["schemas"]) >= {
        "Priced-Input",
        "Priced-Output",
    }


def test_extras_tags_servers_and_excluded_routes() -> None:
    app = FastrAPI(
        title="T",
        version="2",
        summary="S",
        servers=[{"url": "https://api.example.com"}],
        openapi_tags=[{"name": "a", "description": "A"}],
        openapi_external_docs={"url": "https://docs.example.com"},
    )

    @app.get("/x", tags=["a"], deprecated=True, openapi_extra={"x-extra": 1})
    async def x() -> None:
        pass

    @app.get("/hidden", include_in_schema=False)
    async def hidden() -> None:
        pass

    schema = document(app)
    assert schema["info"] == {"title": "T", "version": "2", "summary": "S"}
    assert schema["servers"] == [{"url": "https://api.example.com"}]
    assert schema["tags"] == [{"name": "a", "description": "A"}]
    assert schema["externalDocs"] == {"url": "https://docs.example.com"}
    assert list(schema["paths"]) == ["/x"]
    op = schema["paths"]["/x"]["get"]
    assert (op["tags"], op["deprecated"], op["x-extra"]) == (["a"], True, 1)


def test_cached_served_overridable_and_off() -> None:
    app = FastrAPI(root_path="/api")

    @app.get("/x")
    async def x() -> None:
        pass

    client = TestClient(app)
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["servers"] == [{"url": "/api"}]
    assert app.openapi() is app.openapi()  # cached
    assert app.openapi_schema is app.openapi()

    def custom() -> dict[str, Any]:
        return {"custom": True}

    app.openapi = custom  # type: ignore[method-assign]  # FastAPI's way to replace it
    # the request's root path is added to the answer only, not kept in the document
    assert client.get("/openapi.json").json() == {"custom": True, "servers": [{"url": "/api"}]}
    assert custom() == {"custom": True}
    assert app.openapi_schema is not None
    assert "servers" not in app.openapi_schema
    off = FastrAPI(openapi_url=None)
    assert TestClient(off).get("/openapi.json").status_code == 404


def test_get_openapi_directly() -> None:
    router = APIRouter()

    @router.get("/r")
    async def r(q: int) -> None:
        pass

    schema = get_openapi(title="Direct", version="1", routes=router.routes, description="D")
    validate(schema)
    assert schema["info"] == {"title": "Direct", "version": "1", "description": "D"}
    assert schema["openapi"] == "3.1.0"
    assert schema["paths"]["/r"]["get"]["operationId"] == "r_r_get"


def test_streamed_items_are_documented() -> None:
    app = FastrAPI()

    @app.get("/lines")
    async def lines() -> AsyncIterator[Item]:
        yield Item(name="a")

    @app.get("/events", response_class=EventSourceResponse)
    async def events() -> AsyncIterator[Item]:
        yield Item(name="a")

    @app.get("/raw-events", response_class=EventSourceResponse)
    async def raw_events():  # type: ignore[no-untyped-def]  # no annotation: no item schema
        yield "x"

    # itemSchema is OpenAPI 3.2's: FastAPI puts it in its 3.1 documents all the same, and so
    # does fastrapi (equal documents), which openapi-spec-validator's 3.1 schema refuses.
    paths = app.openapi()["paths"]
    ref = {"$ref": "#/components/schemas/Item"}
    lines_content = paths["/lines"]["get"]["responses"]["200"]["content"]
    assert lines_content == {"application/jsonl": {"itemSchema": ref}}
    event = paths["/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert event["itemSchema"]["properties"]["data"] == {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": ref,
    }
    assert event["itemSchema"]["required"] == ["data"]
    raw = paths["/raw-events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert raw["itemSchema"]["properties"]["data"] == {"type": "string"}
    assert "required" not in raw["itemSchema"]


def test_optional_type_without_default_is_documented_as_required() -> None:
    app = FastrAPI()

    @app.get("/q")
    async def q(given: str | None = None) -> None:
        pass

    @app.get("/r")
    async def r(bare: Annotated[str | None, Query(min_length=3)]) -> None:
        pass

    assert [p["required"] for p in operation(app, "/r")["parameters"]] == [True]
    assert operation(app, "/q")["parameters"][0]["required"] is False


def test_a_rich_app_is_a_valid_document() -> None:
    """Every kind of piece at once, in one valid document."""
    from dataclasses import dataclass

    @dataclass
    class Pager:  # an unhashable callable object as a dependency
        size: int

        def __call__(self, page: int = 1) -> int:
            return page * self.size

    pager = Pager(10)
    router = APIRouter(prefix="/shop", tags=["shop"], responses={418: {"description": "Tea"}})

    @router.post("/items/{item_id}", status_code=201, response_model=Item)
    async def upsert(
        item_id: Annotated[int, Path(gt=0)],
        item: Annotated[Item, Body(openapi_examples={"one": {"value": {"name": "x"}}})],
        offset: Annotated[int, Depends(pager)],
        again: Annotated[int, Depends(pager)],
        filters: Annotated[Filters, Query()],
        token: Annotated[str, Security(OAuth2PasswordBearer(tokenUrl="t"), scopes=["w"])],
    ) -> Item:
        return item

    @router.post("/upload")
    async def upload(
        name: Annotated[str, Form()], files: Annotated[list[UploadFile], File()]
    ) -> None:
        pass

    app = FastrAPI(title="Rich", servers=[{"url": "/"}], separate_input_output_schemas=True)
    app.include_router(router)

    @app.get("/priced", responses={"default": {"model": Priced}})
    async def priced() -> Priced:
        return Priced(price=1)

    schema = document(app)
    upsert_op = schema["paths"]["/shop/items/{item_id}"]["post"]
    assert [p["name"] for p in upsert_op["parameters"]] == ["item_id", "limit", "order_by", "page"]
    assert upsert_op["requestBody"]["content"]["application/json"]["examples"] == {
        "one": {"value": {"name": "x"}}
    }
    assert set(upsert_op["responses"]) == {"201", "418", "422"}
    assert upsert_op["tags"] == ["shop"]
    default = schema["paths"]["/priced"]["get"]["responses"]["default"]
    assert default["description"] == "Default Response"
    assert set(schema["components"]["schemas"]) >= {"Priced", "Item"}  # output only: one


def test_one_requirement_per_scheme_with_the_scopes_merged() -> None:
    app = FastrAPI()
    oauth2 = OAuth2PasswordBearer(tokenUrl="token")

    async def reader(token: Annotated[str, Security(oauth2, scopes=["read"])]) -> str:
        return token

    @app.get("/both", dependencies=[Depends(oauth2)])
    async def both(who: Annotated[str, Security(reader, scopes=["write"])]) -> None:
        pass

    assert operation(app, "/both")["security"] == [{"OAuth2PasswordBearer": ["write", "read"]}]


def test_shared_responses_are_not_changed_and_bad_keys_are_refused() -> None:
    class Message(BaseModel):
        detail: str

    shared: dict[int | str, dict[str, Any]] = {
        500: {"model": Message, "content": {"application/json": {"example": {"detail": "x"}}}}
    }
    app = FastrAPI()

    @app.get("/a", responses=shared)
    async def a() -> None:
        pass

    @app.get("/b", responses=shared)
    async def b() -> None:
        pass

    schema = document(app)
    for path in ("/a", "/b"):
        content = schema["paths"][path]["get"]["responses"]["500"]["content"]
        assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Message"}
    assert shared[500]["content"] == {"application/json": {"example": {"detail": "x"}}}
    bad = FastrAPI()

    @bad.get("/c", responses={"hello": {"description": "?"}})
    async def c() -> None:
        pass

    with pytest.raises(ValueError, match="'hello' is not a status code"):
        bad.openapi()


def test_path_parameters_are_always_required() -> None:
    app = FastrAPI()

    @app.get("/users/{user_id}")
    async def user(user_id: str | None = None) -> None:
        pass

    assert operation(app, "/users/{user_id}")["parameters"][0]["required"] is True
