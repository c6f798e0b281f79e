"""Named rate limits over fixed windows, counted in this process's memory.

A ``Rate`` is an amount per window (``Rate(60, 60)``: 60 per minute); ``RateLimits``
keeps one counter per (limit, key) over a fixed window: the counter starts at the
first hit, and the whole amount is back when its window ends, so a refusal can say exactly when to come back
(``Refused.retry_after``). A window can see up to twice its amount across its
boundary with the previous one; the limits here are against floods, not quotas to
the unit.

The counts are **per process**: a hub run as N processes behind a load balancer lets
a caller up to N times each amount. Nothing here touches the database, so a limit
costs microseconds and keeps working when the database does not.

``spend`` looks before it counts: a refused ask spends nothing, and several limits
asked together (an ingest push's count and its bytes) are spent all or none. The look
and the count run without an ``await`` between them, so on the event loop they are
one step.

The counters are a dict, not the ``limits`` library's memory storage used before:
that storage starts a thread (a ``threading.Timer``) to expire its keys whenever its
last one has ended, which on the GraphQL cost budget meant a new thread every few
requests and a tenth of a served read's CPU (docs/benchmarks.md). Here an ended window
is dropped when next looked at, and every so often all ended ones are swept.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


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


@dataclass(slots=True)
class _Window:
    ends_at: float  # Unix time
    spent: int = 0


# Ended windows are swept every this many windows opened: memory stays bounded by the
# keys active in one window, however many distinct keys (addresses) come and go.
_SWEEP_EVERY = 1_024


class RateLimits:
    """A set of named limits sharing one in-memory store; ``refusals`` counts the
    refusals per limit name (for ``/metrics``: names only, never the keys)."""

    def __init__(self, rates: Mapping[str, Rate | None]) -> None:
        self.rates = {name: rate for name, rate in rates.items() if rate and rate.amount > 0}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._opened = 0
        self.refusals: Counter[str] = Counter()

    def enabled(self, limit: str) -> bool:
        return limit in self.rates

    def check(self, *asks: Ask) -> Refused | None:
        """The first of ``asks`` that its limit would refuse, counted as a refusal;
        nothing is spent. Asks of limits turned off always pass."""
        now = time.time()
        for ask in asks:
            rate = self.rates.get(ask.limit)
            if rate is None:
                continue
            window = self._current(ask.limit, ask.key, now)
            if (window.spent if window else 0) + ask.cost > rate.amount:
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
        now = time.time()
        for ask in asks:
            rate = self.rates.get(ask.limit)
            if rate is None:
                continue
            window = self._current(ask.limit, ask.key, now)
            if window is None:
                window = self._windows[ask.limit, ask.key] = _Window(now + rate.seconds)
                self._opened += 1
                if self._opened % _SWEEP_EVERY == 0:
                    self._sweep(now)
            window.spent += ask.cost

    def refund(self, *asks: Ask) -> None:
        """Give back what ``spend`` or ``count`` took (never below nothing spent)."""
        now = time.time()
        for ask in asks:
            window = self._current(ask.limit, ask.key, now) if ask.limit in self.rates else None
            if window is not None:
                window.spent = max(window.spent - ask.cost, 0)

    def left(self, limit: str, key: str) -> tuple[int, float]:
        """What is left of ``limit`` for ``key``, and when its window ends (Unix time;
        now, when no window is open)."""
        now = time.time()
        window = self._current(limit, key, now)
        amount = self.rates[limit].amount
        if window is None:
            return amount, now
        return max(amount - window.spent, 0), window.ends_at

    def _current(self, limit: str, key: str, now: float) -> _Window | None:
        """The open window of (limit, key); an ended one is dropped."""
        window = self._windows.get((limit, key))
        if window is not None and window.ends_at <= now:
            del self._windows[limit, key]
            return None
        return window

    def _sweep(self, now: float) -> None:
        ended = [name for name, window in self._windows.items() if window.ends_at <= now]
        for name in ended:
            del self._windows[name]

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
