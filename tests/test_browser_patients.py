"""The desk finds a patient by part of their mobile number, opens the record and changes the
number, in a real browser with JavaScript off; an admin then reads the change in the audit log."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.extensions import db
from clinic.patients.models import Patient
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
WEDNESDAY_10 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "java_script_enabled": False}


@pytest.fixture
def live_server(app, serve):
    make_clinic()
    make_booking(
        "consultation",
        WEDNESDAY_10,
        patient=patient_details(
            full_name="Nia Okafor", phone="+447912345678", date_of_birth=date(1984, 7, 9)
        ),
        sms_opt_in=True,
    )
    make_staff(role="desk", email="desk@example.com", name="Jo Desk", password=PASSWORD)
    make_staff(role="admin", email="admin@example.com", name="Ali Admin", password=PASSWORD)
    return serve(app)


def sign_in(browser, base: str, email: str):
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def the_patient() -> Patient:
    db.session.rollback()  # a fresh snapshot: the server thread wrote since
    return db.session.scalar(select(Patient))


def test_the_desk_finds_a_patient_by_part_of_their_mobile_and_changes_it(browser, live_server):
    desk = sign_in(browser, live_server, "desk@example.com")
    desk.get_by_role("link", name="Patients", exact=True).click()
    desk.get_by_label("Name, mobile number or date of birth").fill("345 678")
    desk.get_by_role("button", name="Search").click()
    expect(desk.get_by_role("heading", name="1 patient found")).to_be_visible()
    expect(desk.get_by_role("cell", name="07912 345678")).to_be_visible()

    desk.get_by_role("link", name="Nia Okafor").click()
    expect(desk.get_by_role("heading", name="Nia Okafor", level=1)).to_be_visible()
    expect(desk.get_by_text("07912 345678")).to_be_visible()
    expect(desk.get_by_text("Reminder the day before")).to_be_visible()

    desk.get_by_role("link", name="Change contact details").click()
    expect(desk.get_by_label("Mobile number")).to_have_value("07912 345678")
    desk.get_by_label("Mobile number").fill("07911 222333")
    desk.get_by_role("button", name="Save").click()

    expect(desk.get_by_text("Contact details saved.")).to_be_visible()
    expect(desk.get_by_role("heading", name="Nia Okafor", level=1)).to_be_visible()
    expect(desk.get_by_role("link", name="07911 222333")).to_be_visible()
    assert the_patient().phone == "+447911222333"
    [row] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "patient.contact_changed")
    ).all()
    assert row.actor_label == "Jo Desk" and row.ip_address == "127.0.0.1"

    admin = sign_in(browser, live_server, "admin@example.com")
    admin.goto(f"{live_server}/desk/patients/{the_patient().id}")
    admin.get_by_role("link", name="Audit log").click()
    change = admin.locator("tr", has_text="patient.contact_changed")
    expect(change).to_contain_text("Jo Desk")
    expect(change).to_contain_text(re.compile(r"\+447912345678\s*→\s*\+447911222333"))
