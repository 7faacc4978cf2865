"""The one place the application learns what time it is.

Code asks ``clock.now()`` (through :func:`utcnow`) instead of calling ``datetime.now``, so
tests can freeze and advance time instead of sleeping, and every timestamp is aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: for tests and for reproducible demos."""

    def __init__(self, at: datetime):
        self._now = _require_aware(at)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = _require_aware(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta or timedelta(**kwargs))
        return self._now


def _require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("clock times must be time-zone aware")
    return at.astimezone(UTC)


def utcnow() -> datetime:
    return current_app.extensions["clock"].now()
