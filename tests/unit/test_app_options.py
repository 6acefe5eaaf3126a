"""FastrAPI's constructor: FastAPI's keywords are kept, WebSocket options still work, an unknown
keyword is a TypeError naming it; on_event."""

from __future__ import annotations

from typing import Any

import pytest

from fastrapi import Depends, FastrAPI, HTMLResponse


def test_fastapi_keywords_are_kept() -> None:
    async def handler(request: object, exc: Exception) -> None: ...

    def dep() -> None: ...

    tags = [{"name": "items", "description": "Items."}]
    app = FastrAPI(
        title="Shop",
        summary="A shop",
        description="Sells things",
        version="2.5.0",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url="/r",
        openapi_tags=tags,
        servers=[{"url": "https://example.com"}],
        terms_of_service="https://example.com/tos",
        contact={"name": "Ann"},
        license_info={"name": "MIT"},
        root_path="/api",
        root_path_in_servers=False,
        exception_handlers={KeyError: handler, 404: handler},
        middleware=["m"],
        dependencies=[Depends(dep)],
        default_response_class=HTMLResponse,
        redirect_slashes=False,
        swagger_ui_parameters={"deepLinking": False},
        separate_input_output_schemas=False,
        debug=True,
        max_queue=4,
    )
    assert (app.title, app.summary, app.description, app.version) == (
        "Shop",
        "A shop",
        "Sells things",
        "2.5.0",
    )
    assert (app.openapi_url, app.docs_url, app.redoc_url) == ("/api/openapi.json", None, "/r")
    assert app.openapi_tags == tags
    assert app.servers == [{"url": "https://example.com"}]
    assert app.contact == {"name": "Ann"}
    assert app.license_info == {"name": "MIT"}
    assert app.terms_of_service == "https://example.com/tos"
    assert (app.root_path, app.root_path_in_servers) == ("/api", False)
    assert app.exception_handlers == {KeyError: handler, 404: handler}
    assert app.user_middleware == ["m"]
    assert app.swagger_ui_parameters == {"deepLinking": False}
    assert app.separate_input_output_schemas is False
    assert app.debug is True
    assert app.websocket_options.max_queue == 4


def test_defaults_are_fastapis() -> None:
    app = FastrAPI()
    assert (app.title, app.version, app.description, app.summary) == ("FastAPI", "0.1.0", "", None)
    assert (app.openapi_url, app.docs_url, app.redoc_url) == ("/openapi.json", "/docs", "/redoc")
    assert app.exception_handlers == {}
    assert app.user_middleware == []
    assert app.root_path == ""


def test_openapi_prefix_is_the_old_name_of_root_path() -> None:
    assert FastrAPI(openapi_prefix="/v1").root_path == "/v1"


@pytest.mark.parametrize("keyword", ["titel", "max_queues", "routez"])
def test_unknown_keyword_is_a_type_error_naming_it(keyword: str) -> None:
    options: dict[str, Any] = {keyword: 1}
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
        FastrAPI(**options)


def test_websocket_route_option_unknown_is_a_type_error() -> None:
    app = FastrAPI()
    options: dict[str, Any] = {"max_queu": 1}
    with pytest.raises(TypeError, match="'max_queu'"):
        app.websocket("/ws", **options)


def test_on_event_adds_hooks() -> None:
    app = FastrAPI(on_startup=[print])

    with pytest.warns(DeprecationWarning, match="lifespan"):

        @app.on_event("startup")
        def start() -> None: ...

    with pytest.warns(DeprecationWarning, match="on_event"):

        @app.on_event("shutdown")
        async def stop() -> None: ...

    assert app.on_startup == [print, start]
    assert app.on_shutdown == [stop]
    with (
        pytest.raises(ValueError, match="'boot'"),
        pytest.warns(DeprecationWarning, match="on_event"),
    ):
        app.on_event("boot")  # type: ignore[arg-type]  # the error under test
