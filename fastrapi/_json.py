"""JSON out: orjson, with pydantic models (anywhere in the data) as their JSON form."""

from __future__ import annotations

import orjson
import pydantic


def _default(value: object) -> object:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def dumps(data: object) -> bytes:
    """``data`` as JSON bytes; pydantic models are dumped in JSON mode.

    Raises:
        TypeError: something in ``data`` has no JSON form.
    """
    return orjson.dumps(data, default=_default)
