"""Alerts nobody acknowledges reach the clinician on call by text, through the real twilio client
against the fake Twilio server, on a frozen clock; acknowledging records what was done.

The clock starts on Monday 2 March 2026, 08:00 London (GMT), before the clinic opens at 09:00.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.database import write_transaction
from clinic.extensions import db
from clinic.sms import alerts, escalation, inbound, staff_services
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.escalation import EscalationPolicy, Step, next_step
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel, AlertOutcome, OutboundText, StaffAlert, TextStatus
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_staff

ON_CALL = "+447700900123"
PATIENT_PHONE = "+447911123456"
CLINIC_NUMBER = "+15005550006"
THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
ESCALATION_TEXT = (
    "Northside Hair Clinic: a patient message marked EMERGENCY has waited for a clinician "
    "since 08:00. Please open the alerts page: http://clinic.test/desk/texts/alerts"
)


@pytest.fixture
def on_call(twilio_app):
    twilio_app.config.update(ON_CALL_PHONE=ON_CALL)
    make_clinic()
    return twilio_app


def booked(**patient):
    details = patient_details(phone=patient.pop("phone", PATIENT_PHONE), **patient)
    return make_booking("microneedling", THURSDAY_10, patient=details, sms_opt_in=True)


_sids = iter(range(1, 10_000))


def reply(body: str, phone: str = PATIENT_PHONE):
    return inbound.receive(f"SM{next(_sids):032d}", phone, CLINIC_NUMBER, body)


def raise_alert(level: AlertLevel) -> StaffAlert:
    """An alert as a reply with symptom words raises it (the triage itself is tested elsewhere)."""
    appointment = booked()
    with write_transaction("test"):
        alert = alerts.raise_alert(
            level, "Reply mentions symptoms.", patient_id=appointment.patient_id
        )
    return alert


def to_on_call(fake_twilio) -> list[str]:
    return [m["body"] for m in fake_twilio.messages if m["to"] == ON_CALL]


def pass_at(clock, start: datetime, minutes: float) -> None:
    clock.set(start + timedelta(minutes=minutes))
    dispatch_pass()


@pytest.fixture
def doctor(app):
    return make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")


def acknowledge(alert: StaffAlert, staff, outcome: AlertOutcome, note: str = ""):
    return staff_services.acknowledge_alert(alert.id, staff, outcome, note)


def escalation_rows() -> list[OutboundText]:
    db.session.commit()
    return list(
        db.session.scalars(
            select(OutboundText)
            .where(OutboundText.kind == Kind.ALERT_ESCALATION)
            .order_by(OutboundText.id)
        )
    )


# --- the schedule ---------------------------------------------------------------------------


def test_an_unacknowledged_emergency_reaches_the_on_call_phone_at_10_minutes_then_every_15(
    on_call, fake_twilio, clock, doctor
):
    start = clock.now()
    alert = raise_alert(AlertLevel.EMERGENCY)
    pass_at(clock, start, 0)
    pass_at(clock, start, 9)
    assert to_on_call(fake_twilio) == []
    pass_at(clock, start, 10)
    assert to_on_call(fake_twilio) == [ESCALATION_TEXT]  # no opt-out line: not a patient
    pass_at(clock, start, 24)
    assert len(to_on_call(fake_twilio)) == 1
    pass_at(clock, start, 25)
    assert len(to_on_call(fake_twilio)) == 2
    (first, second) = escalation_rows()
    assert (first.patient_id, first.alert_id, first.to_number) == (None, alert.id, ON_CALL)
    assert {first.status, second.status} == {TextStatus.SENT}

    _alert, recorded = acknowledge(alert, doctor, AlertOutcome.CALLED_ADVISED, "rang back")
    assert recorded
    for minutes in (40, 55, 120):
        pass_at(clock, start, minutes)
    assert len(to_on_call(fake_twilio)) == 2


def test_an_urgent_alert_escalates_at_30_minutes(on_call, fake_twilio, clock):
    start = clock.now()
    raise_alert(AlertLevel.URGENT)
    pass_at(clock, start, 10)
    pass_at(clock, start, 29)
    assert to_on_call(fake_twilio) == []
    pass_at(clock, start, 30)
    [text] = to_on_call(fake_twilio)
    assert "marked URGENT" in text


def test_no_answer_keeps_the_alert_open_and_the_texts_going(on_call, fake_twilio, clock, doctor):
    start = clock.now()
    alert = raise_alert(AlertLevel.EMERGENCY)
    pass_at(clock, start, 10)
    clock.set(start + timedelta(minutes=12))
    _alert, recorded = acknowledge(alert, doctor, AlertOutcome.NO_ANSWER, "voicemail")
    assert recorded
    db.session.refresh(alert)
    assert alert.acknowledged_at is None
    assert (alert.outcome, alert.outcome_note, alert.outcome_at) == (
        "no_answer",
        "voicemail",
        clock.now(),
    )
    pass_at(clock, start, 25)
    assert len(to_on_call(fake_twilio)) == 2
    acknowledge(alert, doctor, AlertOutcome.EMERGENCY_CARE)
    db.session.refresh(alert)
    assert alert.acknowledged_at is not None and alert.outcome == "emergency_care"
    pass_at(clock, start, 40)
    assert len(to_on_call(fake_twilio)) == 2


def test_after_the_last_text_the_desk_is_told_the_on_call_phone_did_not_answer(
    on_call, fake_twilio, clock
):
    on_call.config.update(ALERT_ESCALATION_MAX_TEXTS=2)
    start = clock.now()
    alert = raise_alert(AlertLevel.EMERGENCY)
    for minutes in (10, 25, 39):
        pass_at(clock, start, minutes)
    assert len(to_on_call(fake_twilio)) == 2
    assert db.session.scalar(select(func.count()).where(StaffAlert.level == "task")) == 0
    pass_at(clock, start, 40)
    [task] = db.session.scalars(select(StaffAlert).where(StaffAlert.level == AlertLevel.TASK))
    assert "on-call phone did not acknowledge an emergency alert after 2 texts" in task.reason
    assert task.patient_id == alert.patient_id and task.acknowledged_at is None
    db.session.refresh(alert)
    assert alert.escalation_stopped_at == clock.now() and alert.acknowledged_at is None
    for minutes in (55, 70, 300):
        pass_at(clock, start, minutes)
    assert len(to_on_call(fake_twilio)) == 2
    assert db.session.scalar(select(func.count()).where(StaffAlert.level == "task")) == 1


def test_without_an_on_call_phone_alerts_stay_on_the_desk_page(twilio_app, fake_twilio, clock):
    make_clinic()
    start = clock.now()
    raise_alert(AlertLevel.EMERGENCY)
    for minutes in (10, 25, 200):
        pass_at(clock, start, minutes)
    assert escalation_rows() == []
    assert all(m["to"] == PATIENT_PHONE for m in fake_twilio.messages)


def test_a_scheduler_that_was_down_catches_up_with_one_text_not_a_burst(
    on_call, fake_twilio, clock
):
    start = clock.now()
    raise_alert(AlertLevel.EMERGENCY)
    pass_at(clock, start, 90)
    pass_at(clock, start, 90.5)
    pass_at(clock, start, 91)
    assert len(to_on_call(fake_twilio)) == 1
    pass_at(clock, start, 105)
    assert len(to_on_call(fake_twilio)) == 2


def test_an_escalation_text_the_carrier_refuses_becomes_a_desk_task(
    on_call, fake_twilio, clock, signed_in
):
    fake_twilio.refuse(ON_CALL, 21211)
    start = clock.now()
    raise_alert(AlertLevel.EMERGENCY)
    pass_at(clock, start, 10)
    [row] = escalation_rows()
    assert row.status == TextStatus.FAILED
    [task] = db.session.scalars(select(StaffAlert).where(StaffAlert.level == AlertLevel.TASK))
    assert "text to the on-call phone did not arrive" in task.reason
    assert task.outbound_id == row.id and task.patient_id is None
    response = signed_in("desk").get("/desk/texts/alerts")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[-800:]
    assert "The on-call phone</h2>" in page


def test_the_escalation_text_names_no_condition_and_is_an_immediate_outbox_row(
    on_call, fake_twilio, clock
):
    clock.set(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))  # in quiet hours: it goes anyway
    start = clock.now()
    booked()
    reply("I can't breathe properly")
    pass_at(clock, start, 10)
    [text] = to_on_call(fake_twilio)
    assert "breathe" not in text and "since 22:00" in text
    [row] = escalation_rows()
    assert row.immediate and row.body == text


# --- side by side ---------------------------------------------------------------------------


def test_two_dispatch_passes_at_the_same_moment_send_one_escalation_text(
    on_call, fake_twilio, clock
):
    start = clock.now()
    raise_alert(AlertLevel.EMERGENCY)
    clock.set(start + timedelta(minutes=10))
    db.session.remove()
    barrier = threading.Barrier(2)
    errors = []

    def scheduler():
        try:
            with on_call.app_context():
                barrier.wait(timeout=30)
                dispatch_pass()
                db.session.remove()
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert to_on_call(fake_twilio) == [ESCALATION_TEXT]
    assert len(escalation_rows()) == 1


def test_schedulers_side_by_side_plan_each_escalation_text_once(any_app, clock):
    any_app.config.update(ON_CALL_PHONE=ON_CALL)
    make_clinic()
    start = clock.now()
    raise_alert(AlertLevel.EMERGENCY)
    clock.set(start + timedelta(minutes=10))
    db.session.remove()
    barrier = threading.Barrier(6)
    planned, errors = [], []

    def scheduler():
        try:
            with any_app.app_context():
                barrier.wait(timeout=30)
                planned.append(escalation.escalate_due())
                db.session.remove()
        except Exception as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(planned) == [0, 0, 0, 0, 0, 1]
    assert len(escalation_rows()) == 1


# --- the rule, without an app ---------------------------------------------------------------

RULES = EscalationPolicy(
    first_after={
        AlertLevel.EMERGENCY: timedelta(minutes=10),
        AlertLevel.URGENT: timedelta(minutes=30),
    },
    repeat=timedelta(minutes=15),
    max_texts=3,
)
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("level", "texts", "last", "now", "step"),
    [
        (AlertLevel.EMERGENCY, 0, None, at(9.9), None),
        (AlertLevel.EMERGENCY, 0, None, at(10), Step.TEXT),
        (AlertLevel.URGENT, 0, None, at(29), None),
        (AlertLevel.URGENT, 0, None, at(30), Step.TEXT),
        (AlertLevel.EMERGENCY, 1, at(10), at(24), None),
        (AlertLevel.EMERGENCY, 1, at(10), at(25), Step.TEXT),
        (AlertLevel.EMERGENCY, 2, at(25), at(40), Step.TEXT),
        (AlertLevel.EMERGENCY, 3, at(40), at(54), None),
        (AlertLevel.EMERGENCY, 3, at(40), at(55), Step.GIVE_UP),
    ],
)
def test_when_an_alert_needs_the_next_text(level, texts, last, now, step):
    assert next_step(level, T0, texts, last, now, RULES) is step


def test_flask_dispatch_plans_and_sends_the_escalation_too(on_call, fake_twilio, clock):
    start = clock.now()
    raise_alert(AlertLevel.EMERGENCY)
    clock.set(start + timedelta(minutes=10))
    result = on_call.test_cli_runner().invoke(args=["dispatch"])
    assert result.exit_code == 0, result.output
    assert "escalations planned 1" in result.output
    assert to_on_call(fake_twilio) == [ESCALATION_TEXT]
