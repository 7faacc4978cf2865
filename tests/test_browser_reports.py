"""A practitioner opens the reports from the staff navigation in a browser, without JavaScript:
the charts draw, the period can be changed, and the printed day sheet is the sheet alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import PASSWORD, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "java_script_enabled": False}


@pytest.fixture
def live_server(app, serve):
    make_clinic()
    make_booking("consultation", datetime(2026, 3, 3, 10, tzinfo=UTC))
    make_booking(
        "consultation",
        datetime(2026, 3, 3, 11, tzinfo=UTC),
        patient=patient_details(full_name="Sam Patel", phone="+447911123499"),
    )
    make_staff(role="practitioner", email="dr@example.com", name="Dr Rao")
    return serve(app)


def test_a_practitioner_reads_the_reports_and_prints_the_day_sheet(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("dr@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Reports").click()

    expect(page.get_by_role("heading", name=re.compile("^Reports: Test Clinic"))).to_be_visible()
    charts = page.get_by_role("img")
    expect(charts).to_have_count(9)
    cancellations = page.get_by_role("img", name=re.compile("^Visits starting in the period"))
    expect(cancellations).to_be_visible()
    box = cancellations.bounding_box()
    assert box["width"] > 100 and box["height"] > 100

    page.get_by_label("First day").fill("2026-03-03")
    page.get_by_label("Last day").fill("2026-03-03")
    page.get_by_role("button", name="Show").click()
    expect(
        page.get_by_role("heading", name=re.compile("3 March 2026 to 3 March 2026"))
    ).to_be_visible()
    table = page.get_by_role("table", name="Cancellations")
    expect(
        table.get_by_role("row", name=re.compile("Visits starting in the period"))
    ).to_contain_text("2")

    page.goto(live_server + "/desk/reports/day-sheet?day=2026-03-03")
    expect(page.get_by_role("row", name=re.compile("Sam Patel"))).to_contain_text("07911 123499")
    page.emulate_media(media="print")
    expect(page.get_by_role("link", name="Reports")).to_be_hidden()
    expect(page.get_by_role("button", name="Show")).to_be_hidden()
    expect(
        page.get_by_role("heading", name=re.compile("^Day sheet: Tuesday 3 March 2026"))
    ).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Sam Patel"))).to_be_visible()
