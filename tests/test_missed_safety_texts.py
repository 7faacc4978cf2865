"""No safety text lost silently: a warning-signs (+72 h) or one-week text that will not reach the
patient raises one "phone the patient" task, at the time it was due and not before.

Walked with the test clock, one dispatcher pass per step as the scheduler would run them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from clinic.extensions import db
from clinic.sms import inbound
from clinic.sms.alerts import raise_missed_safety_tasks
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.housekeeping import expire_stale
from clinic.sms.inbound import status_report
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel, OutboundText, StaffAlert, TextStatus
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import make_booking, make_clinic
from tests.helpers import make_staff

THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # London is on GMT: UTC = local
ENDED = THURSDAY_10 + timedelta(minutes=45)
WARNING_DUE = ENDED + timedelta(hours=72)  # Sunday 10:45
REVIEW_DUE = ENDED + timedelta(days=7)  # Thursday 10:45
SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=False,
    add_ons=(),
    cartridge_lot="CT-2291",
)


@pytest.fixture
def app_config():
    return {"SMS_SEGMENTS_PER_SECOND": 0}


def completed_visit(clock, *, sms_opt_in=True):
    make_clinic()
    staff = make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    appointment = make_booking("microneedling", THURSDAY_10, sms_opt_in=sms_opt_in)
    clock.set(THURSDAY_10 - timedelta(minutes=5))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    clock.set(ENDED)
    visits.complete(appointment.id, SESSION, staff)
    return appointment


def text(appointment, kind: Kind) -> OutboundText:
    db.session.commit()
    return db.session.scalar(
        select(OutboundText).where(
            OutboundText.appointment_id == appointment.id, OutboundText.kind == kind
        )
    )


def tasks() -> list[StaffAlert]:
    db.session.commit()
    return list(db.session.scalars(select(StaffAlert).order_by(StaffAlert.id)))


def run_at(clock, when: datetime):
    clock.set(when)
    return dispatch_pass()


def assert_task_appears_at(clock, row: OutboundText, due: datetime) -> StaffAlert:
    """No task for ``row`` a minute before ``due``; exactly one from ``due`` on."""
    run_at(clock, due - timedelta(minutes=1))
    assert not [t for t in tasks() if t.outbound_id == row.id], "task raised early"
    report = run_at(clock, due)
    assert report.counts["phone tasks (safety text missed)"] >= 1
    run_at(clock, due + timedelta(minutes=1))
    (task,) = [t for t in tasks() if t.outbound_id == row.id]
    assert (task.level, task.patient_id, task.created_at) == (
        AlertLevel.TASK,
        row.patient_id,
        due,
    )
    assert task.reason.startswith("Phone the patient")
    return task


def test_without_consent_to_texts_staff_phone_at_72_hours_and_at_one_week_not_before(app, clock):
    appointment = completed_visit(clock, sms_opt_in=False)
    # Every text is planned (and skipped unsent), so the safety ones come due like any other.
    for hours in range(0, 72, 3):
        run_at(clock, ENDED + timedelta(hours=hours))
    assert tasks() == []
    warning = text(appointment, Kind.INFECTION_72H)
    task = assert_task_appears_at(clock, warning, WARNING_DUE)
    assert "72-hour" in task.reason and "no consent to texts" in task.reason
    assert text(appointment, Kind.INFECTION_72H).status == TextStatus.SKIPPED

    review = text(appointment, Kind.REVIEW_7D)
    task = assert_task_appears_at(clock, review, REVIEW_DUE)
    assert "one-week" in task.reason
    for days in range(8, 12):
        run_at(clock, ENDED + timedelta(days=days))
    assert len(tasks()) == 2  # one per safety text; the other aftercare texts raise none


def test_after_stop_the_missing_warning_text_raises_a_task_when_it_was_due(app, clock):
    appointment = completed_visit(clock)
    run_at(clock, ENDED + timedelta(hours=2))
    clock.set(ENDED + timedelta(hours=30))
    inbound.receive("SM" + "7" * 32, appointment.patient.phone, "+447700900000", "stop")
    warning = text(appointment, Kind.INFECTION_72H)
    assert warning.status == TextStatus.CANCELLED
    # Cancelled two days early, but the task waits for the time the text was due.
    run_at(clock, clock.now())
    assert tasks() == []
    task = assert_task_appears_at(clock, warning, WARNING_DUE)
    assert "patient replied STOP" in task.reason
    assert_task_appears_at(clock, text(appointment, Kind.REVIEW_7D), REVIEW_DUE)
    assert len(tasks()) == 2


def test_a_warning_text_that_expired_unsent_raises_a_task(app, clock):
    appointment = completed_visit(clock)
    # No dispatcher from the session until after the warning text's 48 hours ran out.
    clock.set(WARNING_DUE + timedelta(days=2, hours=1))
    assert expire_stale() >= 1
    warning = text(appointment, Kind.INFECTION_72H)
    assert (warning.status, warning.error_message) == (TextStatus.SKIPPED, "expired unsent")
    dispatch_pass()
    (task,) = tasks()
    assert task.outbound_id == warning.id and "expired unsent" in task.reason
    dispatch_pass()
    assert len(tasks()) == 1


def test_safety_texts_cancelled_by_a_refused_number_raise_a_task_each_at_its_time(
    twilio_app, fake_twilio, clock
):
    appointment = completed_visit(clock)
    run_at(clock, ENDED + timedelta(hours=2))
    # The 24-hour text finds the number cannot take texts: a task for that one now, and the
    # safety texts that this cancels get their own, each when it was due.
    fake_twilio.refuse(appointment.patient.phone, 21614)
    run_at(clock, ENDED + timedelta(hours=24))
    (refused,) = tasks()
    assert refused.outbound_id == text(appointment, Kind.AFTERCARE_24H).id
    warning, review = text(appointment, Kind.INFECTION_72H), text(appointment, Kind.REVIEW_7D)
    assert (warning.status, review.status) == (TextStatus.CANCELLED, TextStatus.CANCELLED)
    assert_task_appears_at(clock, warning, WARNING_DUE)
    assert_task_appears_at(clock, review, REVIEW_DUE)
    assert len(tasks()) == 3
    assert fake_twilio.count() == 1  # only the +2 h text went


def test_the_job_raises_one_task_however_often_it_runs(app, clock):
    appointment = completed_visit(clock, sms_opt_in=False)
    clock.set(REVIEW_DUE)
    dispatch_pass()
    assert raise_missed_safety_tasks() == 0
    assert raise_missed_safety_tasks() == 0
    kinds = sorted(db.session.get(OutboundText, t.outbound_id).kind for t in tasks())
    assert kinds == [Kind.INFECTION_72H, Kind.REVIEW_7D]
    assert all(t.patient_id == appointment.patient_id for t in tasks())


def test_two_schedulers_at_once_raise_one_task_per_text(any_app, clock):
    completed_visit(clock, sms_opt_in=False)
    clock.set(REVIEW_DUE)
    # Every text came due and was skipped; no pass has looked for missed ones yet.
    db.session.execute(
        update(OutboundText).values(status=TextStatus.SKIPPED, error_message="no consent to texts")
    )
    db.session.commit()
    barrier = threading.Barrier(4)
    raised: list[int] = []

    def scheduler():
        with any_app.app_context():
            barrier.wait(timeout=30)
            raised.append(raise_missed_safety_tasks())

    threads = [threading.Thread(target=scheduler, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(raised) == [0, 0, 0, 2]
    assert len(tasks()) == 2


def test_a_failed_warning_text_raises_exactly_one_task(twilio_app, fake_twilio, clock):
    twilio_app.config["SMS_MAX_ATTEMPTS"] = 1
    appointment = completed_visit(clock)
    run_at(clock, WARNING_DUE - timedelta(hours=1))
    fake_twilio.fail_next(1, 500)
    run_at(clock, WARNING_DUE)
    warning = text(appointment, Kind.INFECTION_72H)
    assert warning.status == TextStatus.FAILED
    for hours in range(1, 24 * 5, 6):
        run_at(clock, WARNING_DUE + timedelta(hours=hours))
    (task,) = [t for t in tasks() if t.outbound_id == warning.id]
    assert task.created_at == WARNING_DUE
    assert len(tasks()) == 1  # the one-week text went


def test_an_undelivered_warning_text_raises_exactly_one_task(twilio_app, fake_twilio, clock):
    appointment = completed_visit(clock)
    run_at(clock, WARNING_DUE)
    warning = text(appointment, Kind.INFECTION_72H)
    assert warning.status == TextStatus.SENT
    clock.set(WARNING_DUE + timedelta(minutes=3))
    status_report(warning.provider_sid, "undelivered", "30007")  # filtered
    for hours in range(0, 24 * 5, 6):
        run_at(clock, WARNING_DUE + timedelta(minutes=5, hours=hours))
    (task,) = tasks()
    assert task.outbound_id == warning.id


def test_stop_with_symptoms_alerts_answers_opts_out_and_the_warning_still_reaches_a_person(
    app, clock
):
    """The issue's walk-through: "stop, it's bleeding and hot" a day after the session."""
    appointment = completed_visit(clock)
    run_at(clock, ENDED + timedelta(hours=2))
    clock.set(ENDED + timedelta(hours=26))  # Friday 12:45: the clinic is open
    inbound.receive(
        "SM" + "8" * 32, appointment.patient.phone, "+447700900000", ("stop, it's bleeding and hot")
    )
    db.session.commit()
    (alert,) = [t for t in tasks() if t.level != AlertLevel.TASK]
    assert alert.level == AlertLevel.URGENT and alert.patient_id == appointment.patient_id
    (safety,) = db.session.scalars(
        select(OutboundText).where(OutboundText.kind == Kind.REPLY_URGENT)
    ).all()
    db.session.refresh(appointment.patient)
    assert appointment.patient.sms_opt_in is False  # then the opt-out was applied
    assert text(appointment, Kind.INFECTION_72H).status == TextStatus.CANCELLED
    run_at(clock, clock.now())
    db.session.refresh(safety)
    assert safety.status == TextStatus.SENT  # the safety reply goes after STOP
    # Two days on, when the warning-signs text was due, staff are asked to phone.
    task = assert_task_appears_at(clock, text(appointment, Kind.INFECTION_72H), WARNING_DUE)
    assert "72-hour" in task.reason
