"""The scheduler's jobs, the dispatch command, and daily housekeeping."""

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from clinic.booking import services as booking
from clinic.courses.services import CourseRequest, book_course, sessions
from clinic.extensions import db
from clinic.sms import housekeeping
from clinic.sms.cli import build_scheduler
from clinic.sms.kinds import Kind
from clinic.sms.models import OutboundText, TextStatus
from tests.factories import make_booking, make_clinic, patient_details

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def test_scheduler_never_drops_a_late_run_and_never_overlaps(app):
    scheduler = build_scheduler(app, BackgroundScheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"dispatch", "housekeeping"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time is None
    assert jobs["dispatch"].trigger.interval == timedelta(seconds=30)


def test_dispatch_command_prints_what_it_did(app, runner, clock):
    make_clinic()
    make_booking("consultation", TUESDAY_10, sms_opt_in=True)
    result = runner.invoke(args=["dispatch"])
    assert result.exit_code == 0, result.output
    assert "dispatch: sent 1" in result.output
    assert runner.invoke(args=["dispatch"]).output.strip() == "dispatch: nothing due"


def test_housekeeping_records_expired_texts_as_skipped(app, clock):
    make_clinic()
    make_booking("consultation", TUESDAY_10, sms_opt_in=True)
    clock.advance(days=2)
    result = housekeeping.run()
    assert result["expired"] >= 1
    rows = db.session.scalars(select(OutboundText)).all()
    assert {r.status for r in rows if r.kind == Kind.CONFIRMATION} == {TextStatus.SKIPPED}


def test_a_cancelled_course_session_left_unbooked_gets_one_nudge(app, clock):
    make_clinic()
    patient = make_booking("consultation", TUESDAY_10).patient
    course = book_course(
        CourseRequest(
            patient_id=patient.id,
            service_slug="microneedling",
            template_key="four-weekly-4",
            first_start=TUESDAY_10 + timedelta(days=1),
        )
    )
    second = sessions(course.id)[1]
    booking.cancel(second, by_patient=False)
    clock.set(second.start_at + timedelta(days=3))
    assert housekeeping.run()["course nudges"] == 1
    assert housekeeping.run()["course nudges"] == 0  # once per session
    nudge = db.session.scalar(select(OutboundText).where(OutboundText.kind == Kind.COURSE_NUDGE))
    assert nudge.appointment_id == second.id
    assert nudge.status == TextStatus.PENDING


def test_a_cancelled_course_session_that_was_rebooked_gets_no_nudge(app, clock):
    make_clinic()
    patient = make_booking("consultation", TUESDAY_10).patient
    course = book_course(
        CourseRequest(
            patient_id=patient.id,
            service_slug="microneedling",
            template_key="four-weekly-4",
            first_start=TUESDAY_10 + timedelta(days=1),
        )
    )
    second = sessions(course.id)[1]
    booking.cancel(second, by_patient=False)
    make_booking(
        "microneedling",
        second.start_at + timedelta(days=3),
        patient=patient_details(),
        source="desk",
    )
    clock.set(second.start_at + timedelta(days=5))
    assert housekeeping.run()["course nudges"] == 0
