"""Texts cannot be turned into a weapon: numbers abroad get no texts, daily caps hold the rest
(never a safety answer), and one number cannot book without end online."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment
from clinic.errors import ValidationFailed
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.patients.phones import may_text, region_of
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import AlertLevel, OutboundText, StaffAlert, TextStatus
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import answered, booking_body

NIGERIAN_MOBILE = "+2348031234567"
RUSSIAN_MOBILE = "+79123456789"
MON_10 = "2026-03-02T10:00:00+00:00"  # the first bookable time online (two hours' notice)
WED_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # London is on GMT: outside quiet hours
TUESDAY_9 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # the next local day's opening


@pytest.fixture
def clinic(app):
    return make_clinic()


# --- numbers abroad ---------------------------------------------------------------------------


def test_regions_of_stored_numbers():
    assert region_of("+447911123456") == "GG"  # a Guernsey mobile, inside the GB family
    assert region_of("+447700900123") == "GB"  # fiction: not valid, its country's region
    assert region_of(NIGERIAN_MOBILE) == "NG"
    assert may_text("+447911123456", ("GB",))
    assert may_text("+447700900123", ("GB",))
    assert not may_text(NIGERIAN_MOBILE, ("GB",))
    assert not may_text("+12025550123", ("GB",))
    assert may_text("+12025550123", ("GB", "US"))


def test_allowed_countries_setting_defaults_to_the_phone_region(app):
    from clinic.config import from_environment

    assert from_environment("/tmp", {})["SMS_ALLOWED_COUNTRIES"] == ("GB",)
    assert from_environment("/tmp", {"DEFAULT_PHONE_REGION": "US"})["SMS_ALLOWED_COUNTRIES"] == (
        "US",
    )
    config = from_environment("/tmp", {"SMS_ALLOWED_COUNTRIES": " gb, ie "})
    assert config["SMS_ALLOWED_COUNTRIES"] == ("GB", "IE")
    with pytest.raises(RuntimeError, match="SMS_ALLOWED_COUNTRIES"):
        from_environment("/tmp", {"SMS_ALLOWED_COUNTRIES": "GB,XX"})


def csrf_from(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def details_form(client, **overrides) -> tuple[str, dict]:
    url = f"/book/consultation/details?start={MON_10.replace('+', '%2B')}&practitioner="
    page = html.unescape(client.get(url).get_data(as_text=True))
    form = {
        "csrf_token": csrf_from(page),
        "full_name": "Sam Patel",
        "mobile": "07911 123456",
        "email": "sam@example.com",
        "date_of_birth": "1985-06-30",
    }
    names = re.findall(r'<input[^>]*name="(answer_[a-z0-9_]+)"', page)
    form.update(dict.fromkeys(names, "no"))
    form.update(overrides)
    return url, {key: value for key, value in form.items() if value is not None}


def appointments() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment))


def test_form_refuses_texts_to_a_number_abroad_and_books_without_them(client, clinic):
    url, form = details_form(client, mobile=NIGERIAN_MOBILE, sms_opt_in="y")
    response = client.post(url, data=form)
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "We can only send texts to mobile numbers from the UK" in page
    assert "Untick the texts box to book without texts" in page
    assert 'id="sms-opt-in-error"' in page
    assert 'value="Sam Patel"' in page  # the other answers are kept
    assert appointments() == 0

    del form["sms_opt_in"]
    assert client.post(url, data=form).status_code == 303
    (patient,) = db.session.scalars(select(Patient)).all()
    assert patient.phone == NIGERIAN_MOBILE and patient.sms_opt_in is False


def test_form_takes_texts_to_a_uk_mobile(client, clinic):
    url, form = details_form(client, sms_opt_in="y")
    assert client.post(url, data=form).status_code == 303
    assert db.session.scalar(select(Patient.sms_opt_in)) is True


def test_api_refuses_texts_abroad_with_a_field_error(client, clinic):
    body = booking_body(start=MON_10)
    body["patient"] = {**body["patient"], "phone": RUSSIAN_MOBILE}
    response = client.post("/api/v1/bookings", json=answered(client, body))
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["error"] == "validation_failed"
    assert list(problem["fields"]) == ["sms_opt_in"]
    assert "book without texts" in problem["fields"]["sms_opt_in"][0]
    assert appointments() == 0

    response = client.post("/api/v1/bookings", json=answered(client, {**body, "sms_opt_in": False}))
    assert response.status_code == 201, response.get_json()


def test_a_listed_country_may_have_texts(app, client, clinic):
    app.config["SMS_ALLOWED_COUNTRIES"] = ("GB", "RU")
    body = booking_body(start=MON_10)
    body["patient"] = {**body["patient"], "phone": RUSSIAN_MOBILE}
    response = client.post("/api/v1/bookings", json=answered(client, body))
    assert response.status_code == 201, response.get_json()


def test_the_service_refuses_texts_abroad_for_any_channel(clinic):
    details = patient_details(phone=NIGERIAN_MOBILE)
    with pytest.raises(ValidationFailed) as refused:
        make_booking("consultation", WED_10, patient=details, sms_opt_in=True, source="desk")
    assert list(refused.value.errors) == ["sms_opt_in"]


# --- the dispatcher ---------------------------------------------------------------------------


def patient(n: int, phone: str | None = None) -> Patient:
    row = Patient(
        full_name=f"Patient {n}",
        phone=phone or f"+4479111{n:05d}",
        date_of_birth=date(1980, 1, 1),
        sms_opt_in=True,
        created_at=MONDAY_NOON - timedelta(days=30),
        first_text_at=MONDAY_NOON - timedelta(days=30),
    )
    db.session.add(row)
    db.session.flush()
    return row


def due_text(kind: Kind, *, patient_id=None, to_number="", alert_id=None, at=None) -> OutboundText:
    at = at or MONDAY_NOON
    row = OutboundText(
        kind=kind,
        patient_id=patient_id,
        to_number=to_number,
        alert_id=alert_id,
        send_at=at,
        expires_at=at + timedelta(days=3),
        immediate=kind != Kind.REPLY_OPT_IN,
        created_at=at,
        updated_at=at,
    )
    db.session.add(row)
    return row


def rows() -> list[OutboundText]:
    db.session.commit()
    return list(db.session.scalars(select(OutboundText).order_by(OutboundText.id)))


def tasks() -> list[StaffAlert]:
    db.session.commit()
    return list(db.session.scalars(select(StaffAlert).where(StaffAlert.level == AlertLevel.TASK)))


def sent_to(fake) -> list[str]:
    return [message["to"] for message in fake.messages]


def test_dispatcher_never_texts_a_number_abroad(twilio_app, fake_twilio, clock):
    clock.set(MONDAY_NOON)
    abroad, home = patient(1, NIGERIAN_MOBILE), patient(2)
    due_text(Kind.REPLY_OPT_IN, patient_id=abroad.id)
    due_text(Kind.REPLY_EMERGENCY, patient_id=abroad.id)
    due_text(Kind.REPLY_OPT_IN, patient_id=home.id)
    db.session.commit()
    report = dispatch_pass()
    assert report.counts["skipped (country not allowed)"] == 2
    assert sent_to(fake_twilio) == [home.phone]
    skipped = [row for row in rows() if row.patient_id == abroad.id]
    assert {row.status for row in skipped} == {TextStatus.SKIPPED}
    assert {row.error_message for row in skipped} == {"number outside SMS_ALLOWED_COUNTRIES"}


def test_per_number_cap_holds_the_rest_until_tomorrow_and_tells_the_desk_once(
    twilio_app, fake_twilio, clock
):
    twilio_app.config["SMS_MAX_PER_NUMBER_PER_DAY"] = 2
    clock.set(MONDAY_NOON)
    busy, other = patient(1), patient(2)
    for _ in range(3):
        due_text(Kind.REPLY_OPT_IN, patient_id=busy.id)
    due_text(Kind.REPLY_OPT_IN, patient_id=other.id)
    db.session.commit()

    report = dispatch_pass()
    assert report.counts["sent"] == 3 and report.counts["held (daily limit)"] == 1
    assert sorted(sent_to(fake_twilio)) == sorted([busy.phone, busy.phone, other.phone])
    (held,) = [row for row in rows() if row.status == TextStatus.PENDING]
    assert held.patient_id == busy.id and held.attempts == 0
    assert held.send_at == TUESDAY_9  # the next local day's opening, not lost
    assert held.error_message.startswith("held")
    (task,) = tasks()
    assert busy.phone in task.reason and task.patient_id == busy.id

    # Later the same day: another text is held, with no second task; a safety answer goes.
    clock.advance(minutes=30)
    due_text(Kind.REPLY_OPT_IN, patient_id=busy.id, at=clock.now())
    due_text(Kind.REPLY_EMERGENCY, patient_id=busy.id, at=clock.now())
    due_text(Kind.REPLY_OPT_OUT, patient_id=busy.id, at=clock.now())
    db.session.commit()
    report = dispatch_pass()
    assert report.counts["sent"] == 2 and report.counts["held (daily limit)"] == 1
    assert len(tasks()) == 1

    clock.set(TUESDAY_9)
    report = dispatch_pass()
    assert report.counts["sent"] == 2
    assert [row.status for row in rows() if row.status == TextStatus.PENDING] == []


def test_clinic_cap_holds_texts_but_never_safety_answers_or_the_on_call_phone(
    twilio_app, fake_twilio, clock
):
    twilio_app.config.update(SMS_MAX_PER_DAY=3, ON_CALL_PHONE="+447700900999")
    clock.set(MONDAY_NOON)
    people = [patient(n) for n in range(5)]
    for person in people:
        due_text(Kind.REPLY_OPT_IN, patient_id=person.id)
    for kind in (Kind.REPLY_URGENT, Kind.REPLY_URGENT_CLOSED, Kind.REPLY_SYMPTOMS):
        due_text(kind, patient_id=people[0].id)
    alert = StaffAlert(level=AlertLevel.URGENT, reason="reply", created_at=MONDAY_NOON)
    db.session.add(alert)
    db.session.flush()
    due_text(Kind.ALERT_ESCALATION, to_number="+447700900999", alert_id=alert.id)
    db.session.commit()

    report = dispatch_pass()
    # The safety answers and the on-call text are counted first in send order, yet go anyway.
    assert report.counts["held (daily limit)"] >= 2
    by_kind = {}
    for row in rows():
        by_kind.setdefault(row.kind, []).append(row.status)
    for kind in (Kind.REPLY_URGENT, Kind.REPLY_URGENT_CLOSED, Kind.REPLY_SYMPTOMS):
        assert by_kind[kind] == [TextStatus.SENT]
    assert by_kind[Kind.ALERT_ESCALATION] == [TextStatus.SENT]
    assert TextStatus.PENDING in by_kind[Kind.REPLY_OPT_IN]
    (task,) = tasks()
    assert "SMS_MAX_PER_DAY" in task.reason and task.patient_id is None

    clock.advance(minutes=5)
    due_text(Kind.REPLY_OPT_IN, patient_id=people[1].id, at=clock.now())
    db.session.commit()
    assert dispatch_pass().counts["held (daily limit)"] == 1
    assert len(tasks()) == 1


def test_zero_switches_the_caps_off(twilio_app, fake_twilio, clock):
    twilio_app.config.update(SMS_MAX_PER_NUMBER_PER_DAY=0, SMS_MAX_PER_DAY=0)
    clock.set(MONDAY_NOON)
    busy = patient(1)
    for _ in range(12):
        due_text(Kind.REPLY_OPT_IN, patient_id=busy.id)
    db.session.commit()
    assert dispatch_pass().counts["sent"] == 12
    assert tasks() == []


def test_default_cap_is_ten_per_number(twilio_app, fake_twilio, clock):
    clock.set(MONDAY_NOON)
    busy = patient(1)
    for _ in range(12):
        due_text(Kind.REPLY_OPT_IN, patient_id=busy.id)
    db.session.commit()
    report = dispatch_pass()
    assert report.counts["sent"] == 10 and report.counts["held (daily limit)"] == 2


# --- online bookings per number ---------------------------------------------------------------


def test_a_number_books_online_at_most_the_limit_per_day(app, clinic, clock):
    app.config["BOOKINGS_PER_NUMBER_PER_DAY"] = 2
    # Two people sharing the mobile book a visit each; a third booking that day is refused.
    for hour, name in zip((10, 11), ("Alex Morgan", "Sam Morgan"), strict=True):
        make_booking(
            "consultation", WED_10.replace(hour=hour), patient=patient_details(full_name=name)
        )
    with pytest.raises(ValidationFailed) as refused:
        make_booking(
            "consultation", WED_10.replace(hour=12), patient=patient_details(full_name="Jo Morgan")
        )
    (message,) = refused.value.errors["phone"]
    assert "more online bookings for this mobile number today" in message
    assert "Wednesday" not in message and "10:00" not in message
    # Another date of birth on the same number counts too; the desk is not limited.
    with pytest.raises(ValidationFailed):
        make_booking(
            "consultation", WED_10.replace(hour=13), patient=patient_details(full_name="B")
        )
    make_booking("consultation", WED_10.replace(hour=14), source="desk")
    # The next local day starts afresh.
    clock.advance(days=1)
    make_booking("consultation", WED_10.replace(hour=15) + timedelta(days=1))


def test_zero_switches_the_bookings_limit_off(app, clinic):
    app.config["BOOKINGS_PER_NUMBER_PER_DAY"] = 0
    # Four people sharing one mobile (a family); each books their own visit.
    for hour, name in zip((10, 11, 12, 13), ("Alex", "Sam", "Jo", "Kim"), strict=True):
        make_booking(
            "consultation",
            WED_10.replace(hour=hour),
            patient=patient_details(full_name=f"{name} Morgan"),
        )
    assert appointments() == 4


def test_api_refuses_a_fourth_booking_for_a_number_on_the_phone_field(client, clinic):
    # A family sharing one mobile: three bookings that day, then a fourth is refused.
    for hour, name in zip((10, 11, 12), ("Alex", "Sam", "Jo"), strict=True):
        body = answered(client, booking_body(start=f"2026-03-04T{hour}:00:00+00:00"))
        body["patient"]["full_name"] = f"{name} Morgan"
        assert client.post("/api/v1/bookings", json=body).status_code == 201
    body = answered(client, booking_body(start="2026-03-04T13:00:00+00:00"))
    body["patient"]["full_name"] = "Kim Morgan"
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["patient.phone"]


def test_form_shows_the_bookings_limit_on_the_mobile_box(app, client, clinic):
    app.config["BOOKINGS_PER_NUMBER_PER_DAY"] = 1
    make_booking("consultation", WED_10, patient=patient_details(phone="+447911123456"))
    url, form = details_form(client)
    response = client.post(url, data=form)
    assert response.status_code == 422
    assert "more online bookings for this mobile number today" in html.unescape(
        response.get_data(as_text=True)
    )


def test_caps_hold_on_both_databases(any_app, clock):
    """The one count query per batch (grouped by a CASE over the batch's numbers) on SQLite
    and on PostgreSQL, through the console sender."""
    any_app.config.update(SMS_MAX_PER_NUMBER_PER_DAY=2, SMS_MAX_PER_DAY=4)
    clock.set(MONDAY_NOON)
    people = [patient(n) for n in range(3)]
    for person in people:
        for _ in range(2):
            due_text(Kind.REPLY_OPT_IN, patient_id=person.id)
    due_text(Kind.REPLY_OPT_IN, patient_id=people[0].id)
    due_text(Kind.REPLY_EMERGENCY, patient_id=people[0].id)
    db.session.commit()
    report = dispatch_pass()
    # Four routine texts (the clinic's cap) and the safety answer go; the third patient's two
    # wait for the clinic's cap, the first patient's third for their own.
    assert report.counts["sent"] == 5 and report.counts["held (daily limit)"] == 3
    held = [row for row in rows() if row.status == TextStatus.PENDING]
    assert [row.patient_id for row in held] == [people[2].id, people[2].id, people[0].id]
    assert (Kind.REPLY_EMERGENCY, TextStatus.SENT) in [(row.kind, row.status) for row in rows()]
    assert sorted(task.patient_id or 0 for task in tasks()) == [0, people[0].id]

    # With the clinic's cap off, the first patient's own cap still holds (the safety answer
    # counted), with no second task for their number.
    any_app.config["SMS_MAX_PER_DAY"] = 0
    clock.advance(minutes=1)
    due_text(Kind.REPLY_OPT_IN, patient_id=people[0].id, at=clock.now())
    due_text(Kind.REPLY_OPT_IN, patient_id=people[1].id, at=clock.now())
    due_text(Kind.REPLY_OPT_IN, patient_id=people[2].id, at=clock.now())
    db.session.commit()
    report = dispatch_pass()
    assert report.counts["held (daily limit)"] == 2 and report.counts["sent"] == 1
    assert len(tasks()) == 3  # the second patient's number reached its cap now
