"""The clinic's policy: how long before a visit patients may still change it online, and the
quiet hours when no planned text goes out.

Every reader (booking, the visit lifecycle, the texts' planner and dispatcher, the patient's
manage page) goes through ``clinic_policy()``. An admin's saved value wins; a value never
saved falls back to the environment (CANCELLATION_WINDOW_HOURS, SMS_QUIET_START,
SMS_QUIET_END), so a clinic that never opens the settings page runs as it always did. The row
is read from the database in each transaction (one primary-key look-up) and never cached in
the process, so every web worker and the dispatcher's own process follow a change at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app

from clinic.catalog.models import ClinicPolicy
from clinic.extensions import db

POLICY_ID = 1
# Two weeks: past that, "change online until" stops meaning anything for a visit booked weeks
# ahead, and a typo (2400 for 24) would quietly lock patients out of their own bookings.
MAX_CANCELLATION_WINDOW_HOURS = 14 * 24


@dataclass(frozen=True)
class Policy:
    cancellation_window_hours: int
    quiet_start: time
    quiet_end: time
    # How many times an admin has saved it (0: never); a form carries it to detect stale saves.
    version: int = 0
    # Which values come from the environment because the clinic has not saved its own.
    from_environment: frozenset[str] = frozenset()
    updated_at: datetime | None = None

    @property
    def cancellation_window(self) -> timedelta:
        return timedelta(hours=self.cancellation_window_hours)


def environment_policy() -> Policy:
    """The defaults the environment gives (checked at start-up by clinic.config)."""
    config = current_app.config
    return Policy(
        cancellation_window_hours=config["CANCELLATION_WINDOW_HOURS"],
        quiet_start=time.fromisoformat(config["SMS_QUIET_START"]),
        quiet_end=time.fromisoformat(config["SMS_QUIET_END"]),
        from_environment=frozenset({"cancellation_window_hours", "quiet_start", "quiet_end"}),
    )


def saved_row() -> ClinicPolicy | None:
    # No autoflush: callers read the policy halfway through a use case (a visit not yet given
    # its status, say), and a look-up must not push their unfinished rows to the database.
    with db.session.no_autoflush:
        return db.session.get(ClinicPolicy, POLICY_ID)


def clinic_policy() -> Policy:
    """The policy in force now: the clinic's saved values over the environment's."""
    defaults = environment_policy()
    row = saved_row()
    if row is None:
        return defaults
    values = {}
    from_environment = set()
    for name in ("cancellation_window_hours", "quiet_start", "quiet_end"):
        saved = getattr(row, name)
        if saved is None:
            values[name] = getattr(defaults, name)
            from_environment.add(name)
        else:
            values[name] = saved
    return Policy(
        **values,
        version=row.version,
        from_environment=frozenset(from_environment),
        updated_at=row.updated_at,
    )


def check(cancellation_window_hours: int, quiet_start: time, quiet_end: time) -> dict:
    """Field errors for values the clinic's rules refuse (empty: all fine)."""
    errors: dict[str, list[str]] = {}
    if not 0 <= cancellation_window_hours <= MAX_CANCELLATION_WINDOW_HOURS:
        errors["cancellation_window_hours"] = [
            f"Give a number of hours from 0 to {MAX_CANCELLATION_WINDOW_HOURS} (two weeks)."
        ]
    if quiet_start.second or quiet_start.microsecond:
        errors["quiet_start"] = ["Give the time in hours and minutes, like 20:00."]
    if quiet_end.second or quiet_end.microsecond:
        errors["quiet_end"] = ["Give the time in hours and minutes, like 09:00."]
    if quiet_start == quiet_end:
        errors.setdefault("quiet_end", []).append(
            "Quiet hours must end at a different time from when they start."
        )
    return errors
