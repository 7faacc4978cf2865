"""An admin invites a desk account in a real browser; the invitation goes out over SMTP; the
new colleague follows its link in a browser of their own, chooses a password, signs in and
sees the desk, while the settings stay closed to them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.audit.models import AuditEvent
from clinic.extensions import db
from clinic.mail.dispatch import email_pass
from tests.factories import make_clinic
from tests.helpers import PASSWORD, make_staff
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.browser

NEW_PASSWORD = "blue kettle on the sill"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app_config(smtp):
    return {"SMTP_URL": smtp.url, "EMAIL_FROM": "Northside Hair Clinic <care@clinic.test>"}


def signed_in_page(browser, base: str, email: str, password: str):
    page = browser.new_context(viewport={"width": 1280, "height": 1200}).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    return page


def test_an_invited_desk_account_chooses_a_password_and_opens_the_desk(browser, app, serve, smtp):
    make_clinic()
    make_staff(role="admin", email="admin@example.com", name="Ali Admin")
    base = serve(app)

    admin = signed_in_page(browser, base, "admin@example.com", PASSWORD)
    admin.goto(base + "/admin/settings")
    admin.get_by_role("link", name="Staff accounts").click()
    admin.get_by_role("link", name="Invite someone").click()
    admin.get_by_label("Name").fill("Sam Lee")
    admin.get_by_label("Email").fill("sam@example.com")
    admin.get_by_label("Role").select_option("desk")
    admin.get_by_role("button", name="Send the invitation").click()
    expect(admin.get_by_role("heading", name="Sam Lee")).to_be_visible()
    expect(admin.get_by_text("Invitation on its way.")).to_be_visible()

    # The dispatcher's pass sends it to the mail server.
    assert email_pass()["sent"] == 1
    [received] = smtp.messages
    assert received.rcpt_tos == ("sam@example.com",)
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+/password/[A-Za-z0-9_-]{43}", text).group(0)

    # A browser of their own, signed in as nobody.
    newcomer = browser.new_context(viewport={"width": 1280, "height": 1200}).new_page()
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Choose your password")).to_be_visible()
    newcomer.get_by_label("New password").fill(NEW_PASSWORD)
    newcomer.get_by_label("The same password again").fill("not the same at all")
    newcomer.get_by_role("button", name="Save the password").click()
    expect(newcomer.get_by_text("The two passwords are not the same.").first).to_be_visible()
    newcomer.get_by_label("New password").fill(NEW_PASSWORD)
    newcomer.get_by_label("The same password again").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="Save the password").click()
    expect(newcomer.get_by_text("Your password is set. Sign in with it.")).to_be_visible()

    newcomer.get_by_label("Email").fill("sam@example.com")
    newcomer.get_by_label("Password").fill(NEW_PASSWORD)
    newcomer.get_by_role("button", name="Sign in").click()
    expect(newcomer).to_have_url(re.compile(r"/desk$"))
    refused = newcomer.goto(base + "/admin/settings")
    assert refused.status == 403

    # The link was for once only.
    assert newcomer.goto(link).status == 410

    # The admin's list now shows the account as active, with its sign-in.
    admin.goto(base + "/admin/settings/staff")
    row = admin.get_by_role("row", name=re.compile("Sam Lee"))
    expect(row.get_by_text("Active")).to_be_visible()
    expect(row.get_by_text("Never")).to_have_count(0)

    db.session.rollback()
    actions = [row.action for row in db.session.scalars(select(AuditEvent))]
    assert "settings.staff_invited" in actions and "staff.password_set" in actions
