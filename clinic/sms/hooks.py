"""What the texts package asks of the features above it, handed over once at app start.

sms sits beneath booking, visits and courses and never imports them (a contract in
pyproject.toml holds it to that). Where a text needs something only they know (a visit's time,
place and private link, the patient's next visit, what a "C" reply confirms, a daily job), the
feature registers a function here from its own ``init_app`` and sms calls it through the app.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app


@dataclass(frozen=True)
class VisitDetails:
    """What a text about a visit says of it: fills {date}, {time}, {phone} and {link}."""

    start_at: datetime
    timezone: str  # IANA name of the visit's location's zone
    phone: str  # the location's number
    link: str  # the patient's private manage link for this visit


@dataclass(frozen=True)
class UpcomingVisit:
    """A patient's next visit that is going ahead (for {next_visit} and shared numbers)."""

    appointment_id: int
    start_at: datetime
    timezone: str


# Every visit asked for that exists, in one go: the dispatcher asks once per batch it sends.
VisitDetailsLookup = Callable[[Collection[int]], Mapping[int, VisitDetails]]
NextVisitLookup = Callable[[int], UpcomingVisit | None]
# (patient_id, now) -> the id of the visit a "C" reply confirmed, or None when there is none.
# Runs inside the transaction that files the reply.
ConfirmReplyHandler = Callable[[int, datetime], int | None]
# Runs in its own transaction(s); returns how many things it did, for the scheduler's log.
HousekeepingJob = Callable[[], int]
# Runs after the texts in every dispatcher pass (email, say); returns {outcome: count}.
DispatchStep = Callable[[], Mapping[str, int]]
# (staff user, action, {field: (before, after)}, detail): records a staff member's change of
# the texts' settings (their wording) in the audit log, inside the caller's transaction. The
# audit package sits above this one, so it hands its recorder over at app start.
ChangeRecorder = Callable[[Any, str, Mapping[str, tuple], str], None]
# The ids of texts of one kind -> {text id: {placeholder: value}}: what a text about no visit
# (a waitlist offer, say) says of the thing it is about. One call per kind per batch.
TextValuesLookup = Callable[[Collection[int]], Mapping[int, Mapping[str, str]]]


@dataclass
class TextHooks:
    visit_details: VisitDetailsLookup | None = None
    next_visit: NextVisitLookup | None = None
    confirm_reply: ConfirmReplyHandler | None = None
    housekeeping: dict[str, HousekeepingJob] = field(default_factory=dict)
    dispatch_steps: dict[str, DispatchStep] = field(default_factory=dict)
    # Run before the texts, so that texts they plan go out in the same pass.
    prepare_steps: dict[str, DispatchStep] = field(default_factory=dict)
    text_values: dict[str, TextValuesLookup] = field(default_factory=dict)
    change_recorder: ChangeRecorder | None = None


def _hooks(app: Flask) -> TextHooks:
    return app.extensions.setdefault("sms_hooks", TextHooks())


def register_visit_details(app: Flask, lookup: VisitDetailsLookup) -> None:
    _hooks(app).visit_details = lookup


def register_next_visit(app: Flask, lookup: NextVisitLookup) -> None:
    _hooks(app).next_visit = lookup


def register_confirm_reply(app: Flask, handler: ConfirmReplyHandler) -> None:
    _hooks(app).confirm_reply = handler


def register_housekeeping(app: Flask, name: str, job: HousekeepingJob) -> None:
    """A daily job; ``name`` keys its count in housekeeping's result, in registration order."""
    _hooks(app).housekeeping[name] = job


def register_dispatch_step(app: Flask, name: str, step: DispatchStep) -> None:
    """More work for each dispatcher pass; ``name`` prefixes its outcomes in the pass's report."""
    _hooks(app).dispatch_steps[name] = step


def register_prepare_step(app: Flask, name: str, step: DispatchStep) -> None:
    """Work for each dispatcher pass that runs before its texts are claimed (texts it plans
    that are due go out in the same pass); ``name`` prefixes its outcomes in the report."""
    _hooks(app).prepare_steps[name] = step


def register_text_values(app: Flask, kinds: Collection[str], lookup: TextValuesLookup) -> None:
    """Where texts of ``kinds`` get their values ({date}, {time}, {link} ...) when they have no
    visit of their own."""
    for kind in kinds:
        _hooks(app).text_values[str(kind)] = lookup


def register_change_recorder(app: Flask, recorder: ChangeRecorder) -> None:
    _hooks(app).change_recorder = recorder


def record_change(staff, action: str, changes: Mapping[str, tuple], detail: str = "") -> None:
    """Record a change of the texts' settings in the audit log, in the current transaction."""
    _registered("change_recorder")(staff, action, changes, detail)


def _registered(name: str):
    hook = getattr(_hooks(current_app), name)
    if hook is None:
        raise RuntimeError(f"No {name} hook is registered: create_app registers the features'.")
    return hook


def visit_details(appointment_ids: Collection[int]) -> Mapping[int, VisitDetails]:
    if not appointment_ids:
        return {}
    return _registered("visit_details")(appointment_ids)


def next_visit(patient_id: int) -> UpcomingVisit | None:
    return _registered("next_visit")(patient_id)


def confirm_reply(patient_id: int, now: datetime) -> int | None:
    return _registered("confirm_reply")(patient_id, now)


def housekeeping_jobs() -> dict[str, HousekeepingJob]:
    return dict(_hooks(current_app).housekeeping)


def dispatch_steps() -> dict[str, DispatchStep]:
    return dict(_hooks(current_app).dispatch_steps)


def prepare_steps() -> dict[str, DispatchStep]:
    return dict(_hooks(current_app).prepare_steps)


def text_values(kind: str, text_ids: Collection[int]) -> Mapping[int, Mapping[str, str]]:
    """Values for texts of ``kind`` from the feature that planned them ({} when none is
    registered for the kind)."""
    lookup = _hooks(current_app).text_values.get(str(kind))
    if lookup is None or not text_ids:
        return {}
    return lookup(text_ids)
