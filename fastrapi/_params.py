"""Parameter injection: a handler's signature is planned once, when its route is declared.

Each parameter of a handler is one of: the connection (the WebSocket, or the HTTP Request), a
path parameter (same name as in the template), or a query parameter (any other name; its default
makes it optional). Values are converted to the annotation: ``str``, ``int``, ``float``, ``bool``,
``uuid.UUID``, or one of those ``| None``. Everything that can be wrong with a signature is a
:class:`~fastrapi.exceptions.RouteDefinitionError` at declaration; what can be wrong with a
request is a :class:`ParameterError` when it arrives.
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
import typing
import uuid
from dataclasses import dataclass
from typing import Any, Final, final

from .exceptions import RouteDefinitionError

if typing.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .datastructures import QueryParams

_REQUIRED: Final = inspect.Parameter.empty
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


class Source(enum.Enum):
    """Where a parameter's value comes from."""

    PATH = "path"
    QUERY = "query"


class ParameterError(Exception):
    """A request's parameter is missing or cannot be converted; the message says which."""


def _to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


_CONVERTERS: Final[dict[object, Callable[[str], object]]] = {
    str: str,
    int: int,
    float: float,
    bool: _to_bool,
    uuid.UUID: uuid.UUID,
}


@final
@dataclass(frozen=True, slots=True)
class Param:
    """One planned parameter."""

    name: str
    source: Source
    convert: Callable[[str], object]
    type_name: str
    default: object = _REQUIRED


@final
@dataclass(frozen=True, slots=True)
class HandlerPlan:
    """How to call one handler: which argument comes from where."""

    params: tuple[Param, ...]
    connection_params: tuple[str, ...]
    """The names of the parameters that get the connection (WebSocket or Request)."""
    provided: tuple[tuple[str, object], ...] = ()
    """Parameters that get an object of the app (its Hub), by name."""

    def bind(
        self, path_params: Mapping[str, object], query_params: QueryParams
    ) -> dict[str, object]:
        """The keyword arguments for one call, but for the connection's.

        Raises:
            ParameterError: a required query parameter is missing, or a value does not convert.
        """
        kwargs: dict[str, object] = dict(self.provided)
        for param in self.params:
            if param.source is Source.PATH:
                value = path_params[param.name]
                if not isinstance(value, str):  # already converted by the template
                    kwargs[param.name] = value
                    continue
            elif param.name in query_params:
                value = query_params[param.name]
            elif param.default is not _REQUIRED:
                kwargs[param.name] = param.default
                continue
            else:
                raise ParameterError(f"missing query parameter {param.name!r}")
            try:
                kwargs[param.name] = param.convert(value)
            except ValueError:
                raise ParameterError(
                    f"{param.source.value} parameter {param.name!r}: expected {param.type_name},"
                    f" got {value!r}"
                ) from None
        return kwargs


def plan_handler(
    handler: Callable[..., object],
    path_params: frozenset[str],
    connection_type: type,
    *,
    first_is_connection: bool,
    provided: Mapping[type, object] | None = None,
) -> HandlerPlan:
    """Plan the calls of ``handler``.

    Args:
        handler: The route's ``async def`` function.
        path_params: The names in the route's path template.
        connection_type: ``WebSocket`` or ``Request``: a parameter annotated with it gets the
            connection.
        first_is_connection: Whether an unannotated first parameter gets the connection (as in
            ``async def endpoint(ws)``).
        provided: Objects of the app by type: a parameter annotated with one of these types
            gets its object (``None``: the app has none, which is a RouteDefinitionError).

    Raises:
        RouteDefinitionError: ``handler`` is not ``async def``, takes ``*args``/``**kwargs`` or a
            positional-only parameter, has an annotation that cannot be resolved or converted,
            or misses a path parameter of the template.
    """
    name = getattr(handler, "__qualname__", repr(handler))
    if not _is_async(handler):
        raise RouteDefinitionError(
            f"handler {name} must be an async function (async def), it is {type(handler).__name__}"
        )
    try:
        hints = typing.get_type_hints(_unwrap(handler))
    except Exception as exc:
        raise RouteDefinitionError(
            f"handler {name}: cannot resolve its annotations: {exc}"
        ) from exc
    params: list[Param] = []
    connection: list[str] = []
    fixed: list[tuple[str, object]] = []
    for index, parameter in enumerate(inspect.signature(handler).parameters.values()):
        where = f"handler {name}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise RouteDefinitionError(f"{where}: *args and **kwargs cannot be filled in")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise RouteDefinitionError(f"{where}: positional-only parameters cannot be filled in")
        annotation = hints.get(parameter.name, _REQUIRED)
        is_connection = (
            isinstance(annotation, type) and issubclass(annotation, connection_type)
        ) or (first_is_connection and index == 0 and annotation is _REQUIRED)
        if is_connection:
            connection.append(parameter.name)
            continue
        if provided and annotation in provided:
            value = provided[annotation]
            if value is None:
                raise RouteDefinitionError(
                    f"{where}: the app has no {annotation.__name__}"
                    f" (give it one: FastrAPI({annotation.__name__.lower()}=...))"
                )
            fixed.append((parameter.name, value))
            continue
        convert, type_name, optional = _converter(annotation, where)
        source = Source.PATH if parameter.name in path_params else Source.QUERY
        default = parameter.default
        if optional and default is _REQUIRED:
            default = None
        params.append(Param(parameter.name, source, convert, type_name, default))
    missing = path_params - {p.name for p in params if p.source is Source.PATH}
    if missing:
        raise RouteDefinitionError(
            f"handler {name} has no parameter for path parameter(s) {', '.join(sorted(missing))}"
        )
    if first_is_connection and not connection:
        raise RouteDefinitionError(
            f"handler {name} must take the {connection_type.__name__} as its first parameter"
        )
    return HandlerPlan(tuple(params), tuple(connection), tuple(fixed))


def _unwrap(handler: Callable[..., object]) -> Callable[..., object]:
    """The function whose annotations describe ``handler`` (a partial's, an object's __call__)."""
    if isinstance(handler, functools.partial):
        return _unwrap(handler.func)
    if inspect.isroutine(handler):
        return handler
    call: Callable[..., object] = type(handler).__call__  # a callable object's own method
    return call


def _is_async(handler: object) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 (an object with an async __call__)
    )


def _converter(annotation: Any, where: str) -> tuple[Callable[[str], object], str, bool]:
    """The converter, type name and optionality for an annotation."""
    if annotation is _REQUIRED:
        return str, "str", False
    optional = False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            annotation = args[0]
    convert = _CONVERTERS.get(annotation)
    if convert is None:
        raise RouteDefinitionError(
            f"{where}: annotation {annotation!r} is not supported; use str, int, float, bool,"
            " uuid.UUID, or one of them | None"
        )
    return convert, getattr(annotation, "__name__", str(annotation)), optional
