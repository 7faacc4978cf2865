"""The check-in gate and session completion, at the service layer."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.booking.models import AppointmentStatus
from clinic.consent import services as consent_services
from clinic.courses.models import Course
from clinic.courses.services import CourseRequest, book_course, move_session, sessions
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, SlotUnavailable, ValidationFailed, VisitBlocked
from clinic.extensions import db
from clinic.screening import services as screening_services
from clinic.staff.services import create_staff
from clinic.visits import services as visits
from clinic.visits.gate import GateFacts, reasons_blocked
from clinic.visits.services import SessionInput
from tests.factories import all_no, make_booking, make_clinic, patient_details, signed

TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
GOOD_SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown", "mid_scalp"),
    numbing_used=True,
    add_ons=("minoxidil",),
    cartridge_lot="CT-2291",
)
CLEAR = GateFacts(True, True, "clear", "not_needed", False, True)


@pytest.fixture
def staff(app):
    return create_staff(
        email="dr@example.com", name="Dr Rao", role="practitioner", password="p" * 12
    )


def test_gate_rule_names_each_missing_condition():
    assert reasons_blocked(CLEAR) == []
    assert reasons_blocked(CLEAR.__class__(True, False, None, None, False, True)) == [
        "screening is missing or out of date"
    ]
    pending = GateFacts(True, True, "review", "pending", False, False)
    assert reasons_blocked(pending) == [
        "screening is waiting for a practitioner's review",
        "no signed consent for the current form",
    ]
    assert reasons_blocked(GateFacts(True, True, "review", "approved", False, True)) == []
    assert reasons_blocked(GateFacts(True, True, "clear", "not_needed", True, True)) == [
        "the patient reported changes since the last visit: screen again"
    ]
    assert reasons_blocked(GateFacts(False, False, None, None, True, False)) == []


def on_the_day(clock):
    """The desk checks patients in on the day of their visit, a few minutes early."""
    clock.set(TUESDAY_10 - timedelta(minutes=5))


def after_the_session(clock):
    clock.set(TUESDAY_10 + timedelta(minutes=45))


def test_a_cleared_visit_checks_in_and_completes_with_its_record(app, clock, staff):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    on_the_day(clock)
    visits.check_in(appointment.id, changes_since_last_visit=False)
    assert appointment.status == AppointmentStatus.CHECKED_IN
    assert appointment.checked_in_at == clock.now()
    after_the_session(clock)
    record = visits.complete(appointment.id, GOOD_SESSION, staff)
    assert appointment.status == AppointmentStatus.COMPLETED
    assert (record.device, record.needle_depth_mm, record.areas) == (
        "pen",
        1.0,
        ["crown", "mid_scalp"],
    )
    with pytest.raises(ChangeNotAllowed):
        visits.complete(appointment.id, GOOD_SESSION, staff)


def test_gate_refuses_a_visit_with_pending_review(app, clock):
    make_clinic()
    answers = all_no("microneedling") | {"anticoagulant": True}
    appointment = make_booking("microneedling", TUESDAY_10, screening=answers)
    on_the_day(clock)
    assert visits.blocked_reasons(appointment) == [
        "screening is waiting for a practitioner's review"
    ]
    with pytest.raises(ChangeNotAllowed) as caught:
        visits.check_in(appointment.id, changes_since_last_visit=False)
    assert caught.value.details["refusal"] == "wrong_state"
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW


def test_gate_refuses_a_desk_booking_without_screening_or_consent(app, clock):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10, source="desk")
    on_the_day(clock)
    with pytest.raises(VisitBlocked) as caught:
        visits.check_in(appointment.id, changes_since_last_visit=False)
    assert caught.value.reasons == [
        "screening is missing or out of date",
        "no signed consent for the current form",
    ]


def test_reported_changes_reopen_screening_until_screened_again(app, clock):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    on_the_day(clock)
    with pytest.raises(VisitBlocked):
        visits.check_in(appointment.id, changes_since_last_visit=True)
    assert appointment.rescreen_required
    # Saying "no" now does not undo the earlier "yes".
    with pytest.raises(VisitBlocked):
        visits.check_in(appointment.id, changes_since_last_visit=False)
    visits.rescreen_at_desk(appointment.id, all_no("microneedling"))
    visits.check_in(appointment.id, changes_since_last_visit=False)
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_a_desk_rescreen_with_a_review_answer_waits_for_the_practitioner(app, clock, staff):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    on_the_day(clock)
    with pytest.raises(VisitBlocked):
        visits.check_in(appointment.id, changes_since_last_visit=True)
    screening = visits.rescreen_at_desk(
        appointment.id, all_no("microneedling") | {"scalp_dermatosis": True}
    )
    assert visits.blocked_reasons(appointment) == [
        "screening is waiting for a practitioner's review"
    ]
    assert appointment.status == AppointmentStatus.NEEDS_REVIEW
    screening_services.approve(screening.id, staff)
    assert visits.blocked_reasons(appointment) == []
    assert appointment.status == AppointmentStatus.CONFIRMED


def test_consultations_check_in_without_screening_or_consent(app, clock):
    make_clinic()
    appointment = make_booking("consultation", TUESDAY_10, source="desk")
    on_the_day(clock)
    visits.check_in(appointment.id, changes_since_last_visit=True)
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_session_record_fields_are_validated(app, clock, staff):
    make_clinic()
    appointment = make_booking("microneedling-prp", TUESDAY_10)
    on_the_day(clock)
    visits.check_in(appointment.id, changes_since_last_visit=False)
    after_the_session(clock)
    bad = SessionInput(
        device="laser",
        needle_depth_mm=3.0,
        areas=(),
        numbing_used=True,
        add_ons=("prp", "bleach"),
        cartridge_lot="",
    )
    with pytest.raises(ValidationFailed) as caught:
        visits.complete(appointment.id, bad, staff)
    assert set(caught.value.errors) == {
        "device",
        "needle_depth_mm",
        "areas",
        "add_ons",
        "cartridge_lot",
        "prp_kit_lot",
    }
    assert appointment.status == AppointmentStatus.CHECKED_IN


def test_completing_needs_a_checked_in_visit(app, staff):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    with pytest.raises(ChangeNotAllowed):
        visits.complete(appointment.id, GOOD_SESSION, staff)


def test_screening_expires_for_later_course_sessions(app, clock, staff):
    make_clinic()
    first = make_booking("microneedling", TUESDAY_10)
    course = book_course(
        CourseRequest(
            patient_id=first.patient_id,
            service_slug="microneedling-prp",
            template_key="four-weekly-6",
            first_start=TUESDAY_10 + timedelta(days=28),
        ),
        staff,
    )
    with write_transaction():
        consent_services.sign(first.patient, signed(patient_details()), course=course)
    series = sessions(course.id)
    # The visit before the course was screened for itself, not for the course.
    assert visits.blocked_reasons(series[0]) == ["screening is missing or out of date"]
    clock.set(series[0].start_at - timedelta(minutes=10))
    visits.rescreen_at_desk(series[0].id, all_no("microneedling-prp"))
    assert visits.blocked_reasons(series[0]) == []
    assert visits.blocked_reasons(series[3]) == []  # 84 days after the course's screening
    assert visits.blocked_reasons(series[4]) == ["screening is missing or out of date"]  # 112


# --- courses ----------------------------------------------------------------------------------


def course_for(patient_id, first_start, template_key="four-weekly-6", **kwargs):
    # Each plan belongs to the treatments it was studied with: every 4 weeks x6 is PRP's.
    service = "microneedling-prp" if template_key == "four-weekly-6" else "microneedling"
    return book_course(
        CourseRequest(
            patient_id=patient_id,
            service_slug=service,
            template_key=template_key,
            first_start=first_start,
            **kwargs,
        )
    )


def test_a_course_of_six_four_weekly_sessions_books_in_one_step(app):
    make_clinic()
    patient = make_booking("consultation", TUESDAY_10).patient
    course = course_for(patient.id, TUESDAY_10 + timedelta(days=1))
    series = sessions(course.id)
    assert [a.course_position for a in series] == [1, 2, 3, 4, 5, 6]
    london = [
        a.start_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London")) for a in series
    ]
    assert {(t.hour, t.minute) for t in london} == {(10, 0)}  # across the March clock change
    starts = [a.start_at for a in series]
    assert all((b - a).days in (27, 28) for a, b in zip(starts, starts[1:], strict=False))


def test_a_course_with_one_taken_session_books_nothing_and_names_it(app):
    make_clinic(practitioners=1, rooms=1)
    patient = make_booking("consultation", TUESDAY_10).patient
    taken = datetime(2026, 4, 29, 9, 0, tzinfo=UTC)  # session 3: 10:00 BST
    make_booking("consultation", taken, patient=patient_details(phone="+447911000011"))
    with pytest.raises(SlotUnavailable) as caught:
        course_for(patient.id, TUESDAY_10 + timedelta(days=1))
    assert caught.value.details["session"] == 3
    assert db.session.scalar(select(func.count()).select_from(Course)) == 0


def test_a_weekly_course_respects_the_seven_day_rule(app):
    make_clinic()
    appointment = make_booking("microneedling", TUESDAY_10)
    with pytest.raises(SlotUnavailable) as caught:
        course_for(appointment.patient_id, TUESDAY_10 + timedelta(days=3), "weekly-12")
    assert "7 days" in caught.value.message


def test_moving_session_two_shifts_three_to_six_on_request(app):
    make_clinic()
    patient = make_booking("consultation", TUESDAY_10).patient
    course = course_for(patient.id, TUESDAY_10 + timedelta(days=1))
    before = [a.start_at for a in sessions(course.id)]
    move_session(
        sessions(course.id)[1].id, before[1] + timedelta(days=2), shift_later_sessions=True
    )
    after = [a.start_at for a in sessions(course.id)]
    assert after[0] == before[0]
    assert [(b - a).days for a, b in zip(before[1:], after[1:], strict=True)] == [2] * 5


def test_moving_one_session_alone_leaves_the_others(app):
    make_clinic()
    patient = make_booking("consultation", TUESDAY_10).patient
    course = course_for(patient.id, TUESDAY_10 + timedelta(days=1))
    before = [a.start_at for a in sessions(course.id)]
    move_session(
        sessions(course.id)[1].id, before[1] + timedelta(days=2), shift_later_sessions=False
    )
    after = [a.start_at for a in sessions(course.id)]
    assert after[1] == before[1] + timedelta(days=2)
    assert after[:1] + after[2:] == before[:1] + before[2:]


def test_a_move_that_breaks_the_seven_day_rule_moves_nothing(app):
    make_clinic()
    patient = make_booking("consultation", TUESDAY_10).patient
    course = course_for(patient.id, TUESDAY_10 + timedelta(days=1), "weekly-12")
    before = [a.start_at for a in sessions(course.id)]
    with pytest.raises(SlotUnavailable):
        move_session(
            sessions(course.id)[1].id, before[1] + timedelta(days=3), shift_later_sessions=False
        )
    assert [a.start_at for a in sessions(course.id)] == before
