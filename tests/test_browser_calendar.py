"""The desk moves visits in a real browser: by dragging a block on the calendar (JavaScript on),
and with the visit page's form (JavaScript off)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.booking.models import Appointment
from clinic.extensions import db
from tests.factories import make_booking, make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
VISIT = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # Tuesday, 10:00 GMT


@pytest.fixture
def clinic(app):
    made = make_clinic(practitioners=2, rooms=2)
    make_staff(role="desk", email="desk@example.com", name="Jo Desk", password=PASSWORD)
    made.extra["visit"] = make_booking(
        "consultation", VISIT, practitioner_id=made.practitioners[0].id, sms_opt_in=True
    )
    return made


def sign_in(browser, base: str, *, javascript: bool):
    # A desk monitor: the whole working day fits in the calendar's box, as a drag needs both
    # ends on screen.
    page = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1400, "height": 1600}
    ).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill("desk@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def the_visit() -> Appointment:
    db.session.rollback()  # a fresh snapshot: the server thread wrote since
    return db.session.scalar(select(Appointment))


def moves() -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.move")))


def free_cell(page, practitioner_id: int, local_start: str):
    return page.locator(
        f'td.cell--free[data-practitioner="{practitioner_id}"][data-start="{local_start}"]'
    )


def drag(page, source, target) -> None:
    """A person's drag: press on the block, move in small steps onto the cell, let go."""
    source.scroll_into_view_if_needed()
    start = source.bounding_box()
    page.mouse.move(start["x"] + 10, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(start["x"] + 20, start["y"] + 20, steps=5)
    end = target.bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=10)
    page.mouse.up()


def test_dragging_a_block_moves_the_visit_to_another_time_and_another_practitioner(
    browser, app, serve, clinic
):
    base = serve(app)
    first, second = clinic.practitioners
    page = sign_in(browser, base, javascript=True)
    page.goto(f"{base}/desk?day=2026-03-03")
    block = page.locator("a.visit")
    expect(block).to_contain_text("10:00–10:20")

    drag(page, block, free_cell(page, first.id, "2026-03-03T13:00:00+00:00"))
    expect(page.locator("a.visit")).to_contain_text("13:00–13:20")
    assert the_visit().start_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)

    drag(page, page.locator("a.visit"), free_cell(page, second.id, "2026-03-03T15:30:00+00:00"))
    expect(page.locator("a.visit")).to_contain_text("15:30–15:50")
    moved = the_visit()
    assert (moved.practitioner_id, moved.start_at) == (
        second.id,
        datetime(2026, 3, 3, 15, 30, tzinfo=UTC),
    )
    # The block now sits in the second practitioner's column (the third cell of its row).
    row = page.locator("tr", has=page.locator("a.visit"))
    expect(row.locator("> td").nth(1)).to_have_class("cell cell--block")
    assert len(moves()) == 2


def test_a_refused_drop_shows_the_reason_and_leaves_the_visit(browser, app, serve, clinic):
    base = serve(app)
    first = clinic.practitioners[0]
    page = sign_in(browser, base, javascript=True)
    page.goto(f"{base}/desk?day=2026-03-03")
    # Another desk books the time in the meantime: the page still offers it.
    make_booking(
        "consultation",
        datetime(2026, 3, 3, 14, 0, tzinfo=UTC),
        practitioner_id=first.id,
        source="desk",
    )
    drag(page, page.locator("a.visit"), free_cell(page, first.id, "2026-03-03T14:00:00+00:00"))

    expect(page.locator("#calendar-message")).to_have_text("Sorry, that time is no longer free.")
    assert the_visit().start_at == VISIT


def test_the_visit_pages_form_moves_a_visit_without_javascript(browser, app, serve, clinic):
    base = serve(app)
    second = clinic.practitioners[1]
    visit = clinic.extra["visit"]
    page = sign_in(browser, base, javascript=False)
    page.goto(f"{base}/desk?day=2026-03-03")
    page.get_by_role("link", name="10:00–10:20").click()
    page.get_by_text("Move or change practitioner or room").click()
    page.get_by_label("Date", exact=True).fill("2026-03-04")
    page.get_by_label("Time", exact=True).fill("11:15")
    page.get_by_label("Practitioner", exact=True).select_option(str(second.id))
    page.get_by_role("button", name="Move the visit").click()
    expect(page.get_by_text("Visit moved")).to_be_visible()
    moved = the_visit()
    assert moved.id == visit.id
    assert (moved.practitioner_id, moved.start_at) == (
        second.id,
        datetime(2026, 3, 4, 11, 15, tzinfo=UTC),
    )
    page.goto(f"{base}/desk?day=2026-03-04")
    expect(page.locator("a.visit")).to_contain_text("11:15–11:35")
    assert len(moves()) == 1


@pytest.mark.parametrize("width", [375, 768])
def test_on_a_phone_or_tablet_the_calendar_scrolls_in_its_box_not_the_page(
    browser, app, serve, clinic, width
):
    base = serve(app)
    page = browser.new_context(
        java_script_enabled=False, viewport={"width": width, "height": 800}
    ).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill("desk@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/desk?day=2026-03-03&by=room")
    expect(page.locator("a.visit")).to_contain_text("Alex Morgan")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator(".calendar-scroll")
    assert box.evaluate("element => element.scrollWidth > element.clientWidth") is (width == 375)
