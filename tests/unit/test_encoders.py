"""jsonable_encoder: FastAPI's results for models, dataclasses, mappings and scalars."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import ipaddress
import re
import uuid
from collections import deque
from decimal import Decimal
from pathlib import PurePosixPath

import orjson
import pydantic
import pytest

from fastrapi.encoders import jsonable_encoder


class Color(enum.StrEnum):
    RED = "red"


class Item(pydantic.BaseModel):
    name: str
    price: float = 1.5
    tag: str | None = None
    when: datetime.datetime = pydantic.Field(
        default=datetime.datetime(2024, 1, 2, 3, 4, 5), alias="whenAt"
    )


@dataclasses.dataclass
class Point:
    x: int
    tags: set[str]
    color: Color = Color.RED


def test_scalars() -> None:
    assert jsonable_encoder(Decimal("2")) == 2
    assert isinstance(jsonable_encoder(Decimal("2")), int)
    assert jsonable_encoder(Decimal("2.5")) == 2.5
    assert jsonable_encoder(datetime.date(2024, 1, 2)) == "2024-01-02"
    assert jsonable_encoder(datetime.time(1, 2)) == "01:02:00"
    assert jsonable_encoder(datetime.timedelta(minutes=1)) == 60.0
    assert jsonable_encoder(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert jsonable_encoder(PurePosixPath("/a/b")) == "/a/b"
    assert jsonable_encoder(b"hi") == "hi"
    assert jsonable_encoder(re.compile("a+")) == "a+"
    assert jsonable_encoder(ipaddress.ip_address("::1")) == "::1"
    assert jsonable_encoder(pydantic.SecretStr("x")) == "**********"
    value = jsonable_encoder(Color.RED)
    assert (value, type(value)) == ("red", str)
    assert jsonable_encoder(None) is None


def test_collections_become_lists() -> None:
    assert jsonable_encoder({1}) == [1]
    assert jsonable_encoder(frozenset({"a"})) == ["a"]
    assert jsonable_encoder(deque([1, 2])) == [1, 2]
    assert jsonable_encoder(x * 2 for x in range(3)) == [0, 2, 4]
    assert jsonable_encoder((1, Decimal("1.5"))) == [1, 1.5]


def test_pydantic_model_with_options() -> None:
    item = Item(name="a")
    assert jsonable_encoder(item) == {
        "name": "a",
        "price": 1.5,
        "tag": None,
        "whenAt": "2024-01-02T03:04:05",
    }
    assert jsonable_encoder(item, by_alias=False)["when"] == "2024-01-02T03:04:05"
    assert jsonable_encoder(item, exclude_unset=True) == {"name": "a"}
    assert jsonable_encoder(item, exclude_none=True).keys() == {"name", "price", "whenAt"}
    assert jsonable_encoder(Item(name="a", price=1.5), exclude_defaults=True) == {"name": "a"}
    assert jsonable_encoder(item, include={"name"}) == {"name": "a"}
    assert jsonable_encoder(item, exclude={"when", "tag"}) == {"name": "a", "price": 1.5}


def test_dataclass_and_mapping() -> None:
    assert jsonable_encoder(Point(1, {"t"})) == {"x": 1, "tags": ["t"], "color": "red"}
    data = {"a": 1, "b": None, "_sa_instance_state": object(), "d": [Item(name="n")]}
    encoded = jsonable_encoder(data, exclude_none=True, exclude={"d"})
    assert encoded == {"a": 1}
    assert jsonable_encoder(data, include=["d"])["d"][0]["name"] == "n"
    assert orjson.loads(orjson.dumps(jsonable_encoder(data, exclude={"_sa_instance_state"})))


def test_custom_encoder_wins_also_for_subclasses() -> None:
    class Sub(datetime.datetime):
        """A datetime of a class of its own."""

    encoders = {datetime.datetime: lambda d: d.year}
    assert jsonable_encoder(datetime.datetime(2020, 1, 1), custom_encoder=encoders) == 2020
    assert jsonable_encoder(Sub(2021, 1, 1), custom_encoder=encoders) == 2021
    assert jsonable_encoder({"k": datetime.datetime(2022, 1, 1)}, custom_encoder=encoders) == {
        "k": 2022
    }


def test_plain_objects_through_vars_and_a_clear_error_otherwise() -> None:
    class Plain:
        def __init__(self) -> None:
            self.x = Decimal("3")

    assert jsonable_encoder(Plain()) == {"x": 3}
    with pytest.raises(ValueError, match="object has no JSON form"):
        jsonable_encoder(object())
