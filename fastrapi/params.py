"""Parameter markers, FastAPI's spelling: ``Annotated[int, Query(ge=1)]``, ``Depends(get_user)``.

A marker says where a handler's (or a dependency's) parameter comes from; its type annotation
says what it must be, and pydantic v2 validates it. Constraints (``gt``, ``ge``, ``lt``, ``le``,
``min_length``, ``max_length``, ``pattern``, ``multiple_of``, ...) are pydantic ``Field``
arguments. Without a marker, a parameter named in the path template is a path parameter, a
pydantic model is the JSON body (HTTP routes), anything else is a query parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["Body", "Cookie", "Depends", "Header", "Param", "Path", "Query", "Security"]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()
"""No default given in the marker: the parameter's own default (if any) applies."""


class Param:
    """Base of the markers: a default, an alias, and pydantic ``Field`` constraints.

    Args:
        default: The value when the request has none (or give it as the parameter's default).
        alias: The name in the request, when it differs from the parameter's.
        **constraints: pydantic ``Field`` arguments (``ge=1``, ``max_length=64``, ...).
    """

    source: str = ""

    def __init__(self, default: Any = UNSET, *, alias: str | None = None, **constraints: Any):
        self.default = default
        self.alias = alias
        self.constraints = constraints

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alias={self.alias!r}, {self.constraints!r})"


@final
class Query(Param):
    """A query-string parameter (``?limit=10``); a ``list[...]`` type takes every value."""

    source = "query"


@final
class Path(Param):
    """A path parameter: its name (or alias) must be in the route's template."""

    source = "path"


@final
class Header(Param):
    """A request header; ``user_agent`` reads ``User-Agent`` (underscores become hyphens
    unless ``convert_underscores=False``)."""

    source = "header"

    def __init__(
        self,
        default: Any = UNSET,
        *,
        alias: str | None = None,
        convert_underscores: bool = True,
        **constraints: Any,
    ) -> None:
        super().__init__(default, alias=alias, **constraints)
        self.convert_underscores = convert_underscores


@final
class Cookie(Param):
    """A cookie the client sent."""

    source = "cookie"


@final
class Body(Param):
    """The JSON request body (HTTP routes only).

    One body parameter is the whole body; with several, or with ``embed=True``, each is the
    value of its name in a JSON object.
    """

    source = "body"

    def __init__(
        self, default: Any = UNSET, *, alias: str | None = None, embed: bool = False, **c: Any
    ) -> None:
        super().__init__(default, alias=alias, **c)
        self.embed = embed


class Depends:
    """A dependency: the parameter gets what ``dependency`` returns (or yields).

    ``dependency`` is a function (``def`` or ``async def``, or a generator of either kind whose
    code after ``yield`` is its cleanup) whose own parameters are planned like a handler's:
    markers, sub-dependencies, the ``Request`` or ``WebSocket``. It is called once per request
    or connection however many parameters depend on it, unless ``use_cache=False``.
    ``Annotated[User, Depends()]`` depends on ``User`` itself.
    """

    def __init__(
        self, dependency: Callable[..., Any] | None = None, *, use_cache: bool = True
    ) -> None:
        self.dependency = dependency
        self.use_cache = use_cache

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__qualname__", repr(self.dependency))
        return f"Depends({name})"


@final
class Security(Depends):
    """A dependency that needs OAuth2 ``scopes``: ``Security(get_user, scopes=["items"])``.

    It is a :class:`Depends` whose scopes add to those of the dependencies above it: a
    parameter annotated :class:`~fastrapi.security.SecurityScopes` anywhere below gets them
    all (``scopes`` in order, each once, and ``scope_str``, space-separated). The scopes are
    known when the route is declared, so they cost nothing per request.
    """

    def __init__(
        self,
        dependency: Callable[..., Any] | None = None,
        *,
        scopes: Sequence[str] | None = None,
        use_cache: bool = True,
    ) -> None:
        super().__init__(dependency, use_cache=use_cache)
        self.scopes = tuple(scopes or ())

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__qualname__", repr(self.dependency))
        return f"Security({name}, scopes={list(self.scopes)!r})"
