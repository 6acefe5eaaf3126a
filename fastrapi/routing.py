"""Path templates and the route table. Pure: paths in, routes and parameters out, no I/O.

A template is a path with parameters in braces: ``"/chat/{room}"``, ``"/items/{id:int}"``.
The converters are ``str`` (the default: one path segment), ``int``, ``float``, ``path`` (the
rest of the path, slashes included) and ``uuid``. Templates are compiled once, when the route
is declared, and every mistake in one is a :class:`~fastrapi.exceptions.RouteDefinitionError`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Generic, TypeVar, final

from .exceptions import RouteDefinitionError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["CONVERTERS", "Converter", "HTTPRoute", "PathTemplate", "Router", "WebSocketRoute"]


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
        pattern.append("$")
        object.__setattr__(self, "regex", re.compile("".join(pattern)))
        object.__setattr__(self, "converters", converters)

    @property
    def param_names(self) -> frozenset[str]:
        """The names of the template's parameters."""
        return frozenset(self.converters)

    def match(self, path: str) -> dict[str, object] | None:
        """The converted parameters if ``path`` matches the template, else ``None``."""
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: conv.convert(found[name]) for name, conv in self.converters.items()}


def _literal(template: str, text: str) -> str:
    if "{" in text or "}" in text:
        raise RouteDefinitionError(f"route path {template!r} has an unbalanced brace")
    return re.escape(text)


H = TypeVar("H")


@final
@dataclass(frozen=True)
class WebSocketRoute(Generic[H]):
    """A WebSocket route: a template and what serves it."""

    path: PathTemplate
    handler: H


@final
@dataclass(frozen=True)
class HTTPRoute(Generic[H]):
    """An HTTP route: a template, its methods and what serves it."""

    path: PathTemplate
    methods: frozenset[str]
    handler: H


@final
@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path matched, but not for this method; ``allowed`` lists the methods that would."""

    allowed: tuple[str, ...]


@final
class Router(Generic[H]):
    """Ordered WebSocket and HTTP routes; the first route that matches wins."""

    def __init__(self) -> None:
        self.websocket_routes: list[WebSocketRoute[H]] = []
        self.http_routes: list[HTTPRoute[H]] = []

    def add_websocket(self, path: PathTemplate, handler: H) -> WebSocketRoute[H]:
        """Declare a WebSocket route.

        Raises:
            RouteDefinitionError: a WebSocket route with the same path exists.
        """
        route = WebSocketRoute(path, handler)
        if any(r.path.template == path.template for r in self.websocket_routes):
            raise RouteDefinitionError(f"a WebSocket route for {path.template!r} exists already")
        self.websocket_routes.append(route)
        return route

    def add_http(self, path: PathTemplate, methods: Iterable[str], handler: H) -> HTTPRoute[H]:
        """Declare an HTTP route.

        Raises:
            RouteDefinitionError: a route with the same path and method exists.
        """
        route = HTTPRoute(path, frozenset(m.upper() for m in methods), handler)
        for other in self.http_routes:
            if other.path.template == path.template and other.methods & route.methods:
                twice = ", ".join(sorted(other.methods & route.methods))
                raise RouteDefinitionError(
                    f"an HTTP route for {twice} {path.template!r} exists already"
                )
        self.http_routes.append(route)
        return route

    def match_websocket(self, path: str) -> tuple[WebSocketRoute[H], dict[str, object]] | None:
        """The first WebSocket route matching ``path`` and its parameters, or ``None``."""
        for route in self.websocket_routes:
            params = route.path.match(path)
            if params is not None:
                return route, params
        return None

    def match_http(
        self, method: str, path: str
    ) -> tuple[HTTPRoute[H], dict[str, object]] | MethodNotAllowed | None:
        """The first HTTP route matching ``method`` and ``path``.

        Returns the route and its parameters; :class:`MethodNotAllowed` when only other methods
        match the path; ``None`` when nothing matches. ``HEAD`` is served by ``GET`` routes.
        """
        allowed: set[str] = set()
        for route in self.http_routes:
            params = route.path.match(path)
            if params is None:
                continue
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route, params
            allowed |= route.methods
        if allowed:
            if "GET" in allowed:
                allowed.add("HEAD")
            return MethodNotAllowed(tuple(sorted(allowed)))
        return None
