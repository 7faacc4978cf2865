"""Steps several browser tests take the same way, written once."""

from __future__ import annotations

import re


def book_held_microneedling(page, base: str, name: str = "Sam Patel") -> None:
    """Book Tuesday 3 March 10:00 online, answering "yes" to taking a blood thinner (so the
    visit is held for a clinician's review) and "no" to everything else."""
    page.goto(base + "/")
    page.get_by_role("link", name="Choose a day for Scalp microneedling").click()
    page.get_by_role("link", name=re.compile(r"^Tuesday 3 March")).click()
    page.get_by_role("link", name="10:00 on Tuesday 3 March 2026").click()
    page.get_by_label("Full name", exact=True).fill(name)
    page.get_by_label("Mobile number").fill("07911 123456")
    page.get_by_label("Date of birth").fill("30/06/1985")
    for answer in page.locator('input[type="radio"][value="no"]').all():
        answer.check()
    page.locator('input[type="radio"][name$="anticoagulant"][value="yes"]').check()
    page.get_by_label("Type your full name to sign").fill(name)
    page.get_by_label(re.compile(r"agree to the consent form")).check()
    page.get_by_role("button", name="Book this visit").click()
