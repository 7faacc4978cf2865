"""An admin changes a practitioner's hours and adds their time off in a real browser, and the
desk calendar, the public booking pages and /api/v1/availability follow at once: each is read
before the change too, so an answer kept from before (the availability cache) would show."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.factories import make_booking, make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
TUESDAY = "2026-03-03"  # London is on GMT: local times are UTC
WEDNESDAY = "2026-03-04"


@pytest.fixture
def app_config():
    # The availability cache on, as in production: the clock stands still, so an answer kept
    # from before the change would be served until the change makes the process forget it.
    return {"AVAILABILITY_CACHE_SECONDS": 600}


@pytest.fixture
def clinic(app):
    made = make_clinic(practitioners=2, rooms=2)
    make_staff(role="admin", email="admin@example.com", name="Kim Admin", password=PASSWORD)
    return made


def sign_in(browser, base: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/desk"))
    return page


def desk_cell(page, day: str, wall: str, column: int):
    """The desk calendar's cell at a local wall time in a practitioner's column (0 = first)."""
    row = page.locator("tr", has=page.locator("th.calendar__time", has_text=re.compile(f"^{wall}")))
    return row.locator("> td").nth(column)


def api_starts(page, base: str, day: str, practitioner_id: int) -> list[str]:
    answer = page.request.get(
        f"{base}/api/v1/availability?service=consultation&from={day}&to={day}"
        f"&practitioner={practitioner_id}"
    )
    assert answer.ok, answer.text()
    return [slot["start"] for slot in answer.json()["slots"]]


def public_times(page, base: str, day: str, practitioner_id: int):
    page.goto(f"{base}/book/consultation/slots?day={day}&practitioner={practitioner_id}")
    return page.locator("a.time")


def test_new_hours_show_at_once_on_the_desk_and_online(browser, app, serve, clinic):
    base = serve(app)
    first, second = clinic.practitioners
    page = sign_in(browser, base)
    ten, one = f"{TUESDAY}T10:00:00+00:00", f"{TUESDAY}T13:00:00+00:00"
    # Before: 09:00-17:00 on Tuesdays, read (and kept) by each of them.
    assert ten in api_starts(page, base, TUESDAY, first.id)
    expect(public_times(page, base, TUESDAY, first.id).filter(has_text="10:00")).to_have_count(1)
    page.goto(f"{base}/desk?day={TUESDAY}")
    expect(desk_cell(page, TUESDAY, "10:00", 0)).to_have_class(re.compile(r"cell--free"))

    page.goto(f"{base}/admin/settings")
    page.get_by_role("link", name="Practitioners").click()
    page.get_by_role("link", name="Hours of Practitioner 1").click()
    expect(page.get_by_label("Tuesday")).to_have_value("09:00-17:00")
    page.get_by_label("Tuesday").fill("13:00-17:00")
    page.get_by_label("Sunday").fill("10:00-14:00")
    page.get_by_role("button", name="Save the hours").click()
    expect(page.get_by_text("Hours saved.")).to_be_visible()
    expect(page.get_by_label("Tuesday")).to_have_value("13:00-17:00")

    # (a) the desk calendar
    page.goto(f"{base}/desk?day={TUESDAY}")
    expect(desk_cell(page, TUESDAY, "10:00", 0)).to_have_class("cell cell--out")
    expect(desk_cell(page, TUESDAY, "13:00", 0)).to_have_class(re.compile(r"cell--free"))
    expect(desk_cell(page, TUESDAY, "10:00", 1)).to_have_class(re.compile(r"cell--free"))
    # (b) online: the public pages and the API
    times = public_times(page, base, TUESDAY, first.id)
    expect(times.first).to_contain_text("13:00")
    expect(times.filter(has_text="10:00")).to_have_count(0)
    starts = api_starts(page, base, TUESDAY, first.id)
    assert ten not in starts and one in starts and min(starts) == one
    assert ten in api_starts(page, base, TUESDAY, second.id)
    sunday = api_starts(page, base, "2026-03-08", first.id)
    assert sunday[0] == "2026-03-08T10:00:00+00:00"


def test_time_off_shows_at_once_on_the_desk_and_online(browser, app, serve, clinic):
    base = serve(app)
    first, second = clinic.practitioners
    # A visit already booked inside the coming time off: kept, and listed to move.
    visit = make_booking(
        "consultation", datetime(2026, 3, 4, 11, 0, tzinfo=UTC), practitioner_id=first.id
    )
    page = sign_in(browser, base)
    ten = f"{WEDNESDAY}T10:00:00+00:00"
    assert ten in api_starts(page, base, WEDNESDAY, first.id)
    expect(public_times(page, base, WEDNESDAY, first.id).filter(has_text="10:00")).to_have_count(1)

    page.goto(f"{base}/admin/settings/practitioners")
    page.get_by_role("link", name="Time off of Practitioner 1").click()
    page.get_by_label("From (date)").fill(WEDNESDAY)
    page.get_by_label("From (time)").fill("09:00")
    page.get_by_label("Until (date)").fill(WEDNESDAY)
    page.get_by_label("Until (time)").fill("12:30")
    page.get_by_label("Reason (optional)").fill("Training")
    page.get_by_role("button", name="Add the time off").click()
    expect(page.get_by_text("1 booked visit is inside it")).to_be_visible()
    expect(page.locator(f'a[href$="/desk/visits/{visit.id}"]')).to_be_visible()

    # (a) the desk calendar
    page.goto(f"{base}/desk?day={WEDNESDAY}")
    expect(desk_cell(page, WEDNESDAY, "10:00", 0)).to_have_class("cell cell--off")
    expect(desk_cell(page, WEDNESDAY, "12:30", 0)).to_have_class(re.compile(r"cell--free"))
    expect(desk_cell(page, WEDNESDAY, "10:00", 1)).to_have_class(re.compile(r"cell--free"))
    # (b) online: the public pages and the API
    times = public_times(page, base, WEDNESDAY, first.id)
    expect(times.first).to_contain_text("12:30")
    expect(times.filter(has_text="10:00")).to_have_count(0)
    starts = api_starts(page, base, WEDNESDAY, first.id)
    assert ten not in starts and min(starts) == f"{WEDNESDAY}T12:30:00+00:00"
    assert ten in api_starts(page, base, WEDNESDAY, second.id)

    # Removing it gives the morning back at once.
    page.goto(f"{base}/admin/settings/practitioners/{first.id}/time-off")
    page.get_by_role("button", name=re.compile("^Remove")).click()
    expect(page.get_by_text("Time off removed")).to_be_visible()
    assert ten in api_starts(page, base, WEDNESDAY, first.id)
