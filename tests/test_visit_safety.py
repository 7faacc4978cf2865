"""The safety rules that hang on a visit's status, each tried through the side door, on SQLite
and PostgreSQL: the defects that let a held visit be needled, a future visit be completed, a
declined patient go untold and a held booking look booked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from clinic.actors import Actor
from clinic.booking import services as booking
from clinic.booking.ics import appointment_ics
from clinic.booking.models import Appointment, AppointmentStatus
from clinic.consent import services as consent_services
from clinic.courses.plan import TEMPLATES, templates_for
from clinic.courses.services import CourseRequest, book_course
from clinic.database import write_transaction
from clinic.errors import ChangeNotAllowed, ValidationFailed, VisitBlocked
from clinic.extensions import db
from clinic.screening import services as screening_services
from clinic.screening.models import ReviewStatus, Screening
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel, OutboundText, StaffAlert, TextStatus
from clinic.sms.wording import DEFAULTS, check_template
from clinic.staff.services import create_staff
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import all_no, make_booking, make_clinic, patient_details, signed

# Tuesday 3 March 2026, 10:00 in London (GMT); the clock starts on Monday 08:00.
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
A_WEEK_LATER = TUESDAY_10 + timedelta(days=8)
SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=True,
    add_ons=(),
    cartridge_lot="CT-1",
)


@pytest.fixture
def clinic(any_app):
    make_clinic()
    return any_app


@pytest.fixture
def practitioner(clinic):
    return create_staff(
        email="dr@example.com", name="Dr Rao", role="practitioner", password="p" * 12
    )


@pytest.fixture
def desk_user(clinic):
    return create_staff(email="desk@example.com", name="Sam", role="desk", password="p" * 12)


def held(start=TUESDAY_10, **patient):
    answers = all_no("microneedling") | {"anticoagulant": True}
    return make_booking(
        "microneedling",
        start,
        patient=patient_details(**patient),
        screening=answers,
        sms_opt_in=True,
    )


def desk(user) -> Actor:
    return Actor.staff(user, ip_address="192.0.2.7", user_agent="desk browser")


def texts_of(appointment, kind=None) -> list[OutboundText]:
    db.session.rollback()
    query = select(OutboundText).where(OutboundText.appointment_id == appointment.id)
    if kind is not None:
        query = query.where(OutboundText.kind == kind)
    return list(db.session.scalars(query.order_by(OutboundText.id)))


def pending_screening(appointment) -> Screening:
    return db.session.scalars(
        select(Screening).where(
            Screening.appointment_id == appointment.id,
            Screening.review_status == ReviewStatus.PENDING,
        )
    ).one()


def fresh(appointment) -> Appointment:
    db.session.rollback()
    return db.session.get(Appointment, appointment.id)


# --- a visit held for review cannot be needled --------------------------------------------------


def test_a_later_clear_booking_does_not_clear_an_earlier_held_visit(clinic, clock, desk_user):
    first = held()
    second = make_booking("microneedling", A_WEEK_LATER)  # same patient, all "no"
    assert (first.status, second.status) == ("needs_review", "booked")
    clock.set(TUESDAY_10 - timedelta(minutes=15))
    assert "screening is waiting for a practitioner's review" in visits.blocked_reasons(first)
    with pytest.raises((ChangeNotAllowed, VisitBlocked)):
        visits.check_in(first.id, changes_since_last_visit=False, by=desk(desk_user))
    assert fresh(first).status == AppointmentStatus.NEEDS_REVIEW


def test_a_desk_rescreen_never_clears_a_hold_and_a_decline_ends_the_visit(
    clinic, clock, desk_user, practitioner
):
    visit = held()
    clock.set(TUESDAY_10 - timedelta(minutes=15))
    screening = visits.rescreen_at_desk(visit.id, all_no("microneedling"), by=desk(desk_user))
    assert screening.outcome == "clear"
    assert fresh(visit).status == AppointmentStatus.NEEDS_REVIEW
    with pytest.raises((ChangeNotAllowed, VisitBlocked)):
        visits.check_in(visit.id, changes_since_last_visit=False, by=desk(desk_user))
    decision = screening_services.decline(
        pending_screening(visit).id, practitioner, "Needs a letter from the haematologist"
    )
    assert decision.visit_event == "decline"
    visit = fresh(visit)
    assert visit.status == AppointmentStatus.CANCELLED
    clock.set(TUESDAY_10 + timedelta(minutes=40))
    with pytest.raises(ChangeNotAllowed):
        visits.complete(visit.id, SESSION, practitioner)


def test_a_declined_review_ends_a_visit_already_checked_in(clinic, clock, desk_user, practitioner):
    visit = make_booking("microneedling", TUESDAY_10)
    clock.set(TUESDAY_10 - timedelta(minutes=15))
    visits.check_in(visit.id, changes_since_last_visit=False, by=desk(desk_user))
    # The review of an answer given later is declined after the check-in.
    with write_transaction():
        screening_services.record(
            visit.patient,
            visit,
            visit.service,
            all_no("microneedling") | {"scalp_dermatosis": True},
            screening_services.assess(
                visit.service,
                all_no("microneedling") | {"scalp_dermatosis": True},
                date_of_birth=visit.patient.date_of_birth,
                on=TUESDAY_10.date(),
                phone="",
            ),
            source="desk",
        )
    decision = screening_services.decline(pending_screening(visit).id, practitioner, "flare-up")
    assert decision.visit_event == "decline"
    assert fresh(visit).status == AppointmentStatus.CANCELLED
    clock.set(TUESDAY_10 + timedelta(minutes=40))
    with pytest.raises(ChangeNotAllowed):
        visits.complete(visit.id, SESSION, practitioner)


def test_a_review_answer_at_the_desk_puts_a_booked_visit_back_on_hold(clinic, clock, desk_user):
    visit = make_booking("microneedling", TUESDAY_10)
    clock.set(TUESDAY_10 - timedelta(minutes=15))
    visits.rescreen_at_desk(
        visit.id, all_no("microneedling") | {"cold_sores": True}, by=desk(desk_user)
    )
    assert fresh(visit).status == AppointmentStatus.NEEDS_REVIEW
    # A second, clear re-screen does not lift it.
    visits.rescreen_at_desk(visit.id, all_no("microneedling"), by=desk(desk_user))
    assert fresh(visit).status == AppointmentStatus.NEEDS_REVIEW


def test_only_the_last_pending_review_approved_confirms_the_visit(
    clinic, clock, desk_user, practitioner
):
    visit = held()
    clock.set(TUESDAY_10 - timedelta(minutes=15))
    visits.rescreen_at_desk(
        visit.id, all_no("microneedling") | {"cold_sores": True}, by=desk(desk_user)
    )
    first, second = db.session.scalars(
        select(Screening).where(Screening.appointment_id == visit.id).order_by(Screening.id)
    ).all()
    decision = screening_services.approve(first.id, practitioner)
    assert decision.still_held and fresh(visit).status == AppointmentStatus.NEEDS_REVIEW
    decision = screening_services.approve(second.id, practitioner)
    assert decision.visit_event == "approve"
    assert fresh(visit).status == AppointmentStatus.CONFIRMED


def test_a_desk_account_cannot_approve_a_review(clinic, desk_user):
    visit = held()
    with pytest.raises(ChangeNotAllowed):
        screening_services.approve(pending_screening(visit).id, desk_user)
    db.session.rollback()
    assert pending_screening(visit).review_status == ReviewStatus.PENDING
    assert fresh(visit).status == AppointmentStatus.NEEDS_REVIEW


# --- a visit ahead cannot be checked in or completed now --------------------------------------


def test_a_visit_days_ahead_cannot_be_checked_in_or_completed(clinic, clock, practitioner):
    visit = make_booking("microneedling", TUESDAY_10 + timedelta(days=3))
    with pytest.raises(ChangeNotAllowed) as refused:
        visits.check_in(visit.id, changes_since_last_visit=False, by=desk(practitioner))
    assert refused.value.details["refusal"] == "not_visit_day"
    with pytest.raises(ChangeNotAllowed):
        visits.complete(visit.id, SESSION, practitioner)
    assert fresh(visit).status == AppointmentStatus.BOOKED
    reminders = texts_of(visit, Kind.REMINDER_24H)
    assert [r.status for r in reminders] == [TextStatus.PENDING]


def test_check_in_stops_the_reminders_and_completion_anchors_the_aftercare(
    clinic, clock, practitioner
):
    visit = make_booking("microneedling", TUESDAY_10 + timedelta(days=3))
    clock.set(TUESDAY_10 + timedelta(days=3, minutes=-10))
    visits.check_in(visit.id, changes_since_last_visit=False, by=desk(practitioner))
    assert {t.status for t in texts_of(visit, Kind.REMINDER_24H)} == {TextStatus.CANCELLED}
    with pytest.raises(ChangeNotAllowed) as refused:
        visits.complete(visit.id, SESSION, practitioner)
    assert refused.value.details["refusal"] == "too_early"
    ended = TUESDAY_10 + timedelta(days=3, minutes=47)
    clock.set(ended)
    record = visits.complete(visit.id, SESSION, practitioner)
    assert record.recorded_by_id == practitioner.id and record.recorded_at == ended
    aftercare = texts_of(visit, Kind.AFTERCARE_24H)
    assert len(aftercare) == 1 and aftercare[0].send_at == ended + timedelta(hours=24)


def test_a_no_show_is_only_for_a_started_visit_and_can_be_undone_on_the_day(
    clinic, clock, desk_user
):
    visit = make_booking("microneedling", TUESDAY_10)
    with pytest.raises(ChangeNotAllowed):
        visits.mark_no_show(visit.id, by=desk(desk_user))
    clock.set(TUESDAY_10 + timedelta(minutes=20))
    visits.mark_no_show(visit.id, by=desk(desk_user))
    assert fresh(visit).status == AppointmentStatus.NO_SHOW
    visits.undo_no_show(visit.id, by=desk(desk_user))
    assert fresh(visit).status == AppointmentStatus.BOOKED
    visits.mark_no_show(visit.id, by=desk(desk_user))
    clock.set(TUESDAY_10 + timedelta(days=1))
    with pytest.raises(ChangeNotAllowed):
        visits.undo_no_show(visit.id, by=desk(desk_user))


# --- the declined patient is told; a held booking is honest -----------------------------------


def test_a_declined_patient_gets_a_text_and_the_desk_a_task(clinic, practitioner):
    visit = held()
    screening_services.decline(pending_screening(visit).id, practitioner, "INR too high")
    declined = texts_of(visit, Kind.VISIT_DECLINED)
    assert [t.status for t in declined] == [TextStatus.PENDING]
    assert {t.status for t in texts_of(visit, Kind.REMINDER_24H)} == {TextStatus.CANCELLED}
    tasks = db.session.scalars(
        select(StaffAlert).where(StaffAlert.patient_id == visit.patient_id)
    ).all()
    assert [t.level for t in tasks] == [AlertLevel.TASK]
    assert "Phone the patient" in tasks[0].reason
    wording = DEFAULTS[Kind.VISIT_DECLINED]
    assert "{phone}" in wording and check_template(Kind.VISIT_DECLINED, wording).errors == []


def test_a_declined_patient_without_texts_still_gets_a_phone_task(clinic, practitioner):
    answers = all_no("microneedling") | {"anticoagulant": True}
    visit = make_booking("microneedling", TUESDAY_10, screening=answers, sms_opt_in=False)
    screening_services.decline(pending_screening(visit).id, practitioner, "INR too high")
    assert texts_of(visit, Kind.VISIT_DECLINED) == []
    assert db.session.scalars(select(StaffAlert.level)).all() == [AlertLevel.TASK]


def test_a_held_booking_says_so_and_becomes_confirmed_on_approval(clinic, practitioner):
    visit = held()
    kinds = [t.kind for t in texts_of(visit)]
    assert Kind.CONFIRMATION_HELD in kinds and Kind.CONFIRMATION not in kinds
    assert "until a clinician has checked your answers" in DEFAULTS[Kind.CONFIRMATION_HELD]
    before = Calendar.from_ical(appointment_ics(fresh(visit))).walk("VEVENT")[0]
    assert str(before["status"]) == "TENTATIVE"
    screening_services.approve(pending_screening(visit).id, practitioner)
    after = Calendar.from_ical(appointment_ics(fresh(visit))).walk("VEVENT")[0]
    assert str(after["status"]) == "CONFIRMED"
    assert int(after["sequence"]) == int(before["sequence"]) + 1
    assert [t.status for t in texts_of(visit, Kind.VISIT_APPROVED)] == [TextStatus.PENDING]


def test_a_plain_booking_is_confirmed_in_its_calendar_file(clinic):
    visit = make_booking("microneedling", TUESDAY_10)
    event = Calendar.from_ical(appointment_ics(visit)).walk("VEVENT")[0]
    assert (str(event["status"]), int(event["sequence"])) == ("CONFIRMED", 0)
    assert [t.kind for t in texts_of(visit)][0] == Kind.CONFIRMATION


# --- the status is never assigned outside the lifecycle -----------------------------------------


def test_assigning_a_status_directly_is_refused(clinic):
    visit = make_booking("consultation", TUESDAY_10)
    with pytest.raises(AttributeError):
        visit.status = AppointmentStatus.COMPLETED
    assert fresh(visit).status == AppointmentStatus.BOOKED


def test_a_patient_cannot_cancel_inside_the_window_but_the_desk_can(clinic, clock, desk_user):
    visit = make_booking("microneedling", TUESDAY_10)
    clock.set(TUESDAY_10 - timedelta(hours=3))
    with pytest.raises(ChangeNotAllowed):
        booking.cancel(visit)
    booking.cancel(visit, reason="called in", by=desk(desk_user))
    assert fresh(visit).status == AppointmentStatus.CANCELLED


# --- session records --------------------------------------------------------------------------


def ready_to_complete(clock, practitioner, slug="microneedling"):
    visit = make_booking(slug, TUESDAY_10)
    clock.set(TUESDAY_10 - timedelta(minutes=10))
    visits.check_in(visit.id, changes_since_last_visit=False, by=desk(practitioner))
    clock.set(TUESDAY_10 + timedelta(minutes=45))
    return visit


def test_a_depth_outside_the_clinics_range_needs_a_confirmed_reason(clinic, clock, practitioner):
    visit = ready_to_complete(clock, practitioner)
    deep = SessionInput(**{**SESSION.__dict__, "needle_depth_mm": 2.0})
    with pytest.raises(ValidationFailed) as refused:
        visits.complete(visit.id, deep, practitioner)
    assert set(refused.value.errors) == {"depth_confirmed", "depth_reason"}
    confirmed = SessionInput(
        **{**deep.__dict__, "depth_confirmed": True, "depth_reason": "thick scalp, crown only"}
    )
    record = visits.complete(visit.id, confirmed, practitioner)
    assert (record.needle_depth_mm, record.depth_override_reason) == (
        2.0,
        "thick scalp, crown only",
    )


def test_an_add_on_whose_questions_were_not_asked_is_refused(clinic, clock, practitioner):
    visit = ready_to_complete(clock, practitioner)  # microneedling: no plasma questions asked
    with pytest.raises(ValidationFailed) as refused:
        visits.complete(
            visit.id, SessionInput(**{**SESSION.__dict__, "add_ons": ("prp",)}), practitioner
        )
    assert "PRP" in refused.value.errors["add_ons"][0]
    # Its own product's questions were asked when it was booked.
    record = visits.complete(
        visit.id, SessionInput(**{**SESSION.__dict__, "add_ons": ("minoxidil",)}), practitioner
    )
    assert record.add_ons == ["minoxidil"]


def test_course_templates_belong_to_their_services(clinic, practitioner):
    assert [t.key for t in templates_for("microneedling-steroid")] == ["three-weekly-3"]
    steroid = next(t for t in TEMPLATES if t.key == "three-weekly-3")
    assert (steroid.sessions, steroid.interval_days) == (3, 21)
    patient = make_booking("consultation", TUESDAY_10).patient
    with pytest.raises(ValidationFailed) as refused:
        book_course(
            CourseRequest(
                patient_id=patient.id,
                service_slug="microneedling",
                template_key="three-weekly-3",
                first_start=TUESDAY_10 + timedelta(days=7),
            ),
            practitioner,
        )
    assert "template" in refused.value.errors


def test_consent_stays_required_after_the_lifecycle_change(clinic, clock, practitioner):
    # A desk booking screened at the desk still needs its signature before check-in.
    visit = make_booking("microneedling", TUESDAY_10, source="desk")
    clock.set(TUESDAY_10 - timedelta(minutes=10))
    visits.rescreen_at_desk(visit.id, all_no("microneedling"), by=desk(practitioner))
    with pytest.raises(VisitBlocked) as blocked:
        visits.check_in(visit.id, changes_since_last_visit=False, by=desk(practitioner))
    assert blocked.value.reasons == ["no signed consent for the current form"]
    with write_transaction():
        consent_services.sign(visit.patient, signed(patient_details()), appointment=visit)
    visits.check_in(visit.id, changes_since_last_visit=False, by=desk(practitioner))
    assert fresh(visit).status == AppointmentStatus.CHECKED_IN
