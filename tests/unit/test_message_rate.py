"""The token bucket of ``max_message_rate`` and the checks of its options, without a clock."""

from __future__ import annotations

import pytest

from fastrapi import FastrAPI
from fastrapi._pump import Connection, PumpOptions, TokenBucket


def test_the_bucket_gives_its_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(100.0) == pytest.approx(0.1)  # taken: owed for 0.1 s
    assert bucket.take(100.1) == pytest.approx(0.1)  # the debt was paid, this one is owed
    assert bucket.take(100.3) == 0  # a token came meanwhile


def test_the_bucket_keeps_no_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=1, burst=2, now=0.0)
    assert [bucket.take(3600.0) for _ in range(2)] == [0, 0]  # an hour idle: still only 2
    assert bucket.take(3600.0) == pytest.approx(1.0)


def test_a_token_given_back_is_there_again() -> None:
    bucket = TokenBucket(rate=1, burst=1, now=0.0)
    assert bucket.take(0.0) == 0
    assert bucket.take(0.0) == pytest.approx(1.0)
    bucket.give_back()
    assert bucket.take(0.0) == pytest.approx(1.0)


def test_no_rate_means_the_plain_pump() -> None:
    assert PumpOptions().connection_type() is Connection
    for policy in ("throttle", "close"):
        limited = PumpOptions(max_message_rate=5, message_rate_policy=policy).connection_type()
        assert issubclass(limited, Connection)
        assert limited is not Connection


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_message_rate": 0}, "max_message_rate must be a positive number"),
        ({"max_message_rate": -1.5}, "max_message_rate must be a positive number"),
        ({"max_message_rate": 5, "max_message_burst": 0}, "max_message_burst must be 1 or more"),
        ({"max_message_burst": 5}, "max_message_burst needs a max_message_rate"),
        ({"message_rate_policy": "drop"}, "message_rate_policy must be 'throttle' or 'close'"),
    ],
)
def test_bad_rate_options_are_refused_where_they_are_given(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FastrAPI(**options)  # type: ignore[arg-type]  # deliberately wrong
    app = FastrAPI()
    with pytest.raises(ValueError, match=message):
        app.websocket("/ws", **options)  # type: ignore[arg-type]  # deliberately wrong
