"""Routers, routes and path templates: FastAPI's ``APIRouter``, ``APIRoute`` and
``APIWebSocketRoute``.

An :class:`APIRouter` owns a route table and the decorators that fill it (the app has one:
``app.router``, and its decorators are the router's). Everything a route needs is planned when
it is declared: its parameters and dependencies (:mod:`fastrapi._params`), what it returns
(:mod:`fastrapi._returns`); matching a request is pure: paths in, routes and parameters out.

A template is a path with parameters in braces: ``"/chat/{room}"``, ``"/items/{id:int}"``.
The converters are ``str`` (the default: one path segment), ``int``, ``float``, ``path`` (the
rest of the path, slashes included) and ``uuid``. Templates are compiled once, when the route
is declared, and every mistake in one is a :class:`~fastrapi.exceptions.RouteDefinitionError`.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Generic,
    Literal,
    TypedDict,
    TypeVar,
    Unpack,
    final,
)

import pydantic

from ._params import Dependency, HandlerPlan, Role, plan_handler, plan_marker
from ._pump import PumpOptions, WebSocketOptions
from ._returns import NOT_GIVEN, ReturnPlan, plan_return, response_model_of
from .exceptions import NoMatchFound, RouteDefinitionError
from .hub import Hub
from .responses import JSONResponse, Response
from .websocket import MessageTypes

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from contextlib import AbstractAsyncContextManager
    from enum import Enum

    from ._returns import IncEx
    from .hub._protocol import HubConnection
    from .params import Depends
    from .requests import Request

__all__ = [  # noqa: RUF022  # plain sorted(), as tests/unit/test_public_api.py checks
    "APIRoute",
    "APIRouter",
    "APIWebSocketRoute",
    "CONVERTERS",
    "Converter",
    "HubRouteOptions",
    "MethodNotAllowed",
    "PathTemplate",
    "RouteOptions",
    "WebSocketRouteOptions",
]


@dataclass(frozen=True, slots=True)
class Converter:
    """How one kind of path parameter is matched (``regex``) and turned into a value."""

    regex: str
    convert: Callable[[str], object]


CONVERTERS: Final[dict[str, Converter]] = {
    "str": Converter("[^/]+", str),
    "int": Converter("-?[0-9]+", int),
    "float": Converter(r"-?[0-9]+(?:\.[0-9]+)?", float),
    "path": Converter(".*", str),
    "uuid": Converter("[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", uuid.UUID),
}

_PARAM: Final = re.compile(r"\{([^{}]*)\}")


@final
@dataclass(frozen=True)
class PathTemplate:
    """A compiled path template.

    Raises:
        RouteDefinitionError: the path does not start with ``/``, a brace is unbalanced, a
            parameter name is not an identifier or appears twice, or a converter is unknown.
    """

    template: str
    regex: re.Pattern[str] = field(init=False, repr=False)
    converters: dict[str, Converter] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        template = self.template
        if not template.startswith("/"):
            raise RouteDefinitionError(f"route path {template!r} must start with '/'")
        pattern = ["^"]
        converters: dict[str, Converter] = {}
        end = 0
        for match in _PARAM.finditer(template):
            pattern.append(_literal(template, template[end : match.start()]))
            name, _, kind = match.group(1).partition(":")
            kind = kind or "str"
            if not name.isidentifier():
                raise RouteDefinitionError(
                    f"route path {template!r}: parameter {{{match.group(1)}}} needs a Python "
                    "identifier as its name"
                )
            if name in converters:
                raise RouteDefinitionError(f"route path {template!r}: parameter {name!r} twice")
            if kind not in CONVERTERS:
                raise RouteDefinitionError(
                    f"route path {template!r}: unknown converter {kind!r} for {name!r}; "
                    f"use one of {', '.join(CONVERTERS)}"
                )
            converters[name] = CONVERTERS[kind]
            pattern.append(f"(?P<{name}>{CONVERTERS[kind].regex})")
            end = match.end()
        pattern.append(_literal(template, template[end:]))
        pattern.append(r"\Z")  # not "$", which also matches before a final "\n" (a "%0A")
        object.__setattr__(self, "regex", re.compile("".join(pattern)))
        object.__setattr__(self, "converters", converters)

    @property
    def param_names(self) -> frozenset[str]:
        """The names of the template's parameters."""
        return frozenset(self.converters)

    def format(self, params: Mapping[str, object]) -> str:
        """The path with ``params`` put in (for :meth:`APIRouter.url_path_for`).

        Raises:
            NoMatchFound: ``params`` are not exactly the template's parameters.
        """
        if params.keys() != self.converters.keys():
            raise NoMatchFound(self.template, params)
        return _PARAM.sub(lambda m: str(params[m.group(1).partition(":")[0]]), self.template)

    def match(self, path: str) -> dict[str, object] | None:
        """The converted parameters if ``path`` matches the template, else ``None`` (also when
        a parameter does not convert: an ``int`` of more digits than Python converts)."""
        found = self.regex.match(path)
        if found is None:
            return None
        try:
            return {name: conv.convert(found[name]) for name, conv in self.converters.items()}
        except ValueError:
            return None


_R = TypeVar("_R", "APIRoute", "APIWebSocketRoute")


@final
class _RouteIndex(Generic[_R]):
    """A route table planned for lookups: a path that is some route's static template (no
    parameters: most of them) is a dict lookup, giving every route that matches it in
    declaration order (the parameters of a templated one worked out here, once); any other path
    is matched by the templated routes' regexes alone, in order. Made again when the table
    grows."""

    __slots__ = ("dynamic", "size", "static")

    def __init__(self, routes: Sequence[_R]) -> None:
        self.size: int = len(routes)
        self.dynamic: tuple[_R, ...] = tuple(r for r in routes if r.template.converters)
        self.static: dict[str, tuple[tuple[_R, dict[str, object]], ...]] = {}
        for route in routes:
            path = route.template.template
            if route.template.converters or path in self.static:
                continue
            self.static[path] = tuple(
                (other, params)
                for other in routes
                if (params := other.template.match(path)) is not None
            )

    def candidates(self, path: str) -> Iterable[tuple[_R, dict[str, object]]]:
        """The routes matching ``path`` and their parameters, in declaration order (the
        parameters of a static path's routes are shared: copy the ones you keep)."""
        found = self.static.get(path)
        return self._walk(path) if found is None else found

    def _walk(self, path: str) -> Iterator[tuple[_R, dict[str, object]]]:
        for route in self.dynamic:
            params = route.template.match(path)
            if params is not None:
                yield route, params


def _literal(template: str, text: str) -> str:
    if "{" in text or "}" in text:
        raise RouteDefinitionError(f"route path {template!r} has an unbalanced brace")
    return re.escape(text)


@final
@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path matched, but not for this method; ``allowed`` lists the methods that would."""

    allowed: tuple[str, ...]


_LATER: Final = object()


def _later() -> object:
    """What a router that is not the app's gives a ``Hub`` parameter: its routes are planned
    again, with the app's objects, when the app includes the router."""
    return _LATER


_NOT_WORD: Final = re.compile(r"\W")
_CONVERTER_SUFFIX: Final = re.compile(r"\{(\w+):\w+\}")


def generate_unique_id(route: APIRoute) -> str:
    """The default ``generate_unique_id_function``: FastAPI's operation id for ``route`` (its
    name, path and first method as one identifier)."""
    method = sorted(route.methods)[0].lower() if route.methods else ""
    return f"{_NOT_WORD.sub('_', route.name + route.path_format)}_{method}"


class RouteOptions(TypedDict, total=False):
    """The keyword options of the HTTP route decorators (``@router.get(path, **options)``),
    :meth:`APIRouter.add_api_route` and :class:`APIRoute`; FastAPI's, with its meanings.

    Attributes:
        response_model: The type the returned value is validated into and filtered by (a
            pydantic model, ``list[Model]``...); by default the return annotation, unless that
            is a :class:`~fastrapi.Response`; ``None`` for none.
        status_code: The status of the response (default: the response class's, 200).
        tags: OpenAPI tags.
        dependencies: ``Depends(...)`` run before the handler, for their effect.
        summary: OpenAPI summary.
        description: OpenAPI description (default: the handler's docstring).
        response_description: OpenAPI description of the response.
        responses: More OpenAPI responses, by status code.
        deprecated: Mark the route deprecated in OpenAPI.
        operation_id: OpenAPI operation id.
        response_model_include: Only these fields of the response model.
        response_model_exclude: Not these fields.
        response_model_by_alias: Field aliases as keys (default ``True``).
        response_model_exclude_unset: Leave out the fields the value did not set.
        response_model_exclude_defaults: Leave out the fields equal to their default.
        response_model_exclude_none: Leave out the fields that are ``None``.
        include_in_schema: List the route in OpenAPI (default ``True``).
        response_class: The :class:`~fastrapi.Response` class of the returned values (default
            the router's ``default_response_class``, else :class:`~fastrapi.JSONResponse`).
        name: The route's name for :meth:`APIRouter.url_path_for` (default: the handler's).
        callbacks: OpenAPI callbacks (routes).
        openapi_extra: Merged into the route's OpenAPI operation.
        generate_unique_id_function: Makes the route's ``unique_id`` (OpenAPI operation id).
    """

    response_model: Any
    status_code: int | None
    tags: Sequence[str | Enum] | None
    dependencies: Sequence[Depends] | None
    summary: str | None
    description: str | None
    response_description: str
    responses: Mapping[int | str, dict[str, Any]] | None
    deprecated: bool | None
    operation_id: str | None
    response_model_include: IncEx | None
    response_model_exclude: IncEx | None
    response_model_by_alias: bool
    response_model_exclude_unset: bool
    response_model_exclude_defaults: bool
    response_model_exclude_none: bool
    include_in_schema: bool
    response_class: type[Response] | None
    name: str | None
    callbacks: Sequence[Any] | None
    openapi_extra: dict[str, Any] | None
    generate_unique_id_function: Callable[[APIRoute], str] | None


class WebSocketRouteOptions(WebSocketOptions, total=False):
    """The keyword options of the WebSocket route decorators (``@router.websocket(path, name,
    **options)``) and :meth:`APIRouter.add_api_websocket_route`: these, and the route's own
    :class:`~fastrapi.WebSocketOptions` (over the app's).

    Attributes:
        dependencies: ``Depends(...)`` run at the handshake, before the handler, for their
            effect (after the app's and the routers').
        receives: The type of the peer's messages (see :class:`APIWebSocketRoute`).
        sends: The type of the handler's messages (see :class:`APIWebSocketRoute`).
        closes: The close codes the handler uses and what each means, for the AsyncAPI
            document.
        include_in_schema: List the route in the AsyncAPI document (default ``True``).
    """

    dependencies: Sequence[Depends] | None
    receives: Any
    sends: Any
    closes: Mapping[int, str] | None
    include_in_schema: bool


class HubRouteOptions(WebSocketOptions, total=False):
    """The keyword options of :meth:`APIRouter.hub_route`: these, and the route's
    :class:`~fastrapi.WebSocketOptions`, but for ``ping_interval``: on a hub route it is the
    seconds between the protocol's ``ping`` messages, which clients check the connection with
    (default 25; ``None``: none); the WebSocket pings keep the app's interval.

    Attributes:
        can_subscribe: ``can_subscribe(connection, topic, ...)`` (``async def`` or a quick
            plain ``def``) says whether the client may subscribe to ``topic`` (and read its
            presence and history): it returns a bool, or raises an
            :class:`~fastrapi.HTTPException` whose status and detail make the error reply.
            Its parameters after the first two are filled as a dependency's are (``Depends``,
            security schemes, headers, query), once, at the handshake. ``None``: every client
            may.
        can_publish: The same for publishing to ``topic``.
        rpc: Method names and their ``async def handler(connection, params)``, whose result is
            the reply; an ``HTTPException`` it raises is an error reply with its status, any
            other error a 500 (logged).
        presence: ``presence(connection, topic, ...)``, as ``can_subscribe``: the JSON-able
            value listed for the client in the topic's presence while it is subscribed
            (``None``: not listed).
        presence_events: Tell subscribers when a client with a presence value subscribes or
            leaves (``join`` and ``leave`` messages).
        dependencies: ``Depends(...)`` run at the handshake; one that refuses (an
            ``HTTPException``) has the client accepted, then closed with 4401 (401), 4403
            (403) or 4400 (another 4xx, or an invalid value), so that a browser sees why.
        name: The route's name (default ``"hub"``).
        include_in_schema: Describe the route in the AsyncAPI document.
    """

    can_subscribe: Callable[..., Any] | None
    can_publish: Callable[..., Any] | None
    rpc: Mapping[str, Callable[[HubConnection, Any], Awaitable[Any]]] | None
    presence: Callable[..., Any] | None
    presence_events: bool
    dependencies: Sequence[Depends] | None
    name: str | None
    include_in_schema: bool


def _with_dependencies(
    plan: HandlerPlan, dependencies: Sequence[Depends], where: str
) -> HandlerPlan:
    """``plan`` with ``dependencies`` run first, for their effect (their values are not passed)."""
    if not dependencies:
        return plan
    extra: list[Dependency] = []
    for marker in dependencies:
        call = marker.dependency
        if call is None or not callable(call):
            raise RouteDefinitionError(f"{where}: dependencies=[Depends(...)] need a callable")
        extra.append(plan_marker("", marker, call, plan.path_names))  # Security's scopes too
    return dataclasses.replace(
        plan,
        dependencies=(*extra, *plan.dependencies),
        needs_body=plan.needs_body or any(d.plan.needs_body for d in extra),
        needs_response=plan.needs_response or any(d.plan.needs_response for d in extra),
    )


def _description(endpoint: Callable[..., object]) -> str | None:
    doc = inspect.getdoc(endpoint)
    if not doc:
        return None
    return doc.split("\f")[0].strip()  # FastAPI's: a form feed ends what OpenAPI shows


class APIRoute:
    """An HTTP route: its path, methods, handler (``endpoint``) and every option it was
    declared with, planned once. Made by the decorators; ``route_class=`` of a router names a
    subclass to use instead.

    Args:
        path: The path template.
        endpoint: The handler.
        methods: The HTTP methods (default ``["GET"]``).
        namespace: Where the route was declared (for string annotations naming local names).
        provided: The app's objects a parameter gets by its type (its ``Hub``), each as the
            function that reads it when a request needs it.
        strict: A path that is no valid template is an error (else the route is kept for the
            documents but never served: FastAPI's callback and webhook paths, such as
            ``"{$callback_url}/invoices"``); an app's routes are strict.
        **options: :class:`RouteOptions`.

    Raises:
        RouteDefinitionError: a bad path, a handler that cannot be planned, a response model
            pydantic cannot validate.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | set[str] | None = None,
        namespace: Mapping[str, Any] | None = None,
        provided: Mapping[type, Callable[[], object]] | None = None,
        strict: bool = True,
        **options: Unpack[RouteOptions],
    ) -> None:
        _check_keywords(type(self).__name__, options, RouteOptions.__optional_keys__)
        self.path = path
        self.path_format = _CONVERTER_SUFFIX.sub(r"{\1}", path)
        """The path without its converters (``/items/{id}`` for ``/items/{id:int}``)."""
        self.endpoint = endpoint
        self.template, self.servable = _template(path, strict)
        self.methods: set[str] = {m.upper() for m in (methods or ["GET"])}
        self.namespace = namespace
        name = options.get("name")
        self.name: str = name if name is not None else getattr(endpoint, "__name__", repr(endpoint))
        self.tags: list[str | Enum] = list(options.get("tags") or [])
        self.dependencies: list[Depends] = list(options.get("dependencies") or [])
        self.summary = options.get("summary")
        description = options.get("description")
        self.description = description if description is not None else _description(endpoint)
        self.response_description = options.get("response_description", "Successful Response")
        self.responses: dict[int | str, dict[str, Any]] = dict(options.get("responses") or {})
        self.deprecated = options.get("deprecated")
        self.operation_id = options.get("operation_id")
        self.include_in_schema = options.get("include_in_schema", True)
        self.status_code = options.get("status_code")
        given_class = options.get("response_class")
        self.response_class: type[Response] = given_class or JSONResponse
        self.callbacks: list[Any] = list(options.get("callbacks") or [])
        self.openapi_extra = options.get("openapi_extra")
        self.response_model_include = options.get("response_model_include")
        self.response_model_exclude = options.get("response_model_exclude")
        self.response_model_by_alias = options.get("response_model_by_alias", True)
        self.response_model_exclude_unset = options.get("response_model_exclude_unset", False)
        self.response_model_exclude_defaults = options.get("response_model_exclude_defaults", False)
        self.response_model_exclude_none = options.get("response_model_exclude_none", False)
        names = self.template.param_names if self.servable else _loose_names(path)
        plan = plan_handler(endpoint, names, Role.HTTP, namespace, provided)
        self.plan: HandlerPlan = _with_dependencies(plan, self.dependencies, path)
        """How the handler is called: its parameters and dependencies, planned."""
        given_model = options.get("response_model", NOT_GIVEN)
        self.response_model: Any = response_model_of(endpoint, given_model, namespace)
        generate = options.get("generate_unique_id_function") or generate_unique_id
        self.generate_unique_id_function: Callable[[APIRoute], str] = generate
        self.unique_id = self.operation_id or generate(self)
        self.returns: ReturnPlan = plan_return(
            endpoint,
            self.response_model,
            self.response_class,
            self.status_code,
            include=self.response_model_include,
            exclude=self.response_model_exclude,
            by_alias=self.response_model_by_alias,
            exclude_unset=self.response_model_exclude_unset,
            exclude_defaults=self.response_model_exclude_defaults,
            exclude_none=self.response_model_exclude_none,
        )
        """How its values become responses."""
        self._given_response_class = given_class
        self.custom_handler: Callable[[Request], Awaitable[Response]] | None = None
        """What serves the route when a subclass overrides :meth:`get_route_handler`."""
        if type(self).get_route_handler is not APIRoute.get_route_handler:
            self.custom_handler = self.get_route_handler()

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        """The coroutine function that serves a request with this route (FastAPI's hook for
        custom route classes): it solves the dependencies, calls the handler and returns its
        response; what they raise (``HTTPException``, ``RequestValidationError``...) is raised,
        to be answered by the exception handlers. Override it to wrap that function; the
        default route class serves requests without it.
        """
        from ._http_dispatch import route_handler

        return route_handler(self)

    def __repr__(self) -> str:
        methods = sorted(self.methods)
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r}, {methods=})"

    def options(self) -> RouteOptions:
        """The options this route was declared with (to declare it again elsewhere)."""
        return {
            "response_model": self.response_model,
            "status_code": self.status_code,
            "tags": self.tags,
            "dependencies": self.dependencies,
            "summary": self.summary,
            "description": self.description,
            "response_description": self.response_description,
            "responses": self.responses,
            "deprecated": self.deprecated,
            "operation_id": self.operation_id,
            "response_model_include": self.response_model_include,
            "response_model_exclude": self.response_model_exclude,
            "response_model_by_alias": self.response_model_by_alias,
            "response_model_exclude_unset": self.response_model_exclude_unset,
            "response_model_exclude_defaults": self.response_model_exclude_defaults,
            "response_model_exclude_none": self.response_model_exclude_none,
            "include_in_schema": self.include_in_schema,
            "response_class": self._given_response_class,
            "name": self.name,
            "callbacks": self.callbacks,
            "openapi_extra": self.openapi_extra,
            "generate_unique_id_function": self.generate_unique_id_function,
        }


class APIWebSocketRoute:
    """A WebSocket route: its path, handler (``endpoint``), name, dependencies and
    per-connection options, planned once.

    Args:
        path: The path template.
        endpoint: The ``async def`` handler.
        name: The route's name for :meth:`APIRouter.url_path_for` (default: the handler's).
        dependencies: ``Depends(...)`` run at the handshake, before the handler.
        options: The connection options (the router's defaults with ``overrides``).
        overrides: The route's own :class:`~fastrapi.WebSocketOptions`.
        namespace: Where the route was declared (for string annotations naming local names).
        provided: The app's objects a parameter gets by its type (its ``Hub``), each as the
            function that reads it when a request needs it.
        receives: The type of the peer's messages (a pydantic model, a union of them, or any
            type pydantic's ``TypeAdapter`` takes): what ``receive_json()`` and
            ``iter_json()`` validate into without a type, and the AsyncAPI document shows.
        sends: The type of the handler's messages: what ``send_json()`` is checked against
            where the app validates sends, and the AsyncAPI document shows.
        closes: The close codes the handler uses and what each means, for the document.
        include_in_schema: List the route in the AsyncAPI document.

    Raises:
        RouteDefinitionError: a bad path, a handler that cannot be planned, a message type
            pydantic cannot validate.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[Depends] | None = None,
        options: PumpOptions | None = None,
        overrides: WebSocketOptions | None = None,
        namespace: Mapping[str, Any] | None = None,
        provided: Mapping[type, Callable[[], object]] | None = None,
        receives: Any = None,
        sends: Any = None,
        closes: Mapping[int, str] | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.path = path
        self.endpoint = endpoint
        self.template = PathTemplate(path)
        self.servable = True
        self.receives: Any = receives
        """The type of the peer's messages (``receives=``), or ``None``."""
        self.sends: Any = sends
        """The type of the handler's messages (``sends=``), or ``None``."""
        self.closes: dict[int, str] = dict(closes or {})
        """The close codes the handler uses and what each means (``closes=``)."""
        self.include_in_schema = include_in_schema
        try:
            self.messages: MessageTypes | None = MessageTypes.of(receives, sends)
        except pydantic.PydanticSchemaGenerationError as exc:
            raise RouteDefinitionError(f"websocket {path!r}: a message type: {exc}") from None
        self.receiving: MessageTypes | None = self.messages and self.messages.receiving_only()
        """The message types with sends unchecked (an app that does not validate sends)."""
        self.name: str = name if name is not None else getattr(endpoint, "__name__", repr(endpoint))
        self.dependencies: list[Depends] = list(dependencies or [])
        self.overrides: WebSocketOptions = overrides or WebSocketOptions()
        self.options: PumpOptions = options or PumpOptions(**self.overrides)
        self.served: tuple[WebSocketOptions, PumpOptions, PumpOptions] | None = None
        """The options of its connections under a server's defaults, over an app's: the
        defaults, the app's, and the result (made by the first connection)."""
        self.namespace = namespace
        plan = plan_handler(
            endpoint, self.template.param_names, Role.WEBSOCKET, namespace, provided
        )
        self.plan: HandlerPlan = _with_dependencies(plan, self.dependencies, path)
        """How the handler is called: its parameters and dependencies, planned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, name={self.name!r})"


F = TypeVar("F", bound=Callable[..., Any])
Hook = Callable[[], Any]
H = TypeVar("H", bound=Hook)
Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class APIRouter:
    """A table of routes and the decorators that fill it, to be included in an app (or another
    router) with :meth:`include_router`; the app's own is ``app.router``.

    Args:
        prefix: Put before the path of every route (``"/items"``: starts with ``/``, does not
            end with one).
        tags: OpenAPI tags of every route.
        dependencies: ``Depends(...)`` run before every route's handler (HTTP and WebSocket).
        default_response_class: The response class of routes that name none.
        responses: More OpenAPI responses of every route.
        callbacks: OpenAPI callbacks of every route.
        routes: Routes to start with.
        redirect_slashes: Answer a path that only differs by a trailing slash from a route's
            with a 307 redirect to it (default ``True``); the app's router's setting is the
            one that applies (``FastrAPI(redirect_slashes=...)``), as in Starlette.
        default: Accepted for FastAPI's sake (an ASGI app for unmatched requests); unused.
        dependency_overrides_provider: Accepted for FastAPI's sake; the app's
            ``dependency_overrides`` apply.
        route_class: The class of the HTTP routes (an :class:`APIRoute` subclass).
        on_startup: Functions run at startup (added to the app's when it is included).
        on_shutdown: Functions run at shutdown (likewise).
        lifespan: An async context manager factory taking the app, entered (after the app's
            own ``lifespan``) when the app that includes this router starts, exited when it
            stops.
        deprecated: Mark every route deprecated in OpenAPI.
        include_in_schema: List the routes in OpenAPI (default ``True``).
        generate_unique_id_function: Makes each route's ``unique_id``.

    Raises:
        RouteDefinitionError: a bad prefix.
    """

    def __init__(
        self,
        *,
        prefix: str = "",
        tags: Sequence[str | Enum] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] | None = None,
        responses: Mapping[int | str, dict[str, Any]] | None = None,
        callbacks: Sequence[Any] | None = None,
        routes: Sequence[Any] | None = None,
        redirect_slashes: bool = True,
        default: Any = None,
        dependency_overrides_provider: Any = None,
        route_class: type[APIRoute] = APIRoute,
        on_startup: Sequence[Hook] | None = None,
        on_shutdown: Sequence[Hook] | None = None,
        lifespan: Any = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[APIRoute], str] | None = None,
    ) -> None:
        _check_prefix(prefix)
        self.prefix = prefix
        self.tags: list[str | Enum] = list(tags or [])
        self.dependencies: list[Depends] = list(dependencies or [])
        self.default_response_class = default_response_class
        self.responses: dict[int | str, dict[str, Any]] = dict(responses or {})
        self.callbacks: list[Any] = list(callbacks or [])
        self.redirect_slashes = redirect_slashes
        self.default = default
        self.dependency_overrides_provider = dependency_overrides_provider
        self.route_class = route_class
        self.on_startup: list[Hook] = list(on_startup or [])
        self.on_shutdown: list[Hook] = list(on_shutdown or [])
        self.lifespan_context = lifespan
        self.lifespans: list[Callable[[Any], AbstractAsyncContextManager[object]]] = (
            [lifespan] if lifespan is not None else []
        )
        """Its ``lifespan`` and those of the routers it includes, in order."""
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.generate_unique_id_function = generate_unique_id_function
        self.routes: list[Any] = []
        """Every route, in the order declared (the first that matches a request wins)."""
        self.http_routes: list[APIRoute] = []
        self.websocket_routes: list[APIWebSocketRoute] = []
        self._http_index: _RouteIndex[APIRoute] = _RouteIndex(())
        self._websocket_index: _RouteIndex[APIWebSocketRoute] = _RouteIndex(())
        self._provided: Mapping[type, Callable[[], object]] = {Hub: _later}
        self._strict = False  # the app's router is strict: its routes are served
        self._websocket_options = PumpOptions()
        for route in routes or ():
            self._add(route)

    def _add(self, route: object) -> None:
        self.routes.append(route)
        if isinstance(route, APIRoute):
            if route.servable:
                self.http_routes.append(route)
        elif isinstance(route, APIWebSocketRoute):
            self.websocket_routes.append(route)

    # -- HTTP routes ------------------------------------------------------------------------

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | set[str] | None = None,
        route_class_override: type[APIRoute] | None = None,
        namespace: Mapping[str, Any] | None = None,
        **options: Unpack[RouteOptions],
    ) -> APIRoute:
        """Add an HTTP route for ``endpoint`` (what the decorators do); the router's prefix,
        tags, dependencies, responses and defaults apply.

        Raises:
            RouteDefinitionError: see :class:`APIRoute`.
        """
        if namespace is None:
            namespace = sys._getframe(1).f_locals  # the caller's scope, for its annotations
        full = self._full_path(path)
        given: RouteOptions = options
        merged: RouteOptions = {
            **given,
            "tags": [*self.tags, *(given.get("tags") or [])],
            "dependencies": [*self.dependencies, *(given.get("dependencies") or [])],
            "responses": {**self.responses, **(given.get("responses") or {})},
            "callbacks": [*self.callbacks, *(given.get("callbacks") or [])],
            "deprecated": given.get("deprecated") or self.deprecated,
            "include_in_schema": given.get("include_in_schema", True) and self.include_in_schema,
            "response_class": given.get("response_class") or self.default_response_class,
            "generate_unique_id_function": given.get("generate_unique_id_function")
            or self.generate_unique_id_function,
        }
        route_class = route_class_override or self.route_class
        route = route_class(
            full,
            endpoint,
            methods=methods,
            namespace=namespace,
            provided=self._provided,
            strict=self._strict,
            **merged,
        )
        self._add(route)
        return route

    def api_route(
        self, path: str, *, methods: Sequence[str] | None = None, **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Declare an HTTP route for ``methods`` (default ``["GET"]``):
        ``@router.api_route("/items", methods=["GET", "POST"])``. See :meth:`get`.

        Raises:
            TypeError: an unknown option.
        """
        _check_keywords("api_route()", options, RouteOptions.__optional_keys__)

        def decorate(endpoint: F) -> F:
            namespace = sys._getframe(1).f_locals  # the declaring scope, for its annotations
            self.add_api_route(path, endpoint, methods=methods, namespace=namespace, **options)
            return endpoint

        return decorate

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a GET route (which also answers HEAD, without the body).

        The handler (``async def``, or a plain ``def`` that runs in a worker thread) takes
        path and query parameters by name, marked values (``Query``, ``Header``, ``Cookie``,
        ``Body``...), a pydantic model as its JSON body, dependencies (``Depends``), the
        :class:`~fastrapi.Request` (a parameter annotated ``Request``) and the response-to-be
        (one annotated ``Response``: the status code, headers and cookies set on it are sent).
        Invalid values answer 422 with FastAPI's error JSON. What it returns is validated and
        filtered by the response model (if any) and rendered by the response class (JSON by
        default); a :class:`~fastrapi.Response` it returns is sent as it is.
        ``options`` are :class:`RouteOptions`.
        """
        return self.api_route(path, methods=["GET"], **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a POST route; see :meth:`get`."""
        return self.api_route(path, methods=["POST"], **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a PUT route; see :meth:`get`."""
        return self.api_route(path, methods=["PUT"], **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a PATCH route; see :meth:`get`."""
        return self.api_route(path, methods=["PATCH"], **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a DELETE route; see :meth:`get`."""
        return self.api_route(path, methods=["DELETE"], **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a HEAD route; see :meth:`get`."""
        return self.api_route(path, methods=["HEAD"], **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare an OPTIONS route; see :meth:`get`."""
        return self.api_route(path, methods=["OPTIONS"], **options)

    def trace(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Declare a TRACE route; see :meth:`get`."""
        return self.api_route(path, methods=["TRACE"], **options)

    # -- WebSocket routes -------------------------------------------------------------------

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        namespace: Mapping[str, Any] | None = None,
        **options: Unpack[WebSocketRouteOptions],
    ) -> APIWebSocketRoute:
        """Add a WebSocket route for ``endpoint`` (what :meth:`websocket` does); ``options``
        are :class:`WebSocketRouteOptions`.

        Raises:
            RouteDefinitionError: see :class:`APIWebSocketRoute`.
            TypeError: an unknown option.
            ValueError: an option is out of range.
        """
        overrides = _overrides("websocket()", options)
        if namespace is None:
            namespace = sys._getframe(1).f_locals  # the caller's scope, for its annotations
        route = APIWebSocketRoute(
            self._full_path(path),
            endpoint,
            name=name,
            dependencies=[*self.dependencies, *(options.get("dependencies") or [])],
            options=dataclasses.replace(self._websocket_options, **overrides),
            overrides=overrides,
            namespace=namespace,
            provided=self._provided,
            receives=options.get("receives"),
            sends=options.get("sends"),
            closes=options.get("closes"),
            include_in_schema=options.get("include_in_schema", True) and self.include_in_schema,
        )
        self._add(route)
        return route

    def websocket(
        self, path: str, name: str | None = None, **options: Unpack[WebSocketRouteOptions]
    ) -> Callable[[F], F]:
        """Declare a WebSocket route: ``@router.websocket("/chat/{room}")``.

        The handler is an ``async def`` taking the :class:`~fastrapi.WebSocket` (its first
        parameter, or any parameter annotated ``WebSocket``), path parameters by name, query
        parameters with their defaults, values marked ``Query``/``Path``/``Header``/``Cookie``
        and dependencies (``Depends``, and ``dependencies=`` of the route, its routers and the
        app), all validated before the handler runs: a missing or invalid one refuses the
        handshake with 403 and FastAPI's error JSON. ``options`` are
        :class:`WebSocketRouteOptions`: the route's own :class:`~fastrapi.WebSocketOptions`
        (over the app's), its ``dependencies``, and its message types (``receives`` and
        ``sends``) and close codes (``closes``), which the AsyncAPI document
        (:meth:`FastrAPI.asyncapi <fastrapi.FastrAPI.asyncapi>`) shows.

        Raises:
            RouteDefinitionError: a bad path, a handler that is not ``async def``, a parameter
                that cannot be filled in.
            TypeError: an unknown option.
            ValueError: an option is out of range.
        """
        overrides = _overrides("websocket()", options)
        dataclasses.replace(self._websocket_options, **overrides)  # out of range: now

        def decorate(endpoint: F) -> F:
            namespace = sys._getframe(1).f_locals  # the declaring scope, for its annotations
            self.add_api_websocket_route(path, endpoint, name, namespace=namespace, **options)
            return endpoint

        return decorate

    def hub_route(
        self,
        path: str,
        *,
        namespace: Mapping[str, Any] | None = None,
        **options: Unpack[HubRouteOptions],
    ) -> APIWebSocketRoute:
        """Serve the app's Hub at ``path`` to clients of the ``fastrapi.hub.v1`` protocol
        (the browser's ``/_fastrapi/hub.js``, which the router serves too, under its prefix;
        :func:`fastrapi.client.connect_hub`); see :doc:`/clients`.

        Args:
            path: The route's path.
            namespace: Where the callables were declared (default: the caller's scope), for
                string annotations naming local names.
            **options: :class:`HubRouteOptions`: the callables that authorize and answer the
                clients, and the route's :class:`~fastrapi.WebSocketOptions`.

        Raises:
            RouteDefinitionError: a bad path, a callable that cannot be planned, or, on the
                app's router, an app without a Hub (on another router, that is checked when
                the app includes it).
            ValueError: an option is out of range.
        """
        from .hub._browser import add_client_route
        from .hub._messages import COMMANDS, SERVER_MESSAGES
        from .hub._protocol import CLOSE_CODES, HubEndpoint

        _check_hub(self._provided, self._full_path(path))
        if namespace is None:
            namespace = sys._getframe(1).f_locals  # the caller's scope, for its annotations
        endpoint = HubEndpoint(
            PathTemplate(self._full_path(path)).param_names,
            can_subscribe=options.pop("can_subscribe", None),
            can_publish=options.pop("can_publish", None),
            rpc=options.pop("rpc", None),
            presence=options.pop("presence", None),
            presence_events=options.pop("presence_events", False),
            ping_interval=options.pop("ping_interval", 25.0),
            dependencies=options.pop("dependencies", None),
            namespace=namespace,
        )
        name = options.pop("name", None)
        include_in_schema = options.pop("include_in_schema", True)
        overrides: WebSocketOptions = options  # what is left: the connections' options
        add_client_route(self)  # /_fastrapi/hub.js, for the pages
        return self.add_api_websocket_route(
            path,
            endpoint,
            name if name is not None else "hub",
            namespace=namespace,
            receives=COMMANDS,
            sends=SERVER_MESSAGES,
            closes=CLOSE_CODES,
            include_in_schema=include_in_schema,
            **overrides,
        )

    # -- routers ----------------------------------------------------------------------------

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: Sequence[str | Enum] | None = None,
        dependencies: Sequence[Depends] | None = None,
        default_response_class: type[Response] | None = None,
        responses: Mapping[int | str, dict[str, Any]] | None = None,
        callbacks: Sequence[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[APIRoute], str] | None = None,
    ) -> None:
        """Add every route of ``router`` here, under ``prefix``, with ``tags``,
        ``dependencies`` (run first), ``responses`` and ``callbacks`` added to each, and its
        startup and shutdown functions. The routes are declared again here (planned with this
        router's options and the app's objects): a route added to ``router`` later is not.

        Raises:
            RouteDefinitionError: a bad prefix, or a route that cannot be declared here (a
                hub route in an app without a Hub: nothing is included then).
        """
        _check_prefix(prefix)
        if router is self:
            raise RouteDefinitionError("a router cannot include itself")
        for path in _hub_route_paths(router.routes):
            _check_hub(self._provided, prefix + path)
        for route in router.routes:
            if isinstance(route, APIRoute):
                given = route.options()
                options: RouteOptions = {
                    **given,
                    "tags": [*(tags or []), *route.tags],
                    "dependencies": [*(dependencies or []), *route.dependencies],
                    "responses": {**(responses or {}), **route.responses},
                    "callbacks": [*(callbacks or []), *route.callbacks],
                    "deprecated": route.deprecated or deprecated or router.deprecated,
                    "include_in_schema": route.include_in_schema
                    and include_in_schema
                    and router.include_in_schema,
                    "response_class": given.get("response_class")
                    or router.default_response_class
                    or default_response_class,
                    "generate_unique_id_function": (
                        route.generate_unique_id_function
                        if route.generate_unique_id_function is not generate_unique_id
                        else None
                    )
                    or router.generate_unique_id_function
                    or generate_unique_id_function,
                }
                self.add_api_route(
                    prefix + route.path,
                    route.endpoint,
                    methods=route.methods,
                    route_class_override=type(route),
                    namespace=route.namespace,
                    **options,
                )
            elif isinstance(route, APIWebSocketRoute):
                self.add_api_websocket_route(
                    prefix + route.path,
                    route.endpoint,
                    route.name,
                    dependencies=[*(dependencies or []), *route.dependencies],
                    namespace=route.namespace,
                    receives=route.receives,
                    sends=route.sends,
                    closes=route.closes,
                    include_in_schema=route.include_in_schema
                    and include_in_schema
                    and router.include_in_schema,
                    **route.overrides,
                )
            else:
                self._add(route)
        self.on_startup.extend(router.on_startup)
        self.on_shutdown.extend(router.on_shutdown)
        self.lifespans.extend(router.lifespans)

    def on_event(self, event_type: Literal["startup", "shutdown"]) -> Callable[[H], H]:
        """Run the decorated function (sync or async) at startup or at shutdown.

        Raises:
            ValueError: ``event_type`` is neither.
        """
        if event_type not in ("startup", "shutdown"):
            raise ValueError(f"event type must be 'startup' or 'shutdown', not {event_type!r}")
        hooks = self.on_startup if event_type == "startup" else self.on_shutdown

        def decorate(function: H) -> H:
            hooks.append(function)
            return function

        return decorate

    # -- lookups ----------------------------------------------------------------------------

    def url_path_for(self, name: str, /, **path_params: object) -> str:
        """The path of the route named ``name`` with ``path_params`` put in.

        Raises:
            NoMatchFound: no route of that name takes exactly those parameters.
        """
        for route in self.routes:
            if (
                isinstance(route, APIRoute | APIWebSocketRoute)
                and route.servable
                and route.name == name
                and route.template.param_names == path_params.keys()
            ):
                return route.template.format(path_params)
        raise NoMatchFound(name, path_params)

    def match_websocket(self, path: str) -> tuple[APIWebSocketRoute, dict[str, object]] | None:
        """The first WebSocket route matching ``path`` and its parameters, or ``None``."""
        index = self._websocket_index
        if index.size != len(self.websocket_routes):
            index = self._websocket_index = _RouteIndex(self.websocket_routes)
        for route, params in index.candidates(path):
            return route, dict(params)
        return None

    def match_http(
        self, method: str, path: str
    ) -> tuple[APIRoute, dict[str, object]] | MethodNotAllowed | None:
        """The first HTTP route matching ``method`` and ``path``.

        Returns the route and its parameters; :class:`MethodNotAllowed` when only other methods
        match the path; ``None`` when nothing matches. ``HEAD`` is served by ``GET`` routes.
        """
        index = self._http_index
        if index.size != len(self.http_routes):
            index = self._http_index = _RouteIndex(self.http_routes)
        allowed: set[str] = set()
        for route, params in index.candidates(path):
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route, dict(params)
            allowed |= route.methods
        if allowed:
            if "GET" in allowed:
                allowed.add("HEAD")
            return MethodNotAllowed(tuple(sorted(allowed)))
        return None

    def redirect_path(self, method: str, path: str) -> str | None:
        """With ``redirect_slashes``, the other form of ``path`` (with or without its trailing
        slash) when a route matches that one; else ``None``."""
        if not self.redirect_slashes or path == "/" or not path:
            return None
        other = path[:-1] if path.endswith("/") else path + "/"
        return other if self.match_http(method, other) is not None else None

    def _full_path(self, path: str) -> str:
        full = self.prefix + path
        if not full and self._strict:
            raise RouteDefinitionError(
                "a route's path and its router's prefix cannot both be empty"
            )
        return full


_LOOSE_PARAM: Final = re.compile(r"\{(\w+)(?::\w+)?\}")


def _template(path: str, strict: bool) -> tuple[PathTemplate, bool]:
    """The compiled template of ``path`` and whether it can be served; with ``strict`` off, a
    path that is no template gives a placeholder and ``False``."""
    try:
        return PathTemplate(path), True
    except RouteDefinitionError:
        if strict:
            raise
        return PathTemplate("/"), False


def _loose_names(path: str) -> frozenset[str]:
    """The parameter names of a path that is no valid template (for planning its handler)."""
    return frozenset(_LOOSE_PARAM.findall(path))


def _hub_route_paths(routes: Iterable[object]) -> list[str]:
    """The paths of the hub routes (:meth:`APIRouter.hub_route`) among ``routes``."""
    from .hub._protocol import HubEndpoint

    return [
        route.path
        for route in routes
        if isinstance(route, APIWebSocketRoute) and isinstance(route.endpoint, HubEndpoint)
    ]


def _check_hub(provided: Mapping[type, Callable[[], object]], path: str) -> None:
    """Refuse a hub route at ``path`` on the app's router when the app has no Hub (the app
    provides ``None``; a router that is not the app's provides a placeholder: its hub routes
    are checked when the app includes it)."""
    read = provided.get(Hub)
    if read is not None and read() is None:
        raise RouteDefinitionError(_hub_missing(path))


def _hub_missing(path: str) -> str:
    """The error for a hub route at ``path`` in an app without a Hub."""
    return (
        f"hub route {path} needs an app with a Hub, and this app has none:"
        " pass hub=Hub(...) to FastrAPI()"
    )


def _check_keywords(where: str, options: Mapping[str, object], known: frozenset[str]) -> None:
    """Raise ``TypeError`` naming a keyword of ``options`` that is not ``known``."""
    unknown = options.keys() - known
    if unknown:
        raise TypeError(f"{where} got an unexpected keyword argument {min(unknown)!r}")


def _overrides(where: str, options: WebSocketRouteOptions) -> WebSocketOptions:
    """The route's own :class:`~fastrapi.WebSocketOptions` among its keyword ``options``.

    Raises:
        TypeError: a keyword that is no :class:`WebSocketRouteOptions` key (named).
    """
    _check_keywords(where, options, WebSocketRouteOptions.__optional_keys__)
    overrides = options.copy()
    overrides.pop("dependencies", None)
    overrides.pop("receives", None)
    overrides.pop("sends", None)
    overrides.pop("closes", None)
    overrides.pop("include_in_schema", None)
    return overrides


def _check_prefix(prefix: str) -> None:
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise RouteDefinitionError(
            f"a router prefix must start with '/' and not end with one: {prefix!r}"
        )
