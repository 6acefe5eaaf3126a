"""Path templates and the route table (pure, synchronous)."""

from __future__ import annotations

import uuid

import pytest

from fastrapi.exceptions import RouteDefinitionError
from fastrapi.routing import MethodNotAllowed, PathTemplate, Router


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("/ws", "/ws", {}),
        ("/chat/{room}", "/chat/lobby", {"room": "lobby"}),
        ("/items/{id:int}", "/items/-42", {"id": -42}),
        ("/price/{value:float}", "/price/3.5", {"value": 3.5}),
        ("/files/{rest:path}", "/files/a/b/c.txt", {"rest": "a/b/c.txt"}),
        (
            "/u/{key:uuid}",
            "/u/12345678-1234-5678-1234-567812345678",
            {"key": uuid.UUID("12345678-1234-5678-1234-567812345678")},
        ),
        ("/a.b/{x}", "/a.b/1", {"x": "1"}),
    ],
)
def test_template_matches_and_converts(template: str, path: str, params: dict[str, object]) -> None:
    assert PathTemplate(template).match(path) == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/chat/{room}", "/chat/a/b"),
        ("/chat/{room}", "/chat/"),
        ("/items/{id:int}", "/items/x"),
        ("/price/{value:float}", "/price/1e5"),
        ("/u/{key:uuid}", "/u/not-a-uuid"),
        ("/a.b/{x}", "/aXb/1"),
        ("/ws", "/ws/"),
    ],
)
def test_template_rejects(template: str, path: str) -> None:
    assert PathTemplate(template).match(path) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("chat/{room}", "must start with '/'"),
        ("/chat/{room", "unbalanced brace"),
        ("/chat/room}", "unbalanced brace"),
        ("/chat/{room}/{room}", "'room' twice"),
        ("/chat/{1room}", "identifier"),
        ("/chat/{}", "identifier"),
        ("/chat/{room:bogus}", "unknown converter 'bogus'"),
    ],
)
def test_bad_templates_fail_at_declaration(template: str, message: str) -> None:
    with pytest.raises(RouteDefinitionError, match=message):
        PathTemplate(template)


def test_param_names() -> None:
    assert PathTemplate("/{a}/x/{b:int}").param_names == {"a", "b"}


def test_first_websocket_route_wins_and_duplicates_are_refused() -> None:
    router = Router[str]()
    router.add_websocket(PathTemplate("/chat/lobby"), "lobby")
    router.add_websocket(PathTemplate("/chat/{room}"), "room")
    assert router.match_websocket("/chat/lobby") == (router.websocket_routes[0], {})
    found = router.match_websocket("/chat/x")
    assert found is not None
    assert (found[0].handler, found[1]) == ("room", {"room": "x"})
    assert router.match_websocket("/nope") is None
    with pytest.raises(RouteDefinitionError, match="exists already"):
        router.add_websocket(PathTemplate("/chat/{room}"), "again")


def test_http_methods_head_and_405() -> None:
    router = Router[str]()
    router.add_http(PathTemplate("/items/{id:int}"), ["get"], "get")
    router.add_http(PathTemplate("/items/{id:int}"), ["POST", "PUT"], "write")
    found = router.match_http("GET", "/items/1")
    assert found is not None
    assert not isinstance(found, MethodNotAllowed)
    assert (found[0].handler, found[1]) == ("get", {"id": 1})
    head = router.match_http("HEAD", "/items/1")
    assert not isinstance(head, MethodNotAllowed)
    assert head is not None
    assert head[0].handler == "get"
    assert router.match_http("DELETE", "/items/1") == MethodNotAllowed(
        ("GET", "HEAD", "POST", "PUT")
    )
    assert router.match_http("GET", "/other") is None
    with pytest.raises(RouteDefinitionError, match=r"PUT '/items/\{id:int\}' exists already"):
        router.add_http(PathTemplate("/items/{id:int}"), ["PUT"], "again")


def test_405_without_get_lists_no_head() -> None:
    router = Router[str]()
    router.add_http(PathTemplate("/x"), ["POST"], "post")
    assert router.match_http("GET", "/x") == MethodNotAllowed(("POST",))
