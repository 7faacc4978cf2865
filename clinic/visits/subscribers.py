"""What follows a visit's change: subscribers to the lifecycle's ``visit_changed`` events.

The lifecycle publishes inside the caller's transaction, so what a subscriber writes (planned
texts, a task for the desk, an audit row) commits or rolls back with the change itself.
A new feature (a waitlist, say) subscribes here; it does not edit the services that change
visits.
"""

from __future__ import annotations

from flask import has_app_context

from clinic.audit import services as audit
from clinic.booking.tokens import rotate_manage_key
from clinic.extensions import db
from clinic.sms import alerts, outbox
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel
from clinic.visits import emails, lifecycle
from clinic.visits.lifecycle import Change, Event, State
from clinic.web.formatting import format_when

# Why the texts still planned for a visit stop, by the event that stops them.
CALLED_OFF = {
    Event.CANCEL: "visit cancelled",
    Event.DECLINE: "declined on review",
    Event.NO_SHOW: "no-show",
    Event.CHECK_IN: "checked in",
    Event.COMPLETE: "visit completed",
}


def plan_texts(change: Change) -> None:
    """Texts follow the visit: planned on booking, moved with it, stopped when it ends, and
    the aftercare anchored to the session's recorded end."""
    visit, event = change.visit, change.event
    if change.before is None:
        outbox.plan_for_booking(
            visit,
            confirm=change.context.get("confirm", True),
            held=change.after is State.NEEDS_REVIEW,
        )
        return
    if event in CALLED_OFF:
        # Reminders (and anything else still waiting) are pointless once the visit has
        # happened or will not.
        outbox.visit_called_off(visit, CALLED_OFF[event])
    if event is Event.MOVE:
        outbox.visit_moved(visit)
    elif event is Event.APPROVE and visit.start_at > change.at:
        outbox.tell_now(visit, Kind.VISIT_APPROVED)
    elif event is Event.DECLINE:
        _tell_declined(visit)
    elif event is Event.COMPLETE and visit.needles:
        outbox.plan_for_completed_session(visit)


def plan_emails(change: Change) -> None:
    """Email, for patients who agreed to it, alongside the texts: the confirmation (with the
    calendar file) on booking and on approval after a check, the aftercare sheet once the
    session is recorded."""
    visit, event = change.visit, change.event
    if change.before is None:
        if change.context.get("confirm", True):
            emails.plan_confirmation(visit, held=change.after is State.NEEDS_REVIEW)
    elif event is Event.APPROVE and visit.start_at > change.at:
        # The booking held for a check is confirmed, with the calendar entry made firm.
        emails.plan_confirmation(visit, kind=emails.APPROVED)
    elif event is Event.COMPLETE and visit.needles:
        emails.plan_aftercare(visit)


def _tell_declined(visit) -> None:
    """The patient hears it from us: a text if they take texts (no health words, the clinic's
    number), and always a task for the desk to phone them."""
    patient = visit.patient
    if patient.sms_opt_in and not patient.phone_unusable:
        outbox.tell_now(visit, Kind.VISIT_DECLINED)
    alerts.raise_alert(
        AlertLevel.TASK,
        f"Phone the patient: their visit on {format_when(visit.start_at)} was declined after a "
        "clinician's review. Explain what happens next.",
        patient_id=visit.patient_id,
    )


def forget_free_times(change: Change) -> None:
    """Free times cached by this process are forgotten when the change commits."""
    db.session.info["calendar_changed"] = True


def record_in_audit_log(change: Change) -> None:
    """One append-only row per transition: who, from where, what changed (never answers)."""
    visit = change.visit
    if visit.id is None:
        db.session.flush()  # a new visit: its id names it in the log
    audit.record(
        change.by,
        f"visit.{change.event.value}",
        at=change.at,
        patient_id=visit.patient_id,
        appointment_id=visit.id,
        changes={name: _plain(pair) for name, pair in change.fields.items()},
        detail=change.reason,
    )


# A cancelled or completed visit can never go ahead again: its private link has done its work.
CLOSES_LINK = frozenset({Event.CANCEL, Event.DECLINE, Event.COMPLETE})


def close_manage_link(change: Change) -> None:
    """Links already sent (texts, emails, a forwarded message, a log line) stop opening the
    visit; they answer 410 with the clinic's number. Links in texts sent later are built from
    the new key when they are sent."""
    if change.event in CLOSES_LINK:
        rotate_manage_key(change.visit)


def _plain(pair: tuple) -> tuple:
    return tuple(value.value if isinstance(value, State) else value for value in pair)


RECEIVERS = (plan_texts, plan_emails, forget_free_times, record_in_audit_log, close_manage_link)


def _in_the_app(change: Change) -> None:
    # The lifecycle is pure and can run without an app (its own tests do); what follows a
    # change is the app's business, in the app's transaction.
    if not has_app_context():
        return
    for receiver in RECEIVERS:
        receiver(change)


def init_app(_app) -> None:
    # A module function lives as long as the process: a strong reference, connected once
    # however many apps the process creates.
    lifecycle.visit_changed.connect(_in_the_app, weak=False)
