"""Path templates and matching (``routing.py``), fed templates an app could declare and paths a
hostile client could request.

The property: a template compiles or is a ``RouteDefinitionError``; a path matches with its
parameters converted, or does not match; nothing else raises. A path made from a template and
parameters matches it with those parameters.
"""

from __future__ import annotations

import uuid

import trio
from hypothesis import example, given
from hypothesis import strategies as st

from fastrapi import FastrAPI
from fastrapi.exceptions import RouteDefinitionError
from fastrapi.routing import APIRouter, MethodNotAllowed, PathTemplate
from fastrapi.testing import http_request
from tests.fuzz.conftest import memory_kept

pieces = st.one_of(
    st.sampled_from(["/", "/a", "/{x}", "/{x:int}", "/{y:float}", "/{p:path}", "/{u:uuid}"]),
    st.sampled_from(["{", "}", "{}", "{1x}", "{x:nope}", "{x}{x}", ".", "-", "%", "\\", "(", "*"]),
    st.text(max_size=4),
)
templates = st.lists(pieces, min_size=1, max_size=5).map("".join)
paths = st.one_of(
    st.lists(
        st.one_of(
            st.sampled_from(["a", "1", "-2", "3.5", "", "%0A", "\n", str(uuid.UUID(int=7))]),
            st.text(max_size=5),
        ),
        max_size=4,
    ).map(lambda parts: "/" + "/".join(parts)),
    st.text(max_size=10),
)


@given(templates, paths)
@example("/{x:int}", "/" + "1" * 5000)  # int() refused the digits: a 500 instead of a 404
@example("/a/{x:int}", "/a/5\n")  # "$" matched before the newline: /a/5%0A was /a/5
def test_a_template_compiles_and_matches_or_refuses(template: str, path: str) -> None:
    try:
        compiled = PathTemplate(template)
    except RouteDefinitionError:
        return
    params = compiled.match(path)
    if params is None:
        return
    assert set(params) == compiled.param_names
    assert "\n" not in path or any("\n" in str(v) for v in params.values())


values = {
    "str": st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=8),
    "int": st.integers(-(10**30), 10**30),
    "float": st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 3)),
    "path": st.text(max_size=10),
    "uuid": st.uuids(),
}


@st.composite
def routes(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    kinds = draw(st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=3))
    if "path" in kinds:  # the rest of the path: last
        kinds = [k for k in kinds if k != "path"] + ["path"]
    template = "/r" + "".join(f"/{{p{i}:{kind}}}" for i, kind in enumerate(kinds))
    return template, {f"p{i}": draw(values[kind]) for i, kind in enumerate(kinds)}


@given(routes())
def test_a_path_made_from_a_template_matches_it_with_its_parameters(
    route: tuple[str, dict[str, object]],
) -> None:
    template, params = route
    compiled = PathTemplate(template)
    path = compiled.format(params)
    assert compiled.match(path) == {
        name: float(str(v)) if isinstance(v, float) else v for name, v in params.items()
    }


@given(st.sampled_from(["GET", "POST", "HEAD", "BREW"]), paths)
def test_a_router_matches_any_path_or_says_why_not(method: str, path: str) -> None:
    found = ROUTER.match_http(method, path)
    assert found is None or isinstance(found, MethodNotAllowed | tuple)
    ROUTER.redirect_path(method, path)
    ROUTER.match_websocket(path)


ROUTER = APIRouter()
app = FastrAPI()
for router in (ROUTER, app.router):

    @router.get("/items/{n:int}")
    async def item(n: int) -> int:
        return n

    @router.post("/files/{p:path}")
    async def file(p: str) -> str:
        return p

    @router.get("/health")
    async def health() -> str:
        return "ok"


async def test_a_path_parameter_that_does_not_convert_is_a_404() -> None:
    with trio.fail_after(10):
        for path in ["/items/" + "1" * 5000, "/items/5%0A", "/health%0A"]:
            response = await http_request(app, "GET", path)
            assert response.status_code == 404, path
        assert (await http_request(app, "GET", "/items/-5")).json() == -5


def test_matching_gives_memory_back() -> None:
    inputs = [f"/items/{n}" for n in range(40)] + ["/files/a/b/c", "/nope", "/items/x"] * 10

    def run(path: object) -> object:
        assert isinstance(path, str)
        return ROUTER.match_http("GET", path)

    assert memory_kept(run, inputs) < 16 * 1024
