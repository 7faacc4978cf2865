"""An admin publishes a new consent form version in a real browser, and the next patient who
books online reads and signs that version."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.consent.models import ConsentForm, SignedConsent
from clinic.extensions import db
from tests.factories import make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NEW_PARAGRAPH = (
    "Sharing your record\n"
    "With your agreement we may share your treatment record with your own doctor."
)


def test_an_admin_publishes_a_version_and_the_next_patient_signs_it(browser, app, serve):
    make_clinic()
    make_staff(role="admin", email="admin@example.com", name="Ali Admin", password=PASSWORD)
    base = serve(app)

    admin = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    admin.goto(base + "/login")
    admin.get_by_label("Email").fill("admin@example.com")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.get_by_role("link", name="Settings").first.click()
    admin.get_by_role("link", name="Consent form versions").click()
    expect(admin.get_by_role("heading", name="Consent form versions", level=1)).to_be_visible()
    expect(admin.get_by_role("row", name=re.compile(r"Version 1 .* Built in"))).to_contain_text(
        "Current"
    )

    admin.get_by_role("link", name="Publish a new version").click()
    text = admin.get_by_label("Text", exact=True)
    expect(text).to_have_value(re.compile(r"^What the treatment is"))
    # A date before today is refused next to the field, and the text typed is kept.
    text.fill(text.input_value() + "\n" + NEW_PARAGRAPH + "\n")
    admin.get_by_label("Takes effect on").fill("2026-03-01")
    admin.get_by_role("button", name="Publish version 2").click()
    expect(admin.get_by_text("The date must be today or later.").first).to_be_visible()
    expect(admin.get_by_label("Text", exact=True)).to_have_value(re.compile(NEW_PARAGRAPH))

    admin.get_by_label("Takes effect on").fill("2026-03-02")
    admin.get_by_role("button", name="Publish version 2").click()
    expect(admin.get_by_text("Published version 2")).to_be_visible()
    expect(admin.get_by_role("row", name=re.compile(r"Version 2 .* Ali Admin"))).to_contain_text(
        "Current"
    )
    admin.get_by_role("link", name="Version 2").click()
    expect(admin.get_by_text("This is the version patients sign now.")).to_be_visible()
    expect(admin.locator(".consent-text")).to_contain_text("share your treatment record")

    # The next patient to book online reads version 2 and signs it.
    patient = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
    patient.goto(base + "/")
    patient.get_by_role("link", name="Choose a day for Scalp microneedling").click()
    patient.get_by_role("link", name=re.compile(r"^Tuesday 3 March")).click()
    patient.get_by_role("link", name="10:00 on Tuesday 3 March 2026").click()
    expect(patient.get_by_text("With your agreement we may share your treatment")).to_be_visible()
    patient.get_by_label("Full name", exact=True).fill("Sam Patel")
    patient.get_by_label("Mobile number").fill("07911 123456")
    patient.get_by_label("Date of birth").fill("30/06/1985")
    for answer in patient.locator('input[type="radio"][value="no"]').all():
        answer.check()
    patient.get_by_label("Type your full name to sign").fill("Sam Patel")
    patient.get_by_label(re.compile(r"agree to the consent form")).check()
    patient.get_by_role("button", name="Book this visit").click()
    expect(patient.get_by_role("heading", name="You are booked")).to_be_visible()

    db.session.rollback()  # a fresh snapshot: the server thread wrote since
    version_2 = db.session.scalar(select(ConsentForm).where(ConsentForm.version == 2))
    signature = db.session.scalar(select(SignedConsent))
    assert (signature.form_version, signature.form_sha256) == (2, version_2.sha256)
    assert NEW_PARAGRAPH in version_2.text
    published = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "settings.consent_published")
    )
    assert published.actor_label == "Ali Admin"
