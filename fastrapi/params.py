"""Parameter markers, FastAPI's spelling: ``Annotated[int, Query(ge=1)]``, ``Depends(get_user)``.

A marker says where a handler's (or a dependency's) parameter comes from; its type annotation
says what it must be, and pydantic v2 validates it. Constraints (``gt``, ``ge``, ``lt``, ``le``,
``min_length``, ``max_length``, ``pattern``, ``multiple_of``, ...) are pydantic ``Field``
arguments. Without a marker, a parameter named in the path template is a path parameter, a
pydantic model is the JSON body (HTTP routes), anything else is a query parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal, final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "Body",
    "Cookie",
    "Depends",
    "File",
    "Form",
    "Header",
    "Param",
    "Path",
    "Query",
    "Security",
]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()
"""No default given in the marker: the parameter's own default (if any) applies."""


_FIELD_ARGUMENTS: Final = frozenset(
    {
        "gt",
        "ge",
        "lt",
        "le",
        "multiple_of",
        "min_length",
        "max_length",
        "pattern",
        "strict",
        "allow_inf_nan",
        "max_digits",
        "decimal_places",
        "discriminator",
        "union_mode",
        "fail_fast",
        "coerce_numbers_to_str",
    }
)
"""The markers' keywords that constrain the value (pydantic ``Field`` arguments)."""


class Param:
    """Base of the markers: a default, an alias, constraints, and what documents the
    parameter (FastAPI's keywords).

    Args:
        default: The value when the request has none (or give it as the parameter's default);
            ``...`` means required.
        default_factory: Makes the default, per request.
        alias: The name in the request, when it differs from the parameter's
            (``validation_alias`` wins over it, as in FastAPI).
        title: Kept for the API documents, as the next few; none changes validation.
        description: The parameter's description.
        examples: Example values (and ``example``, the old single one).
        openapi_examples: Named OpenAPI examples.
        deprecated: Marks the parameter deprecated in the documents.
        include_in_schema: ``False`` leaves it out of the documents.
        json_schema_extra: Added to its JSON schema.
        regex: The old name of ``pattern``.
        **constraints: pydantic ``Field`` constraints (``ge=1``, ``max_length=64``,
            ``pattern=...``, ...); other keywords are kept in :attr:`extra`.
    """

    source: str = ""

    def __init__(
        self,
        default: Any = UNSET,
        *,
        default_factory: Callable[[], Any] | None = None,
        alias: str | None = None,
        alias_priority: int | None = None,
        validation_alias: str | None = None,
        serialization_alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        examples: list[Any] | None = None,
        example: Any = UNSET,
        openapi_examples: dict[str, Any] | None = None,
        deprecated: bool | str | None = None,
        include_in_schema: bool = True,
        json_schema_extra: dict[str, Any] | None = None,
        regex: str | None = None,
        **constraints: Any,
    ) -> None:
        if default is ...:
            default = UNSET
        if regex is not None:
            constraints.setdefault("pattern", regex)
        self.default = default
        self.default_factory = default_factory
        self.alias = validation_alias if isinstance(validation_alias, str) else alias
        self.alias_priority = alias_priority
        self.serialization_alias = serialization_alias
        self.title = title
        self.description = description
        self.examples = examples
        self.example = example
        self.openapi_examples = openapi_examples
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.json_schema_extra = json_schema_extra
        self.constraints = {k: v for k, v in constraints.items() if k in _FIELD_ARGUMENTS}
        self.extra = {k: v for k, v in constraints.items() if k not in _FIELD_ARGUMENTS}
        """Keywords that are neither FastAPI's nor constraints (kept for the API documents)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alias={self.alias!r}, {self.constraints!r})"


@final
class Query(Param):
    """A query-string parameter (``?limit=10``); a ``list[...]`` type takes every value of a
    repeated key, and a pydantic model (``Annotated[Filters, Query()]``) takes them all as its
    fields."""

    source = "query"


@final
class Path(Param):
    """A path parameter: its name (or alias) must be in the route's template."""

    source = "path"


@final
class Header(Param):
    """A request header; ``user_agent`` reads ``User-Agent`` (underscores become hyphens
    unless ``convert_underscores=False``); ``list[str]`` takes every value of a repeated
    header, and a pydantic model takes the headers as its fields."""

    source = "header"

    def __init__(
        self, default: Any = UNSET, *, convert_underscores: bool = True, **options: Any
    ) -> None:
        super().__init__(default, **options)
        self.convert_underscores = convert_underscores


@final
class Cookie(Param):
    """A cookie the client sent (a pydantic model takes the cookies as its fields)."""

    source = "cookie"


class Body(Param):
    """The JSON request body (HTTP routes only).

    One body parameter is the whole body; with several, or with ``embed=True``, each is the
    value of its name in a JSON object.
    """

    source = "body"

    def __init__(
        self,
        default: Any = UNSET,
        *,
        embed: bool | None = None,
        media_type: str = "application/json",
        **options: Any,
    ) -> None:
        super().__init__(default, **options)
        self.embed = bool(embed)
        self.media_type = media_type


class Form(Body):
    """A field of a form body (``application/x-www-form-urlencoded`` or
    ``multipart/form-data``); a pydantic model (``Annotated[Login, Form()]``) takes the whole
    form as its fields. An empty field counts as missing, as in FastAPI."""

    source = "form"

    def __init__(
        self,
        default: Any = UNSET,
        *,
        media_type: str = "application/x-www-form-urlencoded",
        **options: Any,
    ) -> None:
        super().__init__(default, media_type=media_type, **options)


@final
class File(Form):
    """A file of a ``multipart/form-data`` body: annotate it ``bytes`` (its content),
    :class:`~fastrapi.UploadFile`, or a ``list`` of either for a repeated field."""

    def __init__(
        self, default: Any = UNSET, *, media_type: str = "multipart/form-data", **options: Any
    ) -> None:
        super().__init__(default, media_type=media_type, **options)


class Depends:
    """A dependency: the parameter gets what ``dependency`` returns (or yields).

    ``dependency`` is a function (``def`` or ``async def``, or a generator of either kind whose
    code after ``yield`` is its cleanup) whose own parameters are planned like a handler's:
    markers, sub-dependencies, the ``Request`` or ``WebSocket``. It is called once per request
    or connection however many parameters depend on it, unless ``use_cache=False``.
    ``Annotated[User, Depends()]`` depends on ``User`` itself.

    ``scope`` says when a generator's cleanup runs: ``"request"`` (the default) after the
    response is sent, ``"function"`` as soon as the handler has returned, before the response
    (so an error it raises is answered, as FastAPI's ``scope="function"``). When the handler
    raises, both run at once, before the error is answered.

    Raises:
        ValueError: ``scope`` is neither.
    """

    def __init__(
        self,
        dependency: Callable[..., Any] | None = None,
        *,
        use_cache: bool = True,
        scope: Literal["function", "request"] | None = None,
    ) -> None:
        if scope not in (None, "function", "request"):
            raise ValueError(f"Depends scope must be 'function' or 'request', not {scope!r}")
        self.dependency = dependency
        self.use_cache = use_cache
        self.scope = scope

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
