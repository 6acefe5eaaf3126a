"""JSON out: orjson, with pydantic models (anywhere in the data) as their JSON form.

orjson writes the floats JSON has no number for (NaN, Infinity, -Infinity) as ``null``, as
JavaScript's ``JSON.stringify`` does, and has no option to refuse them. Telling such a ``null``
from ``None``'s takes a walk of the data, several times the cost of orjson itself, so it is done
only where sends are checked anyway (``validate_sends``, ``validate_publish``: in tests), by
:func:`check_finite`, and only for JSON that has a ``null`` in it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import orjson
import pydantic

if TYPE_CHECKING:
    from collections.abc import Iterable


def _default(value: object) -> object:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    from .encoders import jsonable_encoder  # what orjson does not know (sets, Decimal...)

    try:
        return jsonable_encoder(value)
    except ValueError:
        raise TypeError(f"Type is not JSON serializable: {type(value).__name__}") from None


def dumps(data: object, option: int = 0) -> bytes:
    """``data`` as JSON bytes; pydantic models are dumped in JSON mode, and what orjson does
    not know goes through :func:`~fastrapi.encoders.jsonable_encoder`.

    Raises:
        TypeError: something in ``data`` has no JSON form.
    """
    try:
        return orjson.dumps(data, default=_default, option=option)
    except TypeError as exc:
        if "Dict key must be str" not in str(exc):
            raise
        # FastAPI's encoder turns keys into strings ({1: 2.5} -> {"1": 2.5}); orjson does it
        # when asked, at a cost the usual str-keyed data does not pay
        return orjson.dumps(data, default=_default, option=option | orjson.OPT_NON_STR_KEYS)


def check_finite(payload: bytes, data: object, where: str) -> None:
    """Refuse ``data``, serialised as ``payload``, if orjson wrote a float JSON cannot carry
    (NaN, Infinity, -Infinity) as ``null`` there.

    Raises:
        ValueError: it did; the message says where in ``data``.
    """
    if b"null" not in payload:  # what NaN would have become, if there was one
        return
    found = _non_finite(data)
    if found is not None:
        path, value = found
        raise ValueError(
            f"{where} got {value!r} at data{path}: JSON has no such number (it would be sent"
            " as null); send None, or a string, in its place"
        )


def _non_finite(data: object) -> tuple[str, float] | None:
    """The path and value of the first NaN or infinity in ``data``, looking where orjson
    serialises: dict values, list and tuple items, dataclass and pydantic model fields."""
    if isinstance(data, float):
        return None if math.isfinite(data) else ("", data)
    if isinstance(data, dict):
        items: Iterable[tuple[object, object]] = ((f"[{k!r}]", v) for k, v in data.items())
    elif isinstance(data, list | tuple):
        items = ((f"[{i}]", v) for i, v in enumerate(data))
    elif isinstance(data, pydantic.BaseModel):
        items = ((f".{name}", v) for name, v in data)
    elif dataclasses.is_dataclass(data) and not isinstance(data, type):
        items = ((f".{f.name}", getattr(data, f.name)) for f in dataclasses.fields(data))
    else:
        return None
    for path, value in items:
        found = _non_finite(value)
        if found is not None:
            return f"{path}{found[0]}", found[1]
    return None
