"""Markup faults html-validate finds on a rendered page, caught in every template's source too,
so a page not yet in tests/test_page_quality.py's list cannot bring them back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML_TEMPLATES = sorted(TEMPLATES.rglob("*.html"))

FAULTS = {
    # WTForms renders id="csrf_token": two forms on one page repeat the id.
    # (The bare token, ``csrf_token()``, may feed a script's data attribute.)
    "a CSRF field with an id (use csrf_field())": re.compile(
        r"\.csrf_token\s*(\(\s*\))?\s*}}|hidden_tag\(\)"
    ),
    "a raw CSRF input (use csrf_field())": re.compile(r'name="csrf_token"'),
    # A list, div, span or paragraph without a role of its own is not named.
    "aria-label on a plain element (use a heading)": re.compile(
        r"<(ul|ol|div|span|p)\b(?![^>]*\srole=)[^>]*\saria-label(ledby)?="
    ),
    'role="region" on a div (use <section aria-labelledby=...>)': re.compile(
        r'<div\b[^>]*\srole="region"'
    ),
}


def test_there_are_templates_to_check():
    assert len(HTML_TEMPLATES) > 30


@pytest.mark.parametrize("template", HTML_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_none_of_the_known_markup_faults(template):
    source = template.read_text(encoding="utf-8")
    found = [fault for fault, pattern in FAULTS.items() if pattern.search(source)]
    assert not found, f"{template.relative_to(TEMPLATES)}: {found}"


def test_the_fault_patterns_match_the_faults():
    samples = {
        "a CSRF field with an id (use csrf_field())": "{{ form.csrf_token }}",
        "a raw CSRF input (use csrf_field())": '<input name="csrf_token" value="x">',
        "aria-label on a plain element (use a heading)": '<ul class="x" aria-label="Visits">',
        'role="region" on a div (use <section aria-labelledby=...>)': '<div role="region">',
    }
    for fault, sample in samples.items():
        assert FAULTS[fault].search(sample), fault
