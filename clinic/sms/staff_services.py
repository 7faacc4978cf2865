"""What staff do on the text pages: acknowledge an alert, mark a reply handled, set wording.

Each use case is one transaction. Acknowledging and handling are first-wins: two people clicking
at once leave the first name on record, and a repeat click changes nothing.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.errors import NotFound, ValidationFailed
from clinic.extensions import db
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertOutcome, InboundText, MessageTemplate, StaffAlert
from clinic.sms.wording import TemplateCheck, check_template


def acknowledge_alert(
    alert_id: int, staff, outcome: AlertOutcome, note: str = ""
) -> tuple[StaffAlert, bool]:
    """Record what the person who took an alert did, and whether this call recorded it.

    Any outcome but "no answer" closes the alert (which stops its escalation to the on-call
    phone); "no answer, try again" is recorded and leaves it open, escalating. An alert
    already closed keeps its first taker and outcome.
    """
    now = utcnow()
    values = {
        "outcome": outcome.value,
        "outcome_note": (note or "").strip()[:300],
        "outcome_by_id": staff.id,
        "outcome_at": now,
    }
    if outcome is not AlertOutcome.NO_ANSWER:
        values.update(acknowledged_at=now, acknowledged_by_id=staff.id)
    with write_transaction("sms-staff", lock=False):
        alert = db.session.get(StaffAlert, alert_id)
        if alert is None:
            raise NotFound("No such alert.")
        result = db.session.execute(
            update(StaffAlert)
            .where(StaffAlert.id == alert_id, StaffAlert.acknowledged_at.is_(None))
            .values(**values)
        )
    return alert, result.rowcount == 1


def mark_handled(inbound_id: int, staff) -> InboundText:
    """Take a reply off the inbox; a reply already handled keeps its first handler."""
    with write_transaction("sms-staff", lock=False):
        reply = db.session.get(InboundText, inbound_id)
        if reply is None or not reply.needs_attention:
            raise NotFound("No such reply in the inbox.")
        db.session.execute(
            update(InboundText)
            .where(InboundText.id == inbound_id, InboundText.handled_at.is_(None))
            .values(handled_at=utcnow(), handled_by_id=staff.id)
        )
    return reply


def normalise_body(raw: str) -> str:
    # Browsers send a textarea's line breaks as CR LF; a text needs only LF.
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def save_template(kind: Kind, raw_body: str, staff) -> TemplateCheck:
    """Check and save a clinic's wording for one kind of text.

    Raises ValidationFailed ({"body": [...]}) when the check finds errors, and then saves
    nothing; returns the check, whose warnings the caller shows.
    """
    body = normalise_body(raw_body)
    check = check_template(kind, body)
    if check.errors:
        raise ValidationFailed({"body": check.errors}, message="The wording was not saved.")
    # The advisory lock serialises saves on PostgreSQL (SQLite's BEGIN IMMEDIATE already does),
    # so two admins saving the same kind cannot both insert.
    with write_transaction("sms-templates"):
        template = db.session.scalar(select(MessageTemplate).where(MessageTemplate.kind == kind))
        if template is None:
            template = MessageTemplate(kind=kind.value)
            db.session.add(template)
        template.body = body
        template.updated_at = utcnow()
        template.updated_by_id = staff.id
    return check


def restore_default(kind: Kind) -> bool:
    """Go back to the built-in wording; False when the clinic had none of its own."""
    with write_transaction("sms-templates"):
        result = db.session.execute(delete(MessageTemplate).where(MessageTemplate.kind == kind))
    return result.rowcount > 0
