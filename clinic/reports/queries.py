"""Reading the reports' rows: a fixed number of queries whatever the period's length.

Counts that SQL groups simply (visits by service and status, texts by status) are aggregated
in the database; everything that needs time arithmetic (working hours across daylight-saving
changes, waits, course ends) is read as compact rows for the period and left to the pure
functions in clinic/reports/figures.py.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from clinic.booking.models import Appointment
from clinic.catalog.models import Location, Practitioner, Room, Service, TimeOff, WorkingHours
from clinic.consent import services as consent_services
from clinic.consent.models import SignedConsent
from clinic.courses.models import Course
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.localtime import day_bounds
from clinic.patients.models import Patient
from clinic.reports import day_sheet as sheet
from clinic.reports import figures
from clinic.reports.figures import Period, Report
from clinic.screening.models import ReviewStatus, Screening
from clinic.sms.models import OutboundText, StaffAlert


def locations() -> list[Location]:
    return list(db.session.scalars(select(Location).order_by(Location.id)))


def location(location_id: int | None) -> Location:
    """The location asked for, or the first one when none is named."""
    if location_id is None:
        found = db.session.scalars(select(Location).order_by(Location.id)).first()
        if found is None:
            raise NotFound("There is no location to report on yet.")
        return found
    found = db.session.get(Location, location_id)
    if found is None:
        raise NotFound("No such location.")
    return found


def period_report(period: Period, place: Location, now: datetime) -> Report:
    start, end = period.start, period.end
    in_period = (
        Appointment.location_id == place.id,
        Appointment.start_at >= start,
        Appointment.start_at < end,
    )
    service_names = dict(db.session.execute(select(Service.id, Service.name)).all())
    outcomes = [
        figures.OutcomeCount(service_id, status, count)
        for service_id, status, count in db.session.execute(
            select(Appointment.service_id, Appointment.status, func.count())
            .where(*in_period)
            .group_by(Appointment.service_id, Appointment.status)
        )
    ]
    not_yet_marked = db.session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            *in_period,
            Appointment.start_at < now,
            Appointment.status.in_(sorted(figures.UPCOMING)),
        )
    )
    booked = [
        figures.BookedVisit(*row)
        for row in db.session.execute(
            select(
                Appointment.practitioner_id,
                Appointment.room_id,
                Appointment.start_at,
                Appointment.end_at,
            ).where(*in_period, Appointment.status.not_in(sorted(figures.RELEASED)))
        )
    ]
    practitioners = _names(
        db.session.execute(
            select(Practitioner.id, Practitioner.name, Practitioner.active).where(
                Practitioner.location_id == place.id
            )
        ),
        {visit.practitioner_id for visit in booked},
    )
    rooms = _names(
        db.session.execute(
            select(Room.id, Room.name, Room.active).where(Room.location_id == place.id)
        ),
        {visit.room_id for visit in booked},
    )
    hours = [
        figures.WeeklyHours(*row)
        for row in db.session.execute(
            select(
                WorkingHours.practitioner_id,
                WorkingHours.weekday,
                WorkingHours.start_time,
                WorkingHours.end_time,
            )
            .join(Practitioner, Practitioner.id == WorkingHours.practitioner_id)
            .where(Practitioner.location_id == place.id, Practitioner.active)
        )
    ]
    absences = [
        figures.Absence(*row)
        for row in db.session.execute(
            select(TimeOff.practitioner_id, TimeOff.start_at, TimeOff.end_at).where(
                TimeOff.location_id == place.id, TimeOff.end_at > start, TimeOff.start_at < end
            )
        )
    ]
    courses_in_period = (
        select(Appointment.course_id)
        .where(*in_period, Appointment.course_id.is_not(None))
        .distinct()
    )
    course_visits = [
        figures.CourseVisit(*row)
        for row in db.session.execute(
            select(
                Appointment.course_id,
                Course.sessions_planned,
                Appointment.course_position,
                Appointment.status,
                Appointment.start_at,
            )
            .join(Course, Course.id == Appointment.course_id)
            .where(Appointment.course_id.in_(courses_in_period))
        )
    ]
    decisions = [
        figures.ReviewDecision(*row)
        for row in db.session.execute(
            select(Screening.created_at, Screening.reviewed_at, Screening.review_status)
            .join(Appointment, Appointment.id == Screening.appointment_id)
            .where(
                Appointment.location_id == place.id,
                Screening.review_status.in_((ReviewStatus.APPROVED, ReviewStatus.DECLINED)),
                Screening.reviewed_at >= start,
                Screening.reviewed_at < end,
            )
        )
    ]
    text_counts = dict(
        db.session.execute(
            select(OutboundText.status, func.count())
            .where(OutboundText.send_at >= start, OutboundText.send_at < end)
            .group_by(OutboundText.status)
        ).all()
    )
    alerts = [
        figures.AlertRow(*row)
        for row in db.session.execute(
            select(StaffAlert.level, StaffAlert.created_at, StaffAlert.acknowledged_at).where(
                StaffAlert.created_at >= start, StaffAlert.created_at < end
            )
        )
    ]
    by_practitioner, by_room = figures.chair_use(
        period, booked, hours, absences, practitioners, rooms
    )
    return Report(
        period,
        (
            figures.completed_sessions(outcomes, service_names),
            figures.no_shows(outcomes, not_yet_marked),
            figures.cancellations(outcomes),
            by_practitioner,
            by_room,
            figures.course_completion(course_visits, period),
            figures.review_times(decisions),
            figures.text_delivery(text_counts),
            figures.reply_alerts(alerts),
        ),
    )


def _names(rows, booked_ids: set[int]) -> dict[int, str]:
    """Active ones, and any inactive one that still has visits in the period."""
    return {row_id: name for row_id, name, active in rows if active or row_id in booked_ids}


def day_sheet(day: date, place: Location) -> sheet.DaySheet:
    tz = ZoneInfo(place.timezone)
    start, end = day_bounds(day, tz)
    rows = db.session.execute(
        select(
            Appointment.id,
            Appointment.start_at,
            Appointment.end_at,
            Appointment.practitioner_id,
            Practitioner.name,
            Patient.full_name,
            Patient.phone,
            Service.name,
            Room.name,
            Appointment.status,
            Appointment.needles,
            Appointment.rescreen_required,
            Appointment.patient_id,
            Appointment.course_id,
        )
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Service, Service.id == Appointment.service_id)
        .join(Room, Room.id == Appointment.room_id)
        .where(
            Appointment.location_id == place.id,
            Appointment.start_at >= start,
            Appointment.start_at < end,
        )
    ).all()
    # The same rule as the visit page's (clinic.consent.services.current_consent_for): a
    # signature of the current form by the patient, of the visit's course when it has one.
    signatures = set(
        db.session.execute(
            select(SignedConsent.patient_id, SignedConsent.course_id).where(
                SignedConsent.patient_id.in_(sorted({row[12] for row in rows})),
                SignedConsent.form_version == consent_services.current_version(),
            )
        ).all()
    )
    signed_patients = {patient_id for patient_id, _course in signatures}
    visits = [
        sheet.SheetVisit(
            *row[:12],
            has_consent=(row[12], row[13]) in signatures
            if row[13] is not None
            else row[12] in signed_patients,
        )
        for row in rows
    ]
    return sheet.day_sheet(day, place.name, place.timezone, visits)
