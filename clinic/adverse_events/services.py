"""Recording and updating adverse events: one transaction each, with its audit row.

Only practitioners and admins record them. The audit row names the event's id and the
regulator reporting (who was told, when, their reference), never what happened to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from clinic.actors import Actor, ActorKind
from clinic.adverse_events import rules
from clinic.adverse_events.models import AdverseEvent
from clinic.audit import services as audit
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.services import clinic_timezone
from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, NotFound, ValidationFailed
from clinic.extensions import db
from clinic.sms.models import StaffAlert
from clinic.visits.models import SessionRecord

MAX_DESCRIPTION_CHARS = 5000
MAX_ACTION_CHARS = 2000
MAX_OTHER_TYPE_CHARS = 120
MAX_REFERENCE_CHARS = 60
# A session an event can follow: one that began (the patient was there).
SESSION_STATUSES = (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)
RECORDERS = frozenset({ActorKind.PRACTITIONER, ActorKind.ADMIN})
# Fields whose change the audit row shows with values: the reporting, which is not clinical.
REPORTING_FIELDS = ("regulator", "reported_on", "regulator_reference")
# What the audit row's detail names (names only, never values) when other fields change.
FIELD_WORDS = {
    "onset_at": "onset",
    "event_type": "type",
    "other_type": "type",
    "description": "description",
    "severity": "severity",
    "serious_criteria": "seriousness",
    "action_taken": "action taken",
    "outcome": "outcome",
    "patient_sex": "patient's sex",
}


@dataclass(frozen=True)
class EventInput:
    onset_at: datetime
    event_type: str
    description: str
    severity: str
    other_type: str = ""
    serious_criteria: tuple[str, ...] = ()
    action_taken: str = ""
    outcome: str = "unknown"
    patient_sex: str = ""
    regulator: str = ""
    reported_on: date | None = None
    regulator_reference: str = ""


def get_event(event_id: int) -> AdverseEvent:
    event = db.session.get(AdverseEvent, event_id)
    if event is None:
        raise NotFound("No such adverse event.")
    return event


def get_alert(alert_id: int) -> StaffAlert:
    alert = db.session.get(StaffAlert, alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    if alert.patient_id is None:
        raise ChangeNotAllowed("That alert came from an unknown number: no patient to record for.")
    return alert


def sessions_of(patient_id: int) -> list[Appointment]:
    """The patient's sessions an event can follow, latest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.status.in_(SESSION_STATUSES),
            )
            .order_by(Appointment.start_at.desc(), Appointment.id.desc())
        )
    )


def session_record_of(appointment_id: int) -> SessionRecord | None:
    return db.session.scalar(
        select(SessionRecord).where(SessionRecord.appointment_id == appointment_id)
    )


def record_event(
    appointment_id: int, data: EventInput, *, by: Actor, alert_id: int | None = None
) -> AdverseEvent:
    """Record an event after the session of ``appointment_id``, copying its lot numbers."""
    _check_recorder(by)
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such visit.")
    if appointment.status not in SESSION_STATUSES:
        raise ValidationFailed(
            {"session": ["An adverse event follows a session the patient came to."]}
        )
    if alert_id is not None and get_alert(alert_id).patient_id != appointment.patient_id:
        raise ValidationFailed({"session": ["That session is not this patient's."]})
    _raise_errors(data, appointment)
    with write_transaction("adverse_events", lock=False):
        now = utcnow()
        record = session_record_of(appointment.id)
        event = AdverseEvent(
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            session_record_id=record.id if record else None,
            alert_id=alert_id,
            cartridge_lot=record.cartridge_lot if record else "",
            prp_kit_lot=record.prp_kit_lot if record else "",
            recorded_at=now,
            recorded_by_id=by.staff_id,
            updated_at=now,
            updated_by_id=by.staff_id,
        )
        _apply(event, data)
        db.session.add(event)
        db.session.flush()
        audit.record(
            by,
            "adverse_event.recorded",
            at=now,
            patient_id=event.patient_id,
            appointment_id=event.appointment_id,
            changes={
                "adverse_event_id": (None, event.id),
                **({"alert_id": (None, alert_id)} if alert_id is not None else {}),
                **_reporting_changes(event),
            },
        )
    return event


def update_event(event_id: int, data: EventInput, *, by: Actor) -> AdverseEvent:
    """Change an event: most often its outcome, and the report once it is sent."""
    _check_recorder(by)
    event = get_event(event_id)
    _raise_errors(data, event.appointment)
    with write_transaction("adverse_events", lock=False):
        db.session.refresh(event)
        before = _snapshot(event)
        _apply(event, data)
        after = _snapshot(event)
        changed = [name for name in before if before[name] != after[name]]
        if not changed:
            return event
        now = utcnow()
        event.updated_at = now
        event.updated_by_id = by.staff_id
        clinical = sorted({FIELD_WORDS[n] for n in changed if n in FIELD_WORDS})
        audit.record(
            by,
            "adverse_event.updated",
            at=now,
            patient_id=event.patient_id,
            appointment_id=event.appointment_id,
            changes={
                "adverse_event_id": (event.id, event.id),
                **{
                    name: (before[name], after[name])
                    for name in REPORTING_FIELDS
                    if before[name] != after[name]
                },
            },
            detail=("Changed: " + ", ".join(clinical) + ".") if clinical else "",
        )
    return event


def validate(data: EventInput, appointment: Appointment) -> dict[str, list[str]]:
    """Messages for input the rules refuse; the form has checked the shape already."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if data.event_type not in rules.EVENT_TYPES:
        add("event_type", "Choose the kind of event.")
    if data.severity not in rules.SEVERITIES:
        add("severity", "Choose mild, moderate or severe.")
    if data.outcome not in rules.OUTCOMES:
        add("outcome", "Choose the outcome from the list.")
    if any(c not in rules.SERIOUS_CRITERIA for c in data.serious_criteria):
        add("serious_criteria", "Choose the criteria from the list.")
    if data.patient_sex and data.patient_sex not in rules.SEXES:
        add("patient_sex", "Choose female, male or not recorded.")
    if data.regulator and data.regulator not in rules.REGULATORS:
        add("regulator", "Choose the MHRA or the FDA, or not reported.")
    if not data.description.strip():
        add("description", "Describe what happened.")
    for field, value, limit in (
        ("description", data.description, MAX_DESCRIPTION_CHARS),
        ("action_taken", data.action_taken, MAX_ACTION_CHARS),
        ("other_type", data.other_type, MAX_OTHER_TYPE_CHARS),
        ("regulator_reference", data.regulator_reference, MAX_REFERENCE_CHARS),
    ):
        if len(value) > limit:
            add(field, f"Keep this under {limit:,} characters.")
    onset = data.onset_at
    if not isinstance(onset, datetime) or onset.tzinfo is None or onset.utcoffset() is None:
        add("onset_at", "Give the date and time the event began.")
        return errors
    now = utcnow()
    began = _session_began(appointment)
    if onset > now:
        add("onset_at", "The onset cannot be in the future.")
    elif onset < began:
        add("onset_at", "The onset is before the session began: check the date and time.")
    if data.reported_on is not None and data.reported_on > _today(now):
        add("reported_on", "The report date cannot be in the future.")
    tz = clinic_timezone()
    for field, messages in rules.consistency_errors(
        rules.Facts(
            event_type=data.event_type,
            other_type=data.other_type,
            serious_criteria=tuple(data.serious_criteria),
            outcome=data.outcome,
            regulator=data.regulator,
            reported_on=data.reported_on,
            regulator_reference=data.regulator_reference,
            onset_day=onset.astimezone(tz).date(),
        )
    ).items():
        for message in messages:
            add(field, message)
    return errors


def _check_recorder(by: Actor) -> None:
    if not isinstance(by, Actor) or by.kind not in RECORDERS:
        raise ChangeNotAllowed("Only practitioners and administrators record adverse events.")


def _raise_errors(data: EventInput, appointment: Appointment) -> None:
    errors = validate(data, appointment)
    if errors:
        raise ValidationFailed(errors)


def _session_began(appointment: Appointment) -> datetime:
    times = [t for t in (appointment.start_at, appointment.checked_in_at) if t is not None]
    return min(times)


def _today(now: datetime) -> date:
    return now.astimezone(clinic_timezone()).date()


def _apply(event: AdverseEvent, data: EventInput) -> None:
    event.onset_at = data.onset_at
    event.event_type = data.event_type
    event.other_type = data.other_type.strip() if data.event_type == "other" else ""
    event.description = data.description.strip()
    event.severity = data.severity
    criteria = [c for c in rules.SERIOUS_CRITERIA if c in data.serious_criteria]
    event.serious_criteria = criteria
    event.serious = rules.is_serious(criteria)
    event.action_taken = data.action_taken.strip()
    event.outcome = data.outcome
    event.patient_sex = data.patient_sex
    event.regulator = data.regulator
    event.reported_on = data.reported_on if data.regulator else None
    event.regulator_reference = data.regulator_reference.strip()


def _snapshot(event: AdverseEvent) -> dict:
    return {
        name: list(value) if isinstance(value := getattr(event, name), list) else value
        for name in (*FIELD_WORDS, *REPORTING_FIELDS)
    }


def _reporting_changes(event: AdverseEvent) -> dict[str, tuple]:
    """The reporting fields set when an event is recorded already reported."""
    return {name: (None, getattr(event, name)) for name in REPORTING_FIELDS if getattr(event, name)}
