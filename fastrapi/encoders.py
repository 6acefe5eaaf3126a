"""``jsonable_encoder``: any value as plain JSON data (dicts, lists, str, int, float, bool, None).

FastAPI's function, with its parameters and results: pydantic models through their JSON dump,
dataclasses and mappings as dicts, sequences, sets and generators as lists, and the usual
scalars as strings or numbers (dates in ISO 8601, ``timedelta`` in seconds, ``Decimal`` as an
int when it has no fraction, enums as their value).
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import re
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import GeneratorType
from typing import Any, Final

import pydantic
import pydantic_core

__all__ = ["jsonable_encoder"]

Encoder = Callable[[Any], Any]
IncEx = Collection[Any]
"""Field names (a set, list...) or pydantic's nested ``{field: ...}`` form."""


def _decimal(value: Decimal) -> int | float:
    # an int when there is no fractional part, so that Numeric(x, 0) ids survive the round trip
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def _iso(value: datetime.date | datetime.time) -> str:
    return value.isoformat()


_BY_TYPE: Final[dict[type, Encoder]] = {
    bytes: bytes.decode,
    datetime.date: _iso,
    datetime.datetime: _iso,
    datetime.time: _iso,
    datetime.timedelta: datetime.timedelta.total_seconds,
    Decimal: _decimal,
    uuid.UUID: str,
    re.Pattern: lambda pattern: pattern.pattern,
    pydantic.SecretStr: str,
    pydantic.SecretBytes: str,
    pydantic.AnyUrl: str,
    pydantic.NameEmail: str,
    pydantic_core.Url: str,
    ipaddress.IPv4Address: str,
    ipaddress.IPv6Address: str,
    ipaddress.IPv4Interface: str,
    ipaddress.IPv6Interface: str,
    ipaddress.IPv4Network: str,
    ipaddress.IPv6Network: str,
}
"""Scalars with a fixed JSON form, looked up along the value's class's MRO."""

_PLAIN: Final = frozenset({str, int, float, bool, type(None)})
_AS_LIST: Final = (set, frozenset, deque, GeneratorType)


def _by_type(value: object) -> Encoder | None:
    for cls in type(value).__mro__:
        encoder = _BY_TYPE.get(cls)
        if encoder is not None:
            return encoder
    return None


def jsonable_encoder(
    obj: Any,
    include: IncEx | None = None,
    exclude: IncEx | None = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    custom_encoder: dict[Any, Callable[[Any], Any]] | None = None,
    sqlalchemy_safe: bool = True,
) -> Any:
    """``obj`` as data that ``json.dumps`` takes, recursively.

    Args:
        obj: The value.
        include: Only these fields (of a model, dataclass or mapping at the top).
        exclude: Leave these fields out.
        by_alias: Name a model's fields by their alias (default).
        exclude_unset: Leave out a model's fields that were not set explicitly.
        exclude_defaults: Leave out a model's fields equal to their default.
        exclude_none: Leave out fields and mapping entries whose value is ``None``.
        custom_encoder: ``{type: function}`` that wins over every built-in rule, for values
            of that type (or a subclass).
        sqlalchemy_safe: Skip mapping keys starting with ``_sa`` (SQLAlchemy's state).

    Raises:
        ValueError: ``obj`` (or something in it) has no JSON form: it is none of the above,
            and neither ``dict(obj)`` nor ``vars(obj)`` works.
    """
    if custom_encoder:
        encoder = custom_encoder.get(type(obj))
        if encoder is None:
            encoder = next((f for cls, f in custom_encoder.items() if isinstance(obj, cls)), None)
        if encoder is not None:
            return encoder(obj)
    if include is not None and not isinstance(include, set | Mapping):
        include = set(include)
    if exclude is not None and not isinstance(exclude, set | Mapping):
        exclude = set(exclude)
    # the options every nested value is encoded with
    nested: dict[str, Any] = {
        "by_alias": by_alias,
        "exclude_unset": exclude_unset,
        "exclude_none": exclude_none,
        "custom_encoder": custom_encoder,
        "sqlalchemy_safe": sqlalchemy_safe,
    }
    if type(obj) in _PLAIN:
        return obj
    if isinstance(obj, pydantic.BaseModel):
        dumped = obj.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
        )
        return jsonable_encoder(
            dumped,
            exclude_none=exclude_none,
            exclude_defaults=exclude_defaults,
            sqlalchemy_safe=sqlalchemy_safe,
        )
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable_encoder(
            dataclasses.asdict(obj),
            include=include,
            exclude=exclude,
            exclude_defaults=exclude_defaults,
            **nested,
        )
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, str | int | float | None):  # subclasses of them (enums were above)
        return obj
    if isinstance(obj, pydantic_core.PydanticUndefinedType):
        return None
    if isinstance(obj, Mapping):
        return _mapping(obj, include, exclude, nested)
    if isinstance(obj, _AS_LIST) or (
        isinstance(obj, Sequence) and not isinstance(obj, bytes | bytearray)
    ):
        return [
            jsonable_encoder(
                item,
                include=include,
                exclude=exclude,
                exclude_defaults=exclude_defaults,
                **nested,
            )
            for item in obj
        ]
    encoder = _by_type(obj)
    if encoder is not None:
        return encoder(obj)
    return jsonable_encoder(
        _as_dict(obj), include=include, exclude=exclude, exclude_defaults=exclude_defaults, **nested
    )


def _mapping(
    obj: Mapping[Any, Any],
    include: Iterable[Any] | None,
    exclude: Iterable[Any] | None,
    nested: Any,
) -> dict[Any, Any]:
    keys = set(obj)
    if include is not None:
        keys &= set(include)
    if exclude is not None:
        keys -= set(exclude)
    skip_sa = nested["sqlalchemy_safe"]
    skip_none = nested["exclude_none"]
    return {
        jsonable_encoder(key, **nested): jsonable_encoder(value, **nested)
        for key, value in obj.items()
        if key in keys
        and not (skip_none and value is None)
        and not (skip_sa and isinstance(key, str) and key.startswith("_sa"))
    }


def _as_dict(obj: object) -> dict[Any, Any]:
    """An arbitrary object's fields: ``dict(obj)``, else its ``vars()``.

    Raises:
        ValueError: neither works.
    """
    try:
        data: dict[Any, Any] = dict(obj)  # type: ignore[call-overload]  # any object: may fail
        return data
    except Exception as first:
        try:
            return vars(obj)
        except TypeError as second:
            raise ValueError(
                f"{type(obj).__name__} object has no JSON form: {first}; {second}"
            ) from second
