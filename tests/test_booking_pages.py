"""The patient's booking pages, driven through plain HTML forms and links (no script)."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.booking.tokens import manage_token
from clinic.extensions import db
from clinic.patients.models import Patient
from tests.factories import add_time_off, make_booking, make_clinic, patient_details

MONDAY = date(2026, 3, 2)  # the clock starts at 08:00 on this day
MON_10 = "2026-03-02T10:00:00+00:00"  # the first bookable time (two hours' notice)
WED_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # outside the 24-hour change window
LOCATION_PHONE = "+44 20 7946 0000"
# Pages show the clinic's number as people there dial it (national format).
LOCATION_PHONE_SHOWN = "020 7946 0000"


@pytest.fixture
def clinic(app):
    return make_clinic()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def words(response) -> str:
    """The page's visible text, with tags dropped and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def csrf_from(page: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def details_url(start: str = MON_10, practitioner: str = "", slug: str = "microneedling") -> str:
    from urllib.parse import urlencode

    query = urlencode({"start": start, "practitioner": practitioner})
    return f"/book/{slug}/details?{query}"


def answer_names(page: str) -> list[str]:
    """The health questions on a details page, in page order."""
    return list(dict.fromkeys(re.findall(r'<input[^>]*name="(answer_[a-z0-9_]+)"', page)))


def patient_form(page: str, **overrides) -> dict:
    """What a patient with nothing to declare sends: every question "no", consent signed."""
    form = {
        "csrf_token": csrf_from(page),
        "full_name": "Sam Patel",
        "mobile": "07911 123456",
        "email": "sam@example.com",
        "date_of_birth": "1985-06-30",
    }
    form.update(dict.fromkeys(answer_names(page), "no"))
    version = re.search(r'<input[^>]*name="consent_version"[^>]*value="([^"]*)"', page)
    if version:
        form.update(
            consent_version=version.group(1),
            signed_name=overrides.get("full_name") or form["full_name"],
            agree="y",
        )
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def submit_details(client, url: str | None = None, **overrides):
    url = url or details_url()
    page = text(client.get(url))
    return client.post(url, data=patient_form(page, **overrides))


def counts() -> tuple[int, int]:
    appointments = db.session.scalar(select(func.count()).select_from(Appointment))
    patients = db.session.scalar(select(func.count()).select_from(Patient))
    return appointments, patients


def links(page: str, prefix: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page) if h.startswith(prefix)]


# --- choosing a service, a day and a time ------------------------------------------------------


def test_start_page_lists_online_services_with_duration_and_price(client, clinic):
    clinic.services["microneedling-steroid"].bookable_online = False
    db.session.commit()
    page = text(client.get("/"))
    assert "Scalp microneedling" in page
    assert "45 minutes" in page and "£250" in page
    assert "/book/microneedling" in page
    assert "Microneedling for patchy hair loss" not in page


def test_day_page_marks_the_next_fourteen_days_free_or_full(client, clinic):
    response = client.get("/book/consultation")
    page = text(response)
    assert response.status_code == 200
    day_links = links(page, "/book/consultation/slots")
    days = sorted({parse_qs(urlsplit(link).query)["day"][0] for link in day_links})
    # Sundays are closed: 12 of the 14 days from Monday 2 March have free times, and a
    # last link looks further ahead from day 15.
    assert len(days) == 13
    assert days[0] == "2026-03-02" and days[-1] == "2026-03-16"
    assert "/book/consultation/slots?day=2026-03-02&practitioner=" in day_links
    assert "2026-03-08" not in days and "2026-03-15" not in days
    assert page.count("No free times") == 2
    assert "Any practitioner" in page
    for practitioner in clinic.practitioners:
        assert practitioner.name in page


def test_day_page_follows_the_chosen_practitioner(client, clinic):
    first = clinic.practitioners[0]
    add_time_off(
        clinic.location,
        datetime(2026, 3, 3, 0, tzinfo=UTC),
        datetime(2026, 3, 4, 0, tzinfo=UTC),
        practitioner=first,
    )
    page = text(client.get(f"/book/consultation?practitioner={first.id}"))
    day_links = links(page, "/book/consultation/slots")
    assert not any("day=2026-03-03" in link for link in day_links)
    assert f"/book/consultation/slots?day=2026-03-04&practitioner={first.id}" in day_links
    anyone = links(text(client.get("/book/consultation")), "/book/consultation/slots")
    assert any("day=2026-03-03" in link for link in anyone)


def test_unknown_service_is_a_404_page(client, clinic):
    for path in ("/book/hair-dye", "/book/hair-dye/slots?day=2026-03-03"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "We do not offer that service online." in text(response)


@pytest.mark.parametrize(
    "query",
    [
        "day=2026-13-45",
        "day=03/03/2026",
        "day=2026-02-30",
        "day=9999-12-31",
        "",
        "day=2026-03-03&practitioner=abc",
        "day=2026-03-03&practitioner=999",
        "day=2026-03-03&practitioner=%C2%B2",
    ],
)
def test_malformed_day_or_practitioner_is_a_400_page(client, clinic, query):
    response = client.get(f"/book/consultation/slots?{query}")
    assert response.status_code == 400
    assert "Please choose" in text(response)


def test_time_page_lists_each_free_time_once_in_local_time(client, clinic):
    page = text(client.get("/book/microneedling/slots?day=2026-03-02&practitioner="))
    detail_links = links(page, "/book/microneedling/details")
    starts = [parse_qs(urlsplit(link).query)["start"][0] for link in detail_links]
    # Two practitioners share one room, so each time is offered once; notice rules out 08:00-10:00.
    assert len(starts) == len(set(starts))
    assert starts[0] == MON_10
    assert starts[-1] == "2026-03-02T16:00:00+00:00"
    assert ">10:00<" in page.replace(" ", "").replace("\n", "")


def test_time_page_shows_summer_time_as_the_clinic_sees_it(client, clinic):
    # The clocks went forward on 29 March: 09:00 in London is 08:00 UTC.
    page = text(client.get("/book/consultation/slots?day=2026-03-30"))
    first = links(page, "/book/consultation/details")[0]
    assert parse_qs(urlsplit(first).query)["start"] == ["2026-03-30T09:00:00+01:00"]
    assert "09:00" in page


def test_full_day_says_so_and_offers_the_next_free_days(client, clinic):
    page = text(client.get("/book/consultation/slots?day=2026-03-08&practitioner="))
    assert "There are no free times on this day" in page
    later = links(page, "/book/consultation/slots?day=")
    assert "/book/consultation/slots?day=2026-03-09&practitioner=" in later
    assert not links(page, "/book/consultation/details")


def test_chosen_practitioner_is_carried_to_the_details_step(client, clinic):
    second = clinic.practitioners[1]
    page = text(client.get(f"/book/consultation/slots?day=2026-03-03&practitioner={second.id}"))
    detail_links = links(page, "/book/consultation/details")
    assert detail_links
    assert all(f"practitioner={second.id}" in link for link in detail_links)


# --- giving details and booking ----------------------------------------------------------------


def test_details_form_has_an_unticked_text_opt_in_that_explains_itself(client, clinic):
    response = client.get(details_url())
    page = text(response)
    assert response.status_code == 200
    assert "Monday 2 March 2026 at 10:00" in page
    checkbox = re.search(r'<input[^>]*name="sms_opt_in"[^>]*>', page).group(0)
    assert "checked" not in checkbox
    assert "Reply STOP" in page and "not encrypted" in page
    for label in ("Full name", "Mobile number", "Email", "Date of birth"):
        assert label in page


def test_patient_books_and_sees_the_private_manage_link(client, clinic):
    response = submit_details(client, sms_opt_in="y")
    assert response.status_code == 303
    location = response.headers["Location"]
    # Texts were asked for: a number that once replied STOP is then told how to resume.
    assert re.fullmatch(r"/manage/[^/]+/confirmed\?texts=asked", location)

    appointment = db.session.scalar(select(Appointment))
    assert appointment.start_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert appointment.patient.phone == "+447911123456"
    assert appointment.patient.full_name == "Sam Patel"
    assert appointment.patient.date_of_birth == date(1985, 6, 30)
    assert appointment.patient.sms_opt_in is True

    page = text(client.get(location))
    assert f"http://clinic.test/manage/{manage_token(appointment)}" in page
    assert "Keep this link private" in page
    assert f"/manage/{manage_token(appointment)}/calendar.ics" in page
    assert "Monday 2 March 2026 at 10:00" in page


def test_text_opt_in_stays_off_unless_ticked(client, clinic):
    assert submit_details(client).status_code == 303
    assert db.session.scalar(select(Patient)).sms_opt_in is False


def test_booking_with_a_chosen_practitioner_gets_that_practitioner(client, clinic):
    second = clinic.practitioners[1]
    response = submit_details(client, details_url(practitioner=str(second.id)))
    assert response.status_code == 303
    assert db.session.scalar(select(Appointment)).practitioner_id == second.id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mobile", "12345", "not a valid phone number"),
        ("mobile", "call me", "does not look like a phone number"),
        ("mobile", "020 7946 0018", "Please give a mobile number"),
        ("mobile", "", "Please enter your mobile number."),
        ("full_name", "   ", "Please enter your full name."),
        ("full_name", "x" * 121, "120 characters"),
        ("email", "not-an-email", "does not look like an email address"),
        ("date_of_birth", "2026-03-03", "must be in the past"),
        ("date_of_birth", "1890-01-01", "check the year"),
        ("date_of_birth", "31/02/1980", "Enter the date as day/month/year"),
        ("date_of_birth", "", "Please enter your date of birth."),
    ],
)
def test_details_with_the_wrong_shape_are_refused_field_by_field(
    client, clinic, field, value, message
):
    response = submit_details(client, **{field: value})
    page = text(response)
    assert response.status_code == 422
    assert message in page
    assert 'aria-invalid="true"' in page
    # What the patient typed in the other boxes is kept.
    if field != "full_name":
        assert 'value="Sam Patel"' in page
    assert counts() == (0, 0)


def test_uk_style_date_of_birth_is_accepted(client, clinic):
    assert submit_details(client, date_of_birth="30/06/1985").status_code == 303
    assert db.session.scalar(select(Patient)).date_of_birth == date(1985, 6, 30)


def test_taken_time_offers_alternatives_and_keeps_the_details(client, clinic):
    page = text(client.get(details_url()))
    make_booking("microneedling", datetime(2026, 3, 2, 10, tzinfo=UTC))
    before = counts()

    response = client.post(details_url(), data=patient_form(page))
    page = text(response)
    assert response.status_code == 409
    assert "Sorry, that time has just been taken" in page
    assert 'value="Sam Patel"' in page and 'value="07911 123456"' in page
    # The answers and the signature are kept too, so nothing has to be given twice.
    assert re.search(r'<input[^>]*checked[^>]*name="answer_keloid"[^>]*value="no"', page)
    assert re.search(r'<input[^>]*checked[^>]*name="agree"', page)
    assert re.search(r'<input[^>]*name="signed_name"[^>]*value="Sam Patel"', page)
    alternatives = re.findall(r'<input[^>]*name="start"[^>]*value="([^"]+)"', page)
    assert alternatives
    assert MON_10 not in alternatives
    assert counts() == before

    # Picking one of the offered times books it without retyping anything.
    form = patient_form(page, start=alternatives[0])
    response = client.post(details_url(), data=form)
    assert response.status_code == 303
    chosen = datetime.fromisoformat(alternatives[0])
    assert db.session.scalar(select(Appointment).where(Appointment.start_at == chosen))


def test_past_time_is_refused_with_a_message(client, clinic):
    response = submit_details(client, details_url(start="2026-03-01T10:00:00+00:00"))
    assert response.status_code == 422
    assert "That time has already passed" in text(response)
    assert counts() == (0, 0)


def test_second_needling_session_within_a_week_is_refused_without_details(client, clinic):
    make_booking(
        "microneedling",
        WED_10,
        patient=patient_details(
            full_name="Sam Patel", phone="+447911123456", date_of_birth=date(1985, 6, 30)
        ),
    )
    response = submit_details(client, details_url(start="2026-03-06T10:00:00+00:00"))
    assert response.status_code == 422
    page = text(response)
    # Whoever typed these details learns nothing of the other session: not its day, not why.
    assert "We could not book this time for you; please call us on" in page
    assert "7 days" not in page
    assert not re.search(r"\b4 March|2026-03-04|10:00 on Wed", page)
    assert counts() == (1, 1)


@pytest.mark.parametrize(
    "start",
    [
        "2026-03-02T10:00:00",
        "tomorrow",
        "",
        "2026-03-02T25:00+00:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_time_without_an_offset_or_unreadable_is_a_400_page(client, clinic, start):
    response = client.get(details_url(start=start))
    assert response.status_code == 400
    assert "We could not read that time" in text(response)


def test_booking_without_the_csrf_token_is_refused(client, clinic):
    page = text(client.get(details_url()))
    form = patient_form(page)
    del form["csrf_token"]
    response = client.post(details_url(), data=form)
    assert response.status_code == 400
    assert "Form expired" in text(response)
    assert counts() == (0, 0)


# --- managing a booking --------------------------------------------------------------------------


def book_via_pages(client, start=WED_10) -> tuple[Appointment, str]:
    response = submit_details(client, details_url(start=start.isoformat()))
    assert response.status_code == 303
    token = response.headers["Location"].split("/")[2]
    return db.session.scalar(select(Appointment)), token


def test_manage_page_shows_the_visit_and_what_can_be_done(client, clinic):
    appointment, token = book_via_pages(client)
    page = text(client.get(f"/manage/{token}"))
    assert "Scalp microneedling" in page
    assert "Wednesday 4 March 2026 at 10:00" in page
    assert appointment.practitioner.name in page
    assert "1 High Street" in page and LOCATION_PHONE_SHOWN in page
    assert "Booked" in page
    assert f"/manage/{token}/calendar.ics" in page
    assert f"/manage/{token}/reschedule" in page
    assert f'action="/manage/{token}/cancel"' in page
    assert "Tuesday 3 March 2026 at 10:00" in page  # the last moment to change online


def test_tampered_link_is_a_404_page(client, clinic):
    _, token = book_via_pages(client)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for path in (f"/manage/{tampered}", f"/manage/{tampered}/calendar.ics", "/manage/x"):
        response = client.get(path)
        assert response.status_code == 404
        assert "This booking link is not valid" in text(response)


def test_expired_link_is_a_410_page(app, client, clinic, clock):
    _, token = book_via_pages(client)
    clock.advance(days=app.config["MANAGE_LINK_MAX_AGE_DAYS"] + 1)
    response = client.get(f"/manage/{token}")
    assert response.status_code == 410
    assert "This booking link has expired" in text(response)


def test_patient_cancels_outside_the_window(client, clinic):
    appointment, token = book_via_pages(client)
    page = text(client.get(f"/manage/{token}"))
    response = client.post(
        f"/manage/{token}/cancel", data={"csrf_token": csrf_from(page), "reason": "Away"}
    )
    assert response.status_code == 303
    db.session.refresh(appointment)
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Away"
    # The link closed with the visit: the patient is back on the booking page, and the link
    # now says the visit is cancelled and where to call.
    assert response.headers["Location"] == "/"
    assert "Your visit has been cancelled" in text(client.get("/"))
    response = client.get(f"/manage/{token}")
    assert response.status_code == 410
    page = text(response)
    assert "This visit has been cancelled" in page and LOCATION_PHONE in page
    assert f"/manage/{token}/reschedule" not in page
    # The confirmation page no longer claims the visit is booked.
    assert client.get(f"/manage/{token}/confirmed").status_code == 410
    # The time is free again for someone else.
    times = text(client.get("/book/microneedling/slots?day=2026-03-04"))
    assert "start=2026-03-04T10:00:00%2B00:00" in times


def test_cancel_inside_the_window_is_refused_with_the_phone_number(client, clinic, clock):
    appointment, token = book_via_pages(client)
    page = text(client.get(f"/manage/{token}"))
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))  # 22 hours before the visit

    manage = client.get(f"/manage/{token}")
    assert f"Please call us on {LOCATION_PHONE_SHOWN}" in words(manage)
    assert f"/manage/{token}/cancel" not in text(manage)

    response = client.post(f"/manage/{token}/cancel", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 409
    assert LOCATION_PHONE in text(response)
    db.session.refresh(appointment)
    assert appointment.status == AppointmentStatus.BOOKED


def test_cancel_without_the_csrf_token_is_refused(client, clinic):
    appointment, token = book_via_pages(client)
    response = client.post(f"/manage/{token}/cancel", data={"reason": "x"})
    assert response.status_code == 400
    db.session.refresh(appointment)
    assert appointment.status == AppointmentStatus.BOOKED


def test_patient_moves_the_visit_to_another_time(client, clinic):
    appointment, token = book_via_pages(client)
    response = client.get(f"/manage/{token}/reschedule?day=2026-03-05")
    page = text(response)
    assert response.status_code == 200
    assert "Thursday 5 March 2026" in page
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert "2026-03-05T11:00:00+00:00" in starts

    response = client.post(
        f"/manage/{token}/reschedule",
        data={"csrf_token": csrf_from(page), "start": "2026-03-05T11:00:00+00:00"},
    )
    assert response.status_code == 303
    db.session.refresh(appointment)
    assert appointment.start_at == datetime(2026, 3, 5, 11, tzinfo=UTC)
    assert counts() == (1, 1)
    manage = text(client.get(response.headers["Location"]))
    assert "Your visit has been moved to Thursday 5 March 2026 at 11:00" in manage


def test_reschedule_page_marks_the_current_time_and_offers_the_rest(client, clinic):
    _, token = book_via_pages(client)
    page = text(client.get(f"/manage/{token}/reschedule?day=2026-03-04"))
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert "2026-03-04T10:00:00+00:00" not in starts
    assert "2026-03-04T11:00:00+00:00" in starts
    assert "your time" in page


def test_reschedule_to_a_taken_time_offers_alternatives(client, clinic):
    appointment, token = book_via_pages(client)
    page = text(client.get(f"/manage/{token}/reschedule?day=2026-03-05"))
    make_booking("consultation", datetime(2026, 3, 5, 11, tzinfo=UTC))
    response = client.post(
        f"/manage/{token}/reschedule",
        data={"csrf_token": csrf_from(page), "start": "2026-03-05T11:00:00+00:00"},
    )
    page = text(response)
    assert response.status_code == 409
    assert "Sorry, that time has just been taken" in page
    assert re.findall(r'name="start" value="([^"]+)"', page)
    db.session.refresh(appointment)
    assert appointment.start_at == WED_10


def test_reschedule_inside_the_window_points_to_the_phone(client, clinic, clock):
    _, token = book_via_pages(client)
    clock.set(datetime(2026, 3, 3, 12, tzinfo=UTC))
    response = client.get(f"/manage/{token}/reschedule")
    assert response.status_code == 409
    assert f"Please call us on {LOCATION_PHONE}" in text(response)


@pytest.mark.parametrize("start", ["", "soon", "2026-03-05T11:00:00"])
def test_reschedule_with_an_unreadable_time_is_a_400_page(client, clinic, start):
    _, token = book_via_pages(client)
    page = text(client.get(f"/manage/{token}/reschedule"))
    response = client.post(
        f"/manage/{token}/reschedule", data={"csrf_token": csrf_from(page), "start": start}
    )
    assert response.status_code == 400


def test_pages_carry_the_security_headers(client, clinic):
    _, token = book_via_pages(client)
    for path in ("/", "/book/consultation", details_url(), f"/manage/{token}"):
        response = client.get(path)
        assert response.status_code == 200, path
        headers = response.headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "style-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
    assert client.get(f"/manage/{token}").headers["X-Robots-Tag"] == "noindex, nofollow"


def test_pages_need_no_inline_script_or_style(client, clinic):
    _, token = book_via_pages(client)
    paths = [
        "/",
        "/book/consultation",
        "/book/consultation/slots?day=2026-03-03",
        details_url(),
        f"/manage/{token}",
        f"/manage/{token}/confirmed",
        f"/manage/{token}/reschedule",
    ]
    for path in paths:
        page = text(client.get(path))
        assert "<script" not in page, path
        assert "<style" not in page and " style=" not in page, path
        assert re.search(r"\son[a-z]+=", page) is None, path


def test_two_week_window_starts_on_the_clinic_day_not_the_utc_day(client, clinic, clock):
    # 23:30 UTC on Sunday 14 June is already Monday 15 June in London (summer time).
    clock.set(datetime(2026, 6, 14, 23, 30, tzinfo=UTC))
    day_links = links(text(client.get("/book/consultation")), "/book/consultation/slots")
    assert "day=2026-06-15" in day_links[0]
    assert not any("day=2026-06-14" in link for link in day_links)
    assert any("day=2026-06-27" in link for link in day_links)  # the fourteenth day
