"""Escalation: an emergency or urgent alert nobody has acknowledged goes to the clinician on
call by text, again and again until someone acknowledges it, then to the desk as a task.

Run at the start of every dispatch pass (the scheduler's and ``flask dispatch``'s), so the text
it plans goes out in the same pass, through the outbox like every other text: a crash between
planning and sending loses nothing. Planning happens under the write lock and re-reads what
is already planned, so schedulers running side by side plan each escalation text once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from clinic.clock import utcnow
from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms.alerts import raise_alert
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel, OutboundText, StaffAlert, TextStatus

# Where the clinician on call is sent (staff.texts.alerts; a constant because the scheduler
# has no request to build a URL from).
ALERTS_PAGE = "/desk/texts/alerts"
ESCALATED_LEVELS = (AlertLevel.EMERGENCY, AlertLevel.URGENT)


@dataclass(frozen=True)
class EscalationPolicy:
    first_after: dict[AlertLevel, timedelta]
    repeat: timedelta
    max_texts: int


class Step(enum.Enum):
    TEXT = "text"  # plan a text to the on-call phone now
    GIVE_UP = "give_up"  # the texts are used up: a desk task takes over


def next_step(
    level: AlertLevel,
    raised_at: datetime,
    texts: int,
    last_text_at: datetime | None,
    now: datetime,
    policy: EscalationPolicy,
) -> Step | None:
    """What an open alert needs now, given the escalation texts already planned for it.

    The first text is due ``first_after[level]`` after the alert was raised; each further one
    ``repeat`` after the previous was planned (not after the alert: a scheduler that was down
    catches up with one text, not a burst). One ``repeat`` after the last allowed text, the
    on-call phone counts as not answering.
    """
    if texts == 0:
        return Step.TEXT if now >= raised_at + policy.first_after[level] else None
    if last_text_at is None or now < last_text_at + policy.repeat:
        return None
    return Step.TEXT if texts < policy.max_texts else Step.GIVE_UP


def policy() -> EscalationPolicy:
    config = current_app.config
    return EscalationPolicy(
        first_after={
            AlertLevel.EMERGENCY: timedelta(minutes=config["ALERT_ESCALATE_EMERGENCY_MINUTES"]),
            AlertLevel.URGENT: timedelta(minutes=config["ALERT_ESCALATE_URGENT_MINUTES"]),
        },
        repeat=timedelta(minutes=config["ALERT_REPEAT_MINUTES"]),
        max_texts=max(config["ALERT_ESCALATION_MAX_TEXTS"], 1),
    )


def alerts_page_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"] + ALERTS_PAGE


def escalate_due() -> int:
    """Plan the escalation texts and give-up tasks due now; returns how many texts it planned.

    Nothing happens without ``ON_CALL_PHONE``: alerts then stay on the desk's page only.
    """
    on_call = current_app.config["ON_CALL_PHONE"]
    if not on_call:
        return 0
    now, rules = utcnow(), policy()
    # A read first, so the usual pass (nothing due) takes no write lock.
    if not _due(now, rules):
        return 0
    planned = 0
    with write_transaction("sms-escalation"):
        for alert, texts, step in _due(now, rules):
            if step is Step.TEXT:
                _plan_text(alert, on_call, now, rules)
                planned += 1
            else:
                _give_up(alert, texts, now)
    return planned


def _due(now: datetime, rules: EscalationPolicy) -> list[tuple[StaffAlert, int, Step]]:
    earliest = min(rules.first_after.values())
    sent = (
        select(
            OutboundText.alert_id,
            func.count().label("texts"),
            func.max(OutboundText.created_at).label("last_at"),
        )
        .where(OutboundText.kind == Kind.ALERT_ESCALATION, OutboundText.alert_id.is_not(None))
        .group_by(OutboundText.alert_id)
        .subquery()
    )
    rows = db.session.execute(
        select(StaffAlert, sent.c.texts, sent.c.last_at)
        .outerjoin(sent, sent.c.alert_id == StaffAlert.id)
        .where(
            StaffAlert.acknowledged_at.is_(None),
            StaffAlert.level.in_(ESCALATED_LEVELS),
            StaffAlert.escalation_stopped_at.is_(None),
            StaffAlert.created_at <= now - earliest,
        )
        .order_by(StaffAlert.created_at, StaffAlert.id)
    ).all()
    due = []
    for alert, texts, last_at in rows:
        step = next_step(AlertLevel(alert.level), alert.created_at, texts or 0, last_at, now, rules)
        if step is not None:
            due.append((alert, texts or 0, step))
    return due


def _plan_text(alert: StaffAlert, on_call: str, now: datetime, rules: EscalationPolicy) -> None:
    db.session.add(
        OutboundText(
            kind=Kind.ALERT_ESCALATION,
            patient_id=None,
            alert_id=alert.id,
            to_number=on_call,
            send_at=now,
            # Worth sending only until the next one would be planned.
            expires_at=now + rules.repeat,
            immediate=True,
            status=TextStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
    )


def _give_up(alert: StaffAlert, texts: int, now: datetime) -> None:
    alert.escalation_stopped_at = now
    raise_alert(
        AlertLevel.TASK,
        f"The on-call phone did not acknowledge an {alert.level} alert after {texts} texts: "
        "phone the clinician on call, or the patient yourself.",
        patient_id=alert.patient_id,
        inbound_id=alert.inbound_id,
    )
