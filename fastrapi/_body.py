"""Reading an HTTP request's body as its route's plan says: JSON, or a form.

Only routes whose plan takes a body come here (``HandlerPlan.body_kind``); the others never
read it. JSON is parsed when the ``Content-Type`` says JSON (``application/json`` or any
``application/*+json``), or, with ``strict_content_type=False``, when there is none; any other
body stays bytes, so that validating it against a model gives FastAPI's 422. A form is parsed
only from a form content type (any other body gives an empty form: every field is missing);
its files are closed with the request, after the response.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import orjson

from ._forms import is_form
from ._params import NO_BODY, BodyKind
from .datastructures import FormData, UploadFile
from .exceptions import HTTPException, RequestValidationError

if TYPE_CHECKING:
    from ._params import HandlerPlan
    from .requests import Request


async def read_body(request: Request, plan: HandlerPlan, strict_content_type: bool) -> object:
    """The body of ``request`` as ``plan`` takes it: parsed JSON, the raw bytes (not JSON),
    a :class:`~fastrapi.datastructures.FormData`, or ``NO_BODY`` when it is empty.

    Raises:
        RequestValidationError: the body claims to be JSON and is not (FastAPI's
            ``json_invalid`` error, at the position where parsing failed).
        HTTPException: 413 for a body over ``max_body_size``, 400 for a malformed form.
    """
    content_type = request.headers.get("content-type", "")
    if plan.body_kind is BodyKind.FORM:
        if not is_form(content_type):
            return FormData(())
        form = await request.form()  # its files are closed with the request
        if not plan.bytes_fields:
            return form
        items: list[tuple[str, str | UploadFile]] = []
        for key, value in form.multi_items():
            if key in plan.bytes_fields and isinstance(value, UploadFile):
                content: object = await value.read()  # the bytes a ``bytes`` field takes
                items.append((key, content))  # type: ignore[arg-type]  # planned: bytes
            else:
                items.append((key, value))
        return FormData(items)
    raw = await request.body()
    if not raw:
        return NO_BODY
    if not (_is_json(content_type) if content_type else not strict_content_type):
        return raw
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses and Python's json takes (NaN), as FastAPI; or its error
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error], body=exc.doc) from None
    except (UnicodeDecodeError, RecursionError):
        pass
    raise HTTPException(400, "There was an error parsing the body")


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    maintype, _, subtype = kind.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))
