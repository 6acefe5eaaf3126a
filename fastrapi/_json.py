"""JSON out: orjson, with pydantic models (anywhere in the data) as their JSON form."""

from __future__ import annotations

import orjson
import pydantic


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
