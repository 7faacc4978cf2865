"""The "add to calendar" file: valid RFC 5545 that names the clinic, never the treatment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from clinic.booking import services
from clinic.booking.ics import appointment_ics
from clinic.booking.tokens import manage_token, manage_url
from clinic.catalog.defaults import STANDARD_SERVICES as SERVICES
from tests.factories import make_booking, make_clinic

WED_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
# Words a shared or synced calendar must never show: conditions, drugs, procedures.
SENSITIVE = re.compile(
    r"needl|prp|platelet|steroid|triamcinolone|minoxidil|lidocaine|numbing|alopecia|hair|"
    r"scalp|patchy|loss|consultation|treatment|injection",
    re.IGNORECASE,
)


@pytest.fixture
def clinic(app):
    return make_clinic()


def event_of(data: bytes):
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def download(client, appointment):
    return client.get(f"/manage/{manage_token(appointment)}/calendar.ics")


def test_calendar_file_is_served_as_an_attachment(client, clinic):
    appointment = make_booking("microneedling", WED_10)
    response = download(client, appointment)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="appointment-2026-03-04.ics"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    calendar, event = event_of(response.data)
    assert str(event["uid"]) == f"appointment-{appointment.id}@clinic.test"


def test_calendar_fields_describe_the_visit(app, clinic, clock):
    appointment = make_booking("microneedling-prp", WED_10)
    calendar, event = event_of(appointment_ics(appointment))

    assert str(calendar["version"]) == "2.0"
    assert str(calendar["prodid"]) == "-//Northside Hair Clinic//Online booking//EN"
    assert str(calendar["method"]) == "PUBLISH"
    assert str(event["uid"]) == f"appointment-{appointment.id}@clinic.test"
    assert event.decoded("dtstamp") == clock.now()
    assert event.decoded("dtstart") == WED_10
    assert event.decoded("dtend") == WED_10 + timedelta(minutes=75)
    assert event.decoded("dtstart").tzinfo is not None
    assert str(event["summary"]) == "Appointment at Northside Hair Clinic"
    assert str(event["location"]) == "Test Clinic, 1 High Street"
    assert manage_url(appointment) in str(event["description"])
    assert "+44 20 7946 0000" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"


def test_times_are_written_in_utc(app, clinic):
    # Summer time: 10:00 in London is 09:00 UTC.
    appointment = make_booking("consultation", datetime(2026, 4, 15, 9, 0, tzinfo=UTC))
    data = appointment_ics(appointment).decode()
    assert "DTSTART:20260415T090000Z" in data
    assert "DTEND:20260415T092000Z" in data


@pytest.mark.parametrize("slug", [spec["slug"] for spec in SERVICES])
def test_calendar_never_names_the_treatment(app, clinic, slug):
    appointment = make_booking(slug, WED_10)
    _, event = event_of(appointment_ics(appointment))
    # The clinic chose its own name ("... Hair Clinic"); everything the file adds is checked.
    clinic_name = app.config["CLINIC_NAME"]
    for name in ("summary", "description", "location"):
        value = str(event[name]).replace(clinic_name, "")
        assert not SENSITIVE.search(value), (name, value)
    assert appointment.service.name not in appointment_ics(appointment).decode()


def test_uid_stays_and_sequence_grows_when_the_visit_moves(app, clinic, clock):
    appointment = make_booking("consultation", WED_10)
    _, before = event_of(appointment_ics(appointment))
    clock.advance(hours=1)
    services.reschedule(appointment, WED_10 + timedelta(days=1))
    _, after = event_of(appointment_ics(appointment))
    assert after["uid"] == before["uid"]
    assert int(after["sequence"]) > int(before["sequence"])
    assert after.decoded("dtstart") == WED_10 + timedelta(days=1)


def test_cancelled_visit_says_so_in_the_calendar(app, clinic, clock):
    appointment = make_booking("consultation", WED_10)
    clock.advance(minutes=5)
    services.cancel(appointment)
    _, event = event_of(appointment_ics(appointment))
    assert str(event["status"]) == "CANCELLED"
