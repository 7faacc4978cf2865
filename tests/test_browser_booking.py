"""A patient answers the health questions, signs, books, downloads the calendar file, moves and
cancels, in Chromium with script off."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import func, select

from clinic.booking.models import Appointment, AppointmentStatus
from clinic.extensions import db
from tests.factories import make_clinic

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args(browser_context_args):
    # The booking pages promise to work without JavaScript; prove it in a real browser.
    return {**browser_context_args, "java_script_enabled": False, "accept_downloads": True}


@pytest.fixture
def live_server(app, serve):
    make_clinic()
    return serve(app)


def stored_appointment() -> Appointment:
    # End this thread's read transaction: under WAL it would keep seeing its old snapshot.
    db.session.rollback()
    return db.session.scalar(select(Appointment))


def fill_in_details(page) -> None:
    page.get_by_label("Full name", exact=True).fill("Sam Patel")
    page.get_by_label("Mobile number").fill("07911 123456")
    page.get_by_label("Email (optional)").fill("sam@example.com")
    page.get_by_label("Date of birth").fill("30/06/1985")


def answer_every_question(page, yes: tuple[str, ...]) -> int:
    """Answer each health question on the page "No", except those whose text is in ``yes``."""
    questions = page.get_by_role("group").filter(has=page.get_by_role("radio"))
    count = questions.count()
    assert count > 0
    for index in range(count):
        question = questions.nth(index)
        text = question.locator("legend").inner_text()
        answer = "Yes" if any(part in text for part in yes) else "No"
        question.get_by_role("radio", name=answer, exact=True).check()
    return count


def test_patient_books_moves_and_cancels_in_a_browser(page, live_server):
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message))

    page.goto(live_server + "/")
    expect(page.get_by_role("heading", name="Book a visit")).to_be_visible()
    page.get_by_role("link", name="Choose a day for Scalp microneedling").click()

    expect(page.get_by_role("heading", name="Choose a day")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Wednesday 4 March")).click()

    expect(page.get_by_role("heading", name="Free times on Wednesday 4 March 2026")).to_be_visible()
    page.get_by_role("link", name="10:00 on Wednesday 4 March 2026").click()

    expect(page.get_by_text("Wednesday 4 March 2026 at 10:00")).to_be_visible()
    fill_in_details(page)
    answer_every_question(page, yes=())
    page.get_by_label("Type your full name to sign").fill("Sam Patel")
    page.get_by_label("I have read and agree to the consent form above").check()
    page.get_by_label("Yes, text me about my appointment and aftercare").check()
    page.get_by_role("button", name="Book this visit").click()

    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(page.get_by_text("Keep this link private.")).to_be_visible()
    manage_link = page.locator(".manage-link a").inner_text()
    assert manage_link.startswith(live_server + "/manage/")
    appointment = stored_appointment()
    assert appointment.start_at == datetime(2026, 3, 4, 10, tzinfo=UTC)
    assert appointment.patient.sms_opt_in is True
    assert appointment.status == AppointmentStatus.BOOKED

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Add to calendar (.ics)").click()
    download = download_info.value
    assert download.suggested_filename == "appointment-2026-03-04.ics"
    with open(download.path(), "rb") as handle:
        (event,) = Calendar.from_ical(handle.read()).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 3, 4, 10, tzinfo=UTC)
    assert manage_link in str(event["description"])

    page.goto(manage_link)
    expect(page.get_by_role("heading", name="Your visit")).to_be_visible()
    page.get_by_role("link", name="Move to another time").click()
    page.get_by_role("link", name="Thursday 5 March").click()
    page.get_by_role("button", name="11:00 on Thursday 5 March 2026").click()

    expect(
        page.get_by_text("Your visit has been moved to Thursday 5 March 2026 at 11:00")
    ).to_be_visible()
    assert stored_appointment().start_at == datetime(2026, 3, 5, 11, tzinfo=UTC)

    page.locator("summary", has_text="Cancel this visit").click()
    page.get_by_label("Reason (optional)").fill("Travelling that week")
    page.get_by_role("button", name="Yes, cancel my visit").click()

    expect(page.get_by_text("Your visit has been cancelled.")).to_be_visible()
    # The link closed with the visit: the patient is back on the booking page.
    assert page.url == live_server + "/"
    cancelled = stored_appointment()
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert cancelled.cancel_reason == "Travelling that week"
    # A Content-Security-Policy violation (an inline style, say) would show up here.
    assert console_errors == []


def test_held_booking_and_a_stopped_booking_in_a_browser(page, live_server):
    url = live_server + "/book/microneedling/details?start=2026-03-04T10:00:00%2B00:00"
    page.goto(url)
    expect(page.get_by_role("heading", name="A few health questions")).to_be_visible()
    fill_in_details(page)
    # Nothing answered yet: the page says so next to the questions and keeps what was typed.
    page.get_by_role("button", name="Book this visit").click()
    expect(page.get_by_text("Please answer yes or no to each health question")).to_be_visible()
    expect(page.get_by_label("Full name", exact=True)).to_have_value("Sam Patel")

    answer_every_question(page, yes=("blood thinner",))
    page.get_by_label("Type your full name to sign").fill("Sam Patel")
    page.get_by_label("I have read and agree to the consent form above").check()
    page.get_by_role("button", name="Book this visit").click()
    expect(page.get_by_role("heading", name="Your time is held")).to_be_visible()
    expect(page.get_by_text("A clinician will check your answers")).to_be_visible()
    assert stored_appointment().status == AppointmentStatus.NEEDS_REVIEW

    page.goto(live_server + "/book/microneedling/details?start=2026-03-05T10:00:00%2B00:00")
    page.get_by_label("Full name", exact=True).fill("Jo Lee")
    page.get_by_label("Mobile number").fill("07911 123457")
    page.get_by_label("Date of birth").fill("01/02/1990")
    answer_every_question(page, yes=("thick, raised scars",))
    page.get_by_label("Type your full name to sign").fill("Jo Lee")
    page.get_by_label("I have read and agree to the consent form above").check()
    page.get_by_role("button", name="Book this visit").click()
    expect(page.get_by_role("heading", name="We can't book this visit online")).to_be_visible()
    expect(page.get_by_role("link", name="Call +44 20 7946 0000")).to_have_attribute(
        "href", "tel:+442079460000"
    )
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
