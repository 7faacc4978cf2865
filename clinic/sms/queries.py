"""What the staff text pages show: read-only views over alerts, replies, threads and wording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import aliased, selectinload

from clinic.errors import NotFound
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.sms import dispatch
from clinic.sms.kinds import CONFIRMATION_KINDS, Kind
from clinic.sms.models import (
    ALERT_ORDER,
    InboundText,
    MessageTemplate,
    OutboundText,
    StaffAlert,
    TextStatus,
    wording_version,
)
from clinic.sms.wording import (
    BRACES_INVALID,
    DEFAULTS,
    LINK_MISSING,
    MAX_SEGMENTS,
    OPT_OUT_LINE,
    PLACEHOLDERS,
    SAMPLE,
    check_template,
)
from clinic.staff.models import StaffUser

ACKNOWLEDGED_SHOWN = 50
HANDLED_SHOWN = 20

# What staff call each kind of text, in the order a patient meets them.
KIND_LABELS = {
    Kind.CONFIRMATION: "Booking confirmation",
    Kind.CONFIRMATION_HELD: "Booking received, held for a clinician's check",
    Kind.VISIT_APPROVED: "Held booking confirmed",
    Kind.VISIT_DECLINED: "Held booking declined (please call us)",
    Kind.PRECARE_NOW: "How to prepare, sent with a late booking's confirmation",
    Kind.PRECARE_7D: "How to prepare, a week before (visits that needle)",
    Kind.PRECARE_3D: "How to prepare, 3 days before (visits that needle)",
    Kind.REMINDER_48H: "Reminder 2 days before, with how to come",
    Kind.REMINDER_24H: "Reminder the day before",
    Kind.AFTERCARE_2H: "Aftercare, 2 hours after",
    Kind.AFTERCARE_24H: "Aftercare, next day",
    Kind.AFTERCARE_48H: "Aftercare, 2 days after",
    Kind.INFECTION_72H: "Warning signs, 3 days after",
    Kind.REVIEW_7D: "One-week check",
    Kind.COURSE_NUDGE: "Next course session due",
    Kind.REPLY_HELP: "Answer to HELP",
    Kind.REPLY_OPT_OUT: "Answer to STOP",
    Kind.REPLY_OPT_IN: "Answer to START",
    Kind.REPLY_CONFIRM: "Answer to C (confirm)",
    Kind.REPLY_SYMPTOMS: "Answer to a reply that mentions symptoms (no longer sent)",
    Kind.REPLY_EMERGENCY: "Answer to emergency symptoms: call the emergency number now",
    Kind.REPLY_URGENT: "Answer to urgent symptoms while the clinic is open",
    Kind.REPLY_URGENT_CLOSED: "Answer to urgent symptoms while the clinic is closed",
    Kind.WAITLIST_OFFER: "Waiting list: a freed time offered",
    Kind.WAITLIST_GONE: "Waiting list: the offered time has gone",
    Kind.ALERT_ESCALATION: "To the clinician on call: an alert nobody has acknowledged",
}

UPCOMING_STATUSES = (TextStatus.PENDING,)
# Statuses whose sent_at belongs to this send (a reminder planned again keeps an old one).
_WENT_OUT = (TextStatus.SENT, TextStatus.DELIVERED, TextStatus.UNDELIVERED, TextStatus.FAILED)


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind.replace("_", " ").capitalize()


# --- counts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    open_alerts: int
    emergencies: int
    inbox: int


def _in_inbox():
    """Replies a person should read that no alert already covers (symptom replies from a
    known patient are in the alerts queue; from an unknown number they stay here)."""
    alerted = exists().where(StaffAlert.inbound_id == InboundText.id)
    return InboundText.needs_attention.is_(True) & ~alerted


def counts() -> Counts:
    open_alerts = dict(
        db.session.execute(
            select(StaffAlert.level, func.count())
            .where(StaffAlert.acknowledged_at.is_(None))
            .group_by(StaffAlert.level)
        ).all()
    )
    inbox = db.session.scalar(
        select(func.count())
        .select_from(InboundText)
        .where(_in_inbox(), InboundText.handled_at.is_(None))
    )
    return Counts(
        open_alerts=sum(open_alerts.values()),
        emergencies=open_alerts.get("emergency", 0),
        inbox=inbox or 0,
    )


# --- alerts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertItem:
    alert: StaffAlert
    patient: Patient | None
    reply: InboundText | None  # the reply that raised it, if a reply did
    text: OutboundText | None  # the text that did not arrive, for a "phone the patient" task
    acknowledged_by: str | None


@dataclass(frozen=True)
class AlertsQueue:
    open: list[AlertItem]
    acknowledged: list[AlertItem]


def _alert_items(query) -> list[AlertItem]:
    acknowledger = aliased(StaffUser)
    rows = db.session.execute(
        query.add_columns(InboundText, OutboundText, acknowledger.name)
        .outerjoin(InboundText, StaffAlert.inbound_id == InboundText.id)
        .outerjoin(OutboundText, StaffAlert.outbound_id == OutboundText.id)
        .outerjoin(acknowledger, StaffAlert.acknowledged_by_id == acknowledger.id)
        .options(selectinload(StaffAlert.patient))
    ).all()
    return [
        AlertItem(alert=alert, patient=alert.patient, reply=reply, text=text, acknowledged_by=name)
        for alert, reply, text, name in rows
    ]


def alerts_queue() -> AlertsQueue:
    """Open alerts most serious first, then oldest first; below them the latest acknowledged."""
    severity = case(ALERT_ORDER, value=StaffAlert.level, else_=len(ALERT_ORDER))
    open_items = _alert_items(
        select(StaffAlert)
        .where(StaffAlert.acknowledged_at.is_(None))
        .order_by(severity, StaffAlert.created_at, StaffAlert.id)
    )
    done = _alert_items(
        select(StaffAlert)
        .where(StaffAlert.acknowledged_at.is_not(None))
        .order_by(StaffAlert.acknowledged_at.desc(), StaffAlert.id.desc())
        .limit(ACKNOWLEDGED_SHOWN)
    )
    return AlertsQueue(open=open_items, acknowledged=done)


def open_alerts_for(patient_id: int) -> list[AlertItem]:
    severity = case(ALERT_ORDER, value=StaffAlert.level, else_=len(ALERT_ORDER))
    return _alert_items(
        select(StaffAlert)
        .where(StaffAlert.patient_id == patient_id, StaffAlert.acknowledged_at.is_(None))
        .order_by(severity, StaffAlert.created_at, StaffAlert.id)
    )


# --- inbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    reply: InboundText
    patient: Patient | None
    handled_by: str | None


@dataclass(frozen=True)
class Inbox:
    open: list[InboxItem]
    handled: list[InboxItem]


def _inbox_items(query) -> list[InboxItem]:
    handler = aliased(StaffUser)
    rows = db.session.execute(
        query.add_columns(handler.name)
        .outerjoin(handler, InboundText.handled_by_id == handler.id)
        .options(selectinload(InboundText.patient))
    ).all()
    return [InboxItem(reply=reply, patient=reply.patient, handled_by=name) for reply, name in rows]


def inbox() -> Inbox:
    """Replies waiting for a person, newest first; below them the latest handled."""
    open_items = _inbox_items(
        select(InboundText)
        .where(_in_inbox(), InboundText.handled_at.is_(None))
        .order_by(InboundText.received_at.desc(), InboundText.id.desc())
    )
    handled = _inbox_items(
        select(InboundText)
        .where(_in_inbox(), InboundText.handled_at.is_not(None))
        .order_by(InboundText.handled_at.desc(), InboundText.id.desc())
        .limit(HANDLED_SHOWN)
    )
    return Inbox(open=open_items, handled=handled)


# --- a patient's thread ---------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadEntry:
    at: datetime
    direction: str  # "in" or "out"
    reply: InboundText | None = None
    text: OutboundText | None = None

    @property
    def label(self) -> str:
        return kind_label(self.text.kind) if self.text is not None else ""


@dataclass(frozen=True)
class Upcoming:
    text: OutboundText
    preview: str  # the wording as it would go now; the final text is rendered when it goes

    @property
    def label(self) -> str:
        return kind_label(self.text.kind)


@dataclass(frozen=True)
class Thread:
    patient: Patient
    entries: list[ThreadEntry]
    upcoming: list[Upcoming]
    alerts: list[AlertItem]
    # Other patients sharing this mobile (a family): a STOP from it stops texts to all of them.
    same_number: list[Patient]


def _when_out(text: OutboundText) -> datetime:
    """Where an outgoing text sits in the thread: when it went, or when it was given up."""
    if text.status in _WENT_OUT and text.sent_at is not None:
        return text.sent_at
    return text.updated_at


def previews(texts: list[OutboundText]) -> list[str]:
    """The wording waiting texts would go with now, rendered by the dispatcher's own code so
    the page can never disagree with what is sent."""
    return [dispatch.render_body(text) for text in texts]


def outgoing_texts(patient_id: int) -> list[OutboundText]:
    """Every text planned for or sent to a patient, in send order: the thread page's and the
    patient page's one query for them."""
    return list(
        db.session.scalars(
            select(OutboundText)
            .where(OutboundText.patient_id == patient_id)
            .order_by(OutboundText.send_at, OutboundText.id)
        )
    )


def thread(patient_id: int) -> Thread:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    outgoing = outgoing_texts(patient_id)
    incoming = list(
        db.session.scalars(select(InboundText).where(InboundText.patient_id == patient_id))
    )
    entries = [ThreadEntry(r.received_at, "in", reply=r) for r in incoming] + [
        ThreadEntry(_when_out(t), "out", text=t)
        for t in outgoing
        if t.status not in UPCOMING_STATUSES
    ]
    entries.sort(key=lambda e: (e.at, 0 if e.direction == "in" else 1))
    waiting = [t for t in outgoing if t.status in UPCOMING_STATUSES]
    upcoming = [
        Upcoming(text=t, preview=p) for t, p in zip(waiting, previews(waiting), strict=True)
    ]
    same_number = list(
        db.session.scalars(
            select(Patient)
            .where(Patient.phone == patient.phone, Patient.id != patient.id)
            .order_by(Patient.full_name)
        )
    )
    return Thread(
        patient=patient,
        entries=entries,
        upcoming=upcoming,
        alerts=open_alerts_for(patient_id),
        same_number=same_number,
    )


# --- wording ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wording:
    kind: Kind
    label: str
    body: str  # what goes now: the clinic's own wording, else the built-in one
    default: str
    custom: MessageTemplate | None
    updated_by: str | None
    segments: int  # text messages it takes with realistic details
    version: str  # what its forms carry to tell a stale save (models.wording_version)


def wordings() -> list[Wording]:
    editor = aliased(StaffUser)
    saved = {
        template.kind: (template, name)
        for template, name in db.session.execute(
            select(MessageTemplate, editor.name).outerjoin(
                editor, MessageTemplate.updated_by_id == editor.id
            )
        ).all()
    }
    result = []
    for kind in Kind:
        template, name = saved.get(kind.value, (None, None))
        body = template.body if template else DEFAULTS[kind]
        result.append(
            Wording(
                kind=kind,
                label=kind_label(kind),
                body=body,
                default=DEFAULTS[kind],
                custom=template,
                updated_by=name,
                segments=check_template(kind, body).segments,
                version=wording_version(template),
            )
        )
    return result


@dataclass(frozen=True)
class CounterSettings:
    """What the wording page's live counter needs to count as check_template does."""

    sample: dict[str, str]
    opt_out: str
    max_segments: int
    link_missing: str
    braces_invalid: str
    needs_link: frozenset[Kind]


def counter_settings() -> CounterSettings:
    return CounterSettings(
        sample=dict(SAMPLE),
        opt_out=OPT_OUT_LINE,
        max_segments=MAX_SEGMENTS,
        link_missing=LINK_MISSING,
        braces_invalid=BRACES_INVALID,
        needs_link=CONFIRMATION_KINDS,
    )


def placeholders() -> dict[str, str]:
    return dict(PLACEHOLDERS)


def known_kind(raw: str) -> Kind:
    try:
        return Kind(raw)
    except ValueError:
        raise NotFound("No such kind of text.") from None
