"""The fixed-window counters behind every limit (auth.rate_limits), on a clock the
test moves."""

from __future__ import annotations

import pytest

from auth import rate_limits
from auth.rate_limits import Ask, Rate, RateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(rate_limits.time, "time", clock.time)
    return clock


def test_the_amount_is_spent_then_refused_until_the_window_ends(clock: Clock) -> None:
    limits = RateLimits({"pushes": Rate(3, 60)})
    assert [limits.spend(Ask("pushes", "birch")) for _ in range(3)] == [None, None, None]
    refused = limits.spend(Ask("pushes", "birch"))
    assert refused is not None
    assert (refused.limit, refused.remaining, refused.retry_after) == ("pushes", 0, 60)
    assert limits.spend(Ask("pushes", "cedar")) is None  # a key of its own
    clock.now += 59
    assert limits.spend(Ask("pushes", "birch")) is not None
    assert limits.refusals["pushes"] == 2
    clock.now += 1  # the window started at the first push ends: the whole amount is back
    assert limits.left("pushes", "birch") == (3, clock.now)
    assert limits.spend(Ask("pushes", "birch", cost=3)) is None


def test_a_refused_ask_spends_nothing_and_several_are_spent_all_or_none(clock: Clock) -> None:
    limits = RateLimits({"pushes": Rate(10, 60), "bytes": Rate(100, 60)})
    assert limits.spend(Ask("pushes", "birch"), Ask("bytes", "birch", cost=90)) is None
    refused = limits.spend(Ask("pushes", "birch"), Ask("bytes", "birch", cost=20))
    assert refused is not None and refused.limit == "bytes"
    assert limits.left("pushes", "birch")[0] == 9  # the push was not counted either
    assert limits.left("bytes", "birch")[0] == 10


def test_an_ask_over_the_whole_amount_says_to_wait_a_whole_window(clock: Clock) -> None:
    limits = RateLimits({"bytes": Rate(100, 30)})
    refused = limits.spend(Ask("bytes", "birch", cost=101))
    assert refused is not None and refused.retry_after == 30


def test_count_spends_past_the_amount_and_refund_gives_back(clock: Clock) -> None:
    limits = RateLimits({"failures": Rate(2, 60)})
    limits.count(Ask("failures", "x"), Ask("failures", "x"), Ask("failures", "x"))
    assert limits.left("failures", "x")[0] == 0
    limits.refund(Ask("failures", "x", cost=5))
    assert limits.left("failures", "x")[0] == 2
    assert limits.check(Ask("failures", "x")) is None


def test_a_limit_of_zero_is_off() -> None:
    limits = RateLimits({"pushes": Rate(0, 60), "other": None})
    assert not limits.enabled("pushes") and not limits.enabled("other")
    assert limits.spend(Ask("pushes", "birch", cost=10**9)) is None


def test_ended_windows_do_not_pile_up(clock: Clock) -> None:
    """A flood from ever new addresses leaves no more than a window's keys behind."""
    limits = RateLimits({"address": Rate(5, 10)})
    for second in range(60):
        clock.now += 1
        for n in range(100):
            limits.spend(Ask("address", f"10.0.{second}.{n}"))
    assert len(limits._windows) <= 100 * 10 + rate_limits._SWEEP_EVERY
