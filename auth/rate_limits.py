"""Named rate limits over fixed windows, counted in this process's memory.

A ``Rate`` is an amount per window (``Rate(60, 60)``: 60 per minute); ``RateLimits``
keeps one counter per (limit, key) in the ``limits`` library's in-memory storage,
with its fixed-window strategy: the counter starts at the first hit, and the whole
amount is back when its window ends, so a refusal can say exactly when to come back
(``Refused.retry_after``). A window can see up to twice its amount across its
boundary with the previous one; the limits here are against floods, not quotas to
the unit.

The counts are **per process**: a hub run as N processes behind a load balancer lets
a caller up to N times each amount. Nothing here touches the database, so a limit
costs microseconds and keeps working when the database does not.

``spend`` looks before it counts: a refused ask spends nothing (the ``limits``
library's own ``hit`` would count it anyway), and several limits asked together
(an ingest push's count and its bytes) are spent all or none. The look and the count
run without an ``await`` between them, so on the event loop they are one step.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter


@dataclass(frozen=True, slots=True)
class Rate:
    """``amount`` per ``seconds``; an amount of 0 turns the limit off."""

    amount: int
    seconds: int

    def __post_init__(self) -> None:
        if self.amount < 0 or self.seconds < 1:
            raise ValueError(f"a rate is an amount >= 0 per >= 1 second, not {self}")

    def __str__(self) -> str:
        return f"{self.amount:,} per {self.seconds:,} s"


@dataclass(frozen=True, slots=True)
class Refused:
    """An ask that a limit refused: which limit, its rate, and when to come back."""

    limit: str  # the limit's name, e.g. "token_address"
    rate: Rate
    remaining: int  # what is left in the current window
    retry_after: int  # seconds until the window ends and the whole amount is back
    reset_at: float  # the same moment, as a Unix time


@dataclass(frozen=True, slots=True)
class Ask:
    """Spend ``cost`` of the limit ``limit`` for ``key`` (a client id, an address...)."""

    limit: str
    key: str
    cost: int = 1


class RateLimits:
    """A set of named limits sharing one in-memory store; ``refusals`` counts the
    refusals per limit name (for ``/metrics``: names only, never the keys)."""

    def __init__(self, rates: Mapping[str, Rate | None]) -> None:
        self.rates = {name: rate for name, rate in rates.items() if rate and rate.amount > 0}
        self._items: dict[str, RateLimitItem] = {
            name: RateLimitItemPerSecond(rate.amount, rate.seconds, namespace=name)
            for name, rate in self.rates.items()
        }
        self._storage = MemoryStorage()
        self._window = FixedWindowRateLimiter(self._storage)
        self.refusals: Counter[str] = Counter()

    def enabled(self, limit: str) -> bool:
        return limit in self._items

    def check(self, *asks: Ask) -> Refused | None:
        """The first of ``asks`` that its limit would refuse, counted as a refusal;
        nothing is spent. Asks of limits turned off always pass."""
        for ask in asks:
            item = self._items.get(ask.limit)
            if item is not None and not self._window.test(item, ask.key, cost=ask.cost):
                self.refusals[ask.limit] += 1
                return self._refused(ask.limit, ask.key)
        return None

    def spend(self, *asks: Ask) -> Refused | None:
        """Spend every ask, or (when one is refused) none of them."""
        refused = self.check(*asks)
        if refused is None:
            self.count(*asks)
        return refused

    def count(self, *asks: Ask) -> None:
        """Spend regardless of what is left (a failed attempt that happened anyway)."""
        for ask in asks:
            item = self._items.get(ask.limit)
            if item is not None:
                self._window.hit(item, ask.key, cost=ask.cost)

    def refund(self, *asks: Ask) -> None:
        """Give back what ``spend`` or ``count`` took (never below nothing spent)."""
        for ask in asks:
            item = self._items.get(ask.limit)
            if item is not None:
                self._storage.decr(item.key_for(ask.key), ask.cost)

    def left(self, limit: str, key: str) -> tuple[int, float]:
        """What is left of ``limit`` for ``key``, and when its window ends (Unix time)."""
        item = self._items[limit]
        stats = self._window.get_window_stats(item, key)
        return stats.remaining, stats.reset_time

    def _refused(self, limit: str, key: str) -> Refused:
        remaining, reset_at = self.left(limit, key)
        now = time.time()
        if reset_at <= now:  # nothing spent yet: the ask alone is over the whole amount
            reset_at = now + self.rates[limit].seconds
        return Refused(
            limit=limit,
            rate=self.rates[limit],
            remaining=remaining,
            retry_after=max(1, math.ceil(reset_at - now)),
            reset_at=reset_at,
        )
