"""Saving the clinic's policy: one transaction, the audit row with it, stale forms refused."""

from __future__ import annotations

from datetime import time

from clinic.actors import Actor
from clinic.audit import services as audit
from clinic.catalog import policy
from clinic.catalog.models import ClinicPolicy
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.extensions import db

CHANGED = "settings.policy_changed"
RESET = "settings.policy_reset"
FIELDS = ("cancellation_window_hours", "quiet_start", "quiet_end")


class StalePolicyForm(ChangeNotAllowed):
    """The policy was saved by someone else after this form was shown."""


STALE_MESSAGE = (
    "Someone else changed the policy after you opened this page. Here it is as it is now: "
    "make your change again if it is still needed."
)


def save_policy(
    cancellation_window_hours: int,
    quiet_start: time,
    quiet_end: time,
    *,
    shown_version: int | None,
    by: Actor,
) -> dict[str, tuple]:
    """Save the clinic's own values; returns the changes ({} when nothing changed).

    Raises ValidationFailed (field errors) for values the rules refuse and StalePolicyForm
    when the form was shown before someone else's save. An unchanged form writes nothing: the
    values it shows that come from the environment stay its defaults.
    """
    errors = policy.check(cancellation_window_hours, quiet_start, quiet_end)
    if errors:
        raise ValidationFailed(errors, message="The policy was not saved.")
    wanted = {
        "cancellation_window_hours": cancellation_window_hours,
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
    }
    with write_transaction("settings-policy"):
        current = _current(shown_version)
        changes = {
            name: (_plain(getattr(current, name)), _plain(value))
            for name, value in wanted.items()
            if getattr(current, name) != value
        }
        if not changes:
            return {}
        row = _row()
        for name, value in wanted.items():
            setattr(row, name, value)
        _stamp(row, current)
        audit.record(by, CHANGED, at=row.updated_at, changes=changes)
    return changes


def reset_to_environment(*, shown_version: int | None, by: Actor) -> dict[str, tuple]:
    """Drop the clinic's own values so the environment's hold again; returns what changed."""
    with write_transaction("settings-policy"):
        current = _current(shown_version)
        if current.from_environment == frozenset(FIELDS):
            return {}
        defaults = policy.environment_policy()
        changes = {
            name: (_plain(getattr(current, name)), _plain(getattr(defaults, name)))
            for name in FIELDS
            if getattr(current, name) != getattr(defaults, name)
        }
        row = _row()
        for name in FIELDS:
            setattr(row, name, None)
        _stamp(row, current)
        audit.record(
            by, RESET, at=row.updated_at, changes=changes, detail="back to the environment's values"
        )
    return changes


def _current(shown_version: int | None) -> policy.Policy:
    current = policy.clinic_policy()
    if shown_version != current.version:
        raise StalePolicyForm(STALE_MESSAGE)
    return current


def _row() -> ClinicPolicy:
    row = policy.saved_row()
    if row is None:
        row = ClinicPolicy(id=policy.POLICY_ID, version=0)
        db.session.add(row)
    return row


def _stamp(row: ClinicPolicy, current: policy.Policy) -> None:
    row.version = current.version + 1
    row.updated_at = utcnow()


def _plain(value):
    return value.isoformat("minutes") if isinstance(value, time) else value
