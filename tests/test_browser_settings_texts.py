"""An admin edits a text's wording in a real browser: the live counter under the text box
follows each key (characters, text messages, GSM-7 or UCS-2, the characters to blame), a
confirmation without its link is refused, and a good wording is saved and listed. Without
JavaScript the counter stays hidden and the server's check still refuses."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from clinic.extensions import db
from clinic.sms.models import MessageTemplate
from tests.factories import make_clinic
from tests.helpers import make_staff

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
GOOD = "{clinic}: you are booked for {date} at {time}. To change or cancel: {link}"


@pytest.fixture
def clinic(app):
    make_clinic()
    make_staff(role="admin", email="admin@example.com", name="Ana Admin", password=PASSWORD)


def sign_in(browser, base: str, *, javascript: bool = True):
    page = browser.new_context(java_script_enabled=javascript).new_page()
    page.goto(base + "/login")
    page.get_by_label("Email").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def saved_wording() -> str | None:
    db.session.rollback()  # a fresh read: the server thread wrote since
    return db.session.scalar(
        select(MessageTemplate.body).where(MessageTemplate.kind == "confirmation")
    )


def test_the_counter_follows_the_wording_and_a_good_one_is_saved(browser, app, serve, clinic):
    base = serve(app)
    page = sign_in(browser, base)
    page.goto(base + "/admin/settings")
    page.get_by_role("link", name="Text wording").click()

    section = page.locator("section#confirmation")
    section.get_by_text("Change this wording").click()
    box = section.get_by_label("Wording")
    counter = section.get_by_role("status")
    expect(counter).to_be_visible()
    expect(counter).to_have_attribute("aria-live", "polite")
    expect(box).to_have_attribute("aria-describedby", "confirmation-counter")

    # The clinic's name and the link fill 159 characters with the opt-out line: one message.
    box.fill("{clinic}: {link}")
    expect(counter).to_contain_text("159 characters")
    expect(counter).to_contain_text("1 text message, GSM-7.")
    box.press_sequentially("!")
    expect(counter).to_contain_text("160 characters")
    expect(counter).to_contain_text("1 text message, GSM-7.")
    # One more character and it goes as two.
    box.press_sequentially("!")
    expect(counter).to_contain_text("161 characters")
    expect(counter).to_contain_text("2 text messages, GSM-7.")

    # A curly quote makes the whole text UCS-2, and the counter names it.
    box.fill("{clinic}: {link} Thanks")
    box.press("End")
    box.press_sequentially("\u2019")
    expect(counter).to_contain_text("UCS-2")
    expect(counter).to_contain_text("Not plain characters")
    expect(counter).to_contain_text("\u201c\u2019\u201d")

    # Without the link the counter says so, and so does the server when it is sent anyway.
    box.fill("{clinic}: you are booked for {date} at {time}.")
    expect(counter).to_contain_text("A confirmation must include {link}")
    section.get_by_role("button", name="Check and save").click()
    expect(page.locator(".error-summary")).to_contain_text("A confirmation must include {link}")
    section = page.locator("section#confirmation")
    expect(section.locator(".field-error")).to_contain_text("must include {link}")
    expect(section.get_by_role("status")).to_contain_text("must include {link}")
    assert saved_wording() is None

    section.get_by_label("Wording").fill(GOOD)
    expect(section.get_by_role("status")).not_to_contain_text("must include")
    section.get_by_role("button", name="Check and save").click()
    expect(page.get_by_text("Saved:")).to_be_visible()
    section = page.locator("section#confirmation")
    expect(section.locator(".sms-body").first).to_have_text(GOOD)
    expect(section).to_contain_text("The clinic's wording")
    assert saved_wording() == GOOD


def test_without_javascript_the_counter_stays_hidden_and_the_server_still_refuses(
    browser, app, serve, clinic
):
    base = serve(app)
    page = sign_in(browser, base, javascript=False)
    page.goto(base + "/desk/texts/templates")
    section = page.locator("section#confirmation")
    section.get_by_text("Change this wording").click()
    expect(section.locator(".sms-counter")).to_be_hidden()
    section.get_by_label("Wording").fill("{clinic}: you are booked for {date} at {time}.")
    section.get_by_role("button", name="Check and save").click()
    expect(page.locator(".error-summary")).to_contain_text("A confirmation must include {link}")
    assert saved_wording() is None
