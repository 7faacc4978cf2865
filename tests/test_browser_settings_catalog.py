"""An admin changes the clinic's set-up in a real browser: a new room shows in the desk
calendar's room view at once, and a service is added and then edited."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.catalog.models import Room, Service
from clinic.extensions import db
from tests.factories import make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def clinic(app):
    made = make_clinic(practitioners=2, rooms=1)
    make_staff(role="admin", email="admin@example.com", name="Kim Admin", password=PASSWORD)
    return made


def sign_in(browser, base: str):
    page = browser.new_context(viewport={"width": 1280, "height": 1200}).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def actions() -> list[str]:
    db.session.rollback()  # a fresh snapshot: the server thread wrote since
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_an_added_room_shows_in_the_desk_calendars_room_view(browser, app, serve, clinic):
    base = serve(app)
    page = sign_in(browser, base)
    page.get_by_role("link", name="Settings").first.click()
    page.get_by_role("link", name="Rooms").click()
    expect(page.get_by_role("heading", name="Rooms", level=1)).to_be_visible()

    page.get_by_label("Location").select_option(label="Test Clinic")
    page.get_by_label("Room name").fill("Garden room")
    page.get_by_role("button", name="Add the room").click()

    expect(page.get_by_text("Room added: Garden room.")).to_be_visible()
    expect(page.get_by_role("link", name="Garden room")).to_be_visible()
    db.session.rollback()
    room = db.session.scalar(select(Room).where(Room.name == "Garden room"))
    assert room is not None and room.active and room.location_id == clinic.location.id
    assert "settings.room_added" in actions()

    page.goto(base + "/desk?by=room&day=2026-03-03")
    expect(page.get_by_role("columnheader", name="Garden room")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Room 1")).to_be_visible()


def test_an_admin_adds_a_service_and_then_edits_it(browser, app, serve, clinic):
    base = serve(app)
    page = sign_in(browser, base)
    page.goto(base + "/admin/settings")
    page.get_by_role("link", name="Services").click()
    page.get_by_role("link", name="Add a service").click()

    page.get_by_label("Name").fill("Eyebrow microneedling")
    page.get_by_label("Description").fill("Microneedling for thinning eyebrows.")
    page.get_by_label("Duration in minutes").fill("30")
    page.get_by_label("Cleanup minutes after").fill("15")
    page.get_by_label("Price in pounds").fill("180")
    page.get_by_label("Needles: this service needles the scalp").check()
    page.get_by_label("Numbing cream").check()
    page.get_by_role("button", name="Add the service").click()

    expect(page.get_by_text("Service added.")).to_be_visible()
    expect(page.get_by_role("heading", name="Eyebrow microneedling", level=1)).to_be_visible()
    expect(page.get_by_text("/book/eyebrow-microneedling")).to_be_visible()
    expect(page.get_by_text("Nobody yet")).to_be_visible()

    page.get_by_label("Price in pounds").fill("195.50")
    page.get_by_label("Duration in minutes").fill("35")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Service saved.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Eyebrow microneedling")
    expect(row).to_contain_text("£195.50")
    expect(row).to_contain_text("35")
    db.session.rollback()
    added = db.session.scalar(select(Service).where(Service.slug == "eyebrow-microneedling"))
    assert (added.price_pence, added.duration_minutes, added.buffer_after_minutes) == (
        19550,
        35,
        15,
    )
    assert added.needles and added.uses_numbing and not added.uses_prp
    assert actions()[-2:] == ["settings.service_added", "settings.service_changed"]


def test_a_service_form_with_a_price_in_words_is_refused_on_its_field(browser, app, serve, clinic):
    base = serve(app)
    page = sign_in(browser, base)
    service = clinic.services["consultation"]
    page.goto(base + f"/admin/settings/services/{service.id}")
    page.get_by_label("Price in pounds").fill("fifty")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert")).to_contain_text("Enter the price in pounds")
    expect(page.get_by_label("Price in pounds")).to_have_attribute("aria-invalid", "true")
    db.session.rollback()
    assert db.session.get(Service, service.id).price_pence == 5000
