"""Instants as the sign-in tables keep them: aware UTC datetimes from the injected clock.

SQLite hands back naive datetimes (everything stored is UTC) and compares stored text,
not instants, so expiry is always judged in Python on aware values read back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from auth.config import Clock


def moment(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
