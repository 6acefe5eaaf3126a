"""What an HTTP handler returns, planned once per route: the response model (from
``response_model=`` or the return annotation, FastAPI's rules), its filters, the status code and
the response class; each request then only renders its value with the plan.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, final

import pydantic

from ._params import validation_errors
from .exceptions import ResponseValidationError, RouteDefinitionError
from .responses import Response, _no_body

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    IncEx = set[int] | set[str] | dict[int, Any] | dict[str, Any]

NOT_GIVEN: Final = object()
"""``response_model`` was not given: the return annotation decides."""


def response_model_of(
    endpoint: Callable[..., object], given: object, namespace: Mapping[str, Any] | None
) -> Any:
    """The response model of a route: ``given`` if it was, else the return annotation unless
    that is a :class:`~fastrapi.Response` (returned as is) or cannot be resolved (annotations
    imported only for type checkers); ``None`` for none."""
    if given is not NOT_GIVEN:
        return given
    target = inspect.unwrap(endpoint)
    annotation = getattr(target, "__annotations__", {}).get("return", inspect.Signature.empty)
    if annotation is inspect.Signature.empty:
        return None
    try:
        hints = typing.get_type_hints(
            _Return(annotation),
            globalns=getattr(target, "__globals__", {}),
            localns=dict(namespace or {}),
            include_extras=True,
        )
    except Exception:  # a name only a type checker sees: no model, as if unannotated
        return None
    model = hints.get("return")
    if inspect.isasyncgenfunction(target) or inspect.isgeneratorfunction(target):
        from .sse import item_model

        model = item_model(model)  # a stream: its items are validated one by one
    if model is None or model is type(None) or model is Any or model is object:
        return None
    if isinstance(model, type) and issubclass(model, Response):
        return None
    return model


class _Return:
    """An object whose only annotation is a return annotation, for ``get_type_hints``."""

    def __init__(self, annotation: object) -> None:
        self.__annotations__ = {"return": annotation}


@final
@dataclass(frozen=True, slots=True)
class ReturnPlan:
    """How one route turns its handler's value into a response."""

    response_class: type[Response]
    status_code: int | None
    adapter: pydantic.TypeAdapter[Any] | None
    include: IncEx | None = None
    exclude: IncEx | None = None
    by_alias: bool = True
    exclude_unset: bool = False
    exclude_defaults: bool = False
    exclude_none: bool = False

    def content(self, value: object) -> object:
        """``value`` validated by the response model and filtered, in JSON form; ``value``
        itself when there is no model.

        Raises:
            ResponseValidationError: ``value`` does not fit the model.
        """
        adapter = self.adapter
        if adapter is None:
            return value
        prepared = _prepare(value, self.exclude_unset, self.exclude_defaults, self.exclude_none)
        try:
            # (the core validator and serializer: the TypeAdapter's methods pass them on)
            valid = adapter.validator.validate_python(prepared, from_attributes=True)
        except pydantic.ValidationError as exc:
            errors = [
                {**error, "loc": ["response", *error["loc"]]}  # type: ignore[misc]  # a list
                for error in validation_errors(exc)
            ]
            raise ResponseValidationError(errors, body=value) from None
        return adapter.serializer.to_python(
            valid,
            mode="json",
            include=self.include,
            exclude=self.exclude,
            by_alias=self.by_alias,
            exclude_unset=self.exclude_unset,
            exclude_defaults=self.exclude_defaults,
            exclude_none=self.exclude_none,
        )

    def render(self, value: object, sub_response: Response | None) -> Response:
        """The response for what the handler returned: a :class:`~fastrapi.Response` as it
        is; anything else validated, filtered and rendered by the response class, with the
        status code and the headers and status set on the injected ``sub_response``.

        Raises:
            ResponseValidationError: ``value`` does not fit the response model.
            TypeError: the response class cannot render it.
        """
        if isinstance(value, Response):
            return value
        content = self.content(value)
        status = self.status_code
        if sub_response is not None and sub_response.status_code != (status or 200):
            status = sub_response.status_code
        if status is None:
            response = self.response_class(content)
        elif _no_body(status):
            response = Response(b"", status)
        else:
            response = self.response_class(content, status)
        if sub_response is not None:
            merge_headers(sub_response, response)
        return response


def merge_headers(source: Response, target: Response) -> None:
    """Add the headers set on ``source`` (the injected response: its cookies, say) to
    ``target``."""
    target.raw_headers.extend(
        (key, value)
        for key, value in source.raw_headers
        if key not in (b"content-length", b"content-type")
    )


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _prepare(value: object, unset: bool, defaults: bool, none: bool) -> object:
    """Models in ``value`` as dicts dumped with the filters (so that fields a returned model
    left unset stay unset in the response model), as FastAPI does before validating."""
    if type(value) in _SCALARS:  # most values: nothing to look into
        return value
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(
            by_alias=True, exclude_unset=unset, exclude_defaults=defaults, exclude_none=none
        )
    if isinstance(value, list | tuple):
        return [_prepare(item, unset, defaults, none) for item in value]
    if isinstance(value, dict):
        return {key: _prepare(item, unset, defaults, none) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def plan_return(
    endpoint: Callable[..., object],
    response_model: Any,
    response_class: type[Response],
    status_code: int | None,
    *,
    include: IncEx | None = None,
    exclude: IncEx | None = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
) -> ReturnPlan:
    """Plan how ``endpoint``'s values become responses.

    Raises:
        RouteDefinitionError: the response model is no type pydantic can validate, or the
            status code allows no body but a response model is given.
    """
    adapter: pydantic.TypeAdapter[Any] | None = None
    name = getattr(endpoint, "__qualname__", repr(endpoint))
    if response_model is not None:
        if status_code is not None and _no_body(status_code):
            raise RouteDefinitionError(
                f"handler {name}: status code {status_code} must not have a response body, "
                "but a response model is given"
            )
        try:
            adapter = pydantic.TypeAdapter(response_model)
        except (pydantic.PydanticSchemaGenerationError, TypeError, ValueError) as exc:
            raise RouteDefinitionError(
                f"handler {name}: {response_model!r} is no valid response model ({exc}); "
                "a return annotation that is not one (Response | dict, say) is turned off "
                "with response_model=None"
            ) from exc
    return ReturnPlan(
        response_class,
        status_code,
        adapter,
        include,
        exclude,
        by_alias,
        exclude_unset,
        exclude_defaults,
        exclude_none,
    )
