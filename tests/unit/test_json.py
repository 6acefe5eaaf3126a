"""``fastrapi._json``: where a NaN or an infinity is found, and what passes."""

from __future__ import annotations

import dataclasses

import pydantic
import pytest

from fastrapi._json import check_finite, dumps


@dataclasses.dataclass
class Point:
    x: float
    y: float


class Reading(pydantic.BaseModel):
    at: int
    points: list[Point]


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (float("nan"), "nan at data:"),
        ({"a": {"b": (1, float("inf"))}}, r"inf at data\['a'\]\['b'\]\[1\]:"),
        ([Point(1.0, -float("inf"))], r"-inf at data\[0\]\.y:"),
        (
            {"r": Reading(at=1, points=[Point(float("nan"), 0.0)])},
            r"nan at data\['r'\]\.points\[0\]\.x:",
        ),
    ],
)
def test_a_nan_or_an_infinity_is_found_where_it_is(data: object, where: str) -> None:
    payload = dumps(data)
    assert b"null" in payload  # what orjson made of it
    with pytest.raises(ValueError, match=f"^sending got {where} JSON has no such number"):
        check_finite(payload, data, "sending")


@pytest.mark.parametrize(
    "data",
    [
        {"a": None, "b": [1.5, None, "null"], "c": Point(0.5, 1e308)},
        Reading(at=1, points=[]),
        {1.5: None},  # keys are not looked at
        "nan",
    ],
)
def test_finite_data_passes(data: object) -> None:
    check_finite(dumps(data), data, "sending")  # no error
