"""The clinic's locale (CLINIC_LOCALE): <html lang> on every page and email, dates and times
written the locale's way; phone numbers in national format at home, international otherwise."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import render_template

from clinic import config
from clinic.patients.phones import format_national
from clinic.web import formatting
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import make_app

# 14:05 in London (GMT in March): UTC and local agree.
MONDAY_1405 = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
LONDON = "Europe/London"


# --- the setting ----------------------------------------------------------------------------


def test_the_locale_is_en_gb_unless_set():
    assert config.from_environment("/tmp", {})["CLINIC_LOCALE"] == "en-GB"


@pytest.mark.parametrize(
    ("raw", "tag"), [("en-US", "en-US"), ("en_us", "en-US"), ("de-DE", "de-DE"), ("fr", "fr")]
)
def test_a_locale_is_written_as_a_language_tag(raw, tag):
    assert config.from_environment("/tmp", {"CLINIC_LOCALE": raw})["CLINIC_LOCALE"] == tag


@pytest.mark.parametrize("raw", ["english", "xx-YY", "en-ZZ", "en-GB-x", "de DE"])
def test_an_unknown_locale_stops_the_app_at_start_with_the_setting_named(raw):
    with pytest.raises(RuntimeError, match=r"CLINIC_LOCALE must be a locale like en-GB"):
        config.from_environment("/tmp", {"CLINIC_LOCALE": raw})


def test_a_test_or_instance_config_is_checked_the_same_way(tmp_path, clock):
    with pytest.raises(RuntimeError, match="CLINIC_LOCALE"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", clock, tmp_path, CLINIC_LOCALE="nowhere")


# --- dates and times ------------------------------------------------------------------------

FORMS = {
    # locale: (day, when)
    "en-GB": ("Monday 2 March 2026", "Monday 2 March 2026 at 14:05"),
    "en-US": ("Monday, March 2, 2026", "Monday, March 2, 2026 at 2:05\u202fPM"),
    "en-IE": ("Monday 2 March 2026", "Monday 2 March 2026 at 14:05"),
    "en-AU": ("Monday, 2 March 2026", "Monday, 2 March 2026 at 2:05\u202fpm"),
    "de-DE": ("Montag, 2. März 2026", "Montag, 2. März 2026, 14:05"),
    "fr-FR": ("lundi 2 mars 2026", "lundi 2 mars 2026, 14:05"),
    "es-ES": ("lunes, 2 de marzo de 2026", "lunes, 2 de marzo de 2026, 14:05"),
}


@pytest.mark.parametrize("locale", FORMS)
def test_days_and_moments_are_written_the_locales_way(locale):
    day, when = FORMS[locale]
    assert formatting.format_day(MONDAY_1405, LONDON, locale) == day
    assert formatting.format_day(date(2026, 3, 2), None, locale) == day
    assert formatting.format_when(MONDAY_1405, LONDON, locale) == when


def test_clocks_read_24_hour_in_britain_and_12_hour_in_the_us():
    assert formatting.format_time(MONDAY_1405, LONDON, "en-GB") == "14:05"
    assert formatting.format_time(MONDAY_1405, LONDON, "en-US") == "2:05\u202fPM"
    assert formatting.format_time(MONDAY_1405, LONDON, "en-GB", seconds=True) == "14:05:00"


def test_shorter_dates_keep_the_locales_order():
    tuesday = date(2026, 3, 3)
    assert formatting.format_day_short(tuesday, None, "en-GB") == "Tuesday 3 March"
    assert formatting.format_day_short(tuesday, None, "en-US") == "Tuesday, March 3"
    assert formatting.format_day_short(tuesday, None, "es-ES") == "martes, 3 de marzo"
    assert formatting.format_day_month(tuesday, None, "en-US") == "March 3"
    assert formatting.format_long_date(tuesday, None, "en-GB") == "3 March 2026"
    assert formatting.format_numeric_date(date(1988, 4, 12), None, "en-GB") == "12/04/1988"
    assert formatting.format_numeric_date(date(1988, 4, 12), None, "en-US") == "4/12/1988"
    assert formatting.format_numeric_date(date(1988, 4, 12), None, "de-DE") == "12.04.1988"


def test_the_day_of_a_late_evening_visit_is_the_clinics_day_not_utcs():
    late = datetime(2026, 3, 3, 3, 30, tzinfo=UTC)  # 22:30 on Monday in New York
    assert formatting.format_day(late, "America/New_York", "en-US") == "Monday, March 2, 2026"


# --- phone numbers --------------------------------------------------------------------------


def test_a_number_from_the_clinics_region_is_written_nationally():
    assert format_national("+447911123456", "GB") == "07911 123456"
    assert format_national("+12015550123", "US") == "(201) 555-0123"
    # A Jersey mobile is a +44 number: national for a UK clinic.
    assert format_national("+447797712345", "GB") == "07797 712345"


def test_a_number_from_elsewhere_is_written_internationally():
    assert format_national("+12015550123", "GB") == "+1 201-555-0123"
    assert format_national("+447911123456", "IE") == "+44 7911 123456"


def test_what_is_not_a_number_is_shown_as_stored():
    assert format_national("unknown", "GB") == "unknown"


# --- pages and emails -----------------------------------------------------------------------


@pytest.fixture
def app_config():
    return {"CLINIC_LOCALE": "en-US", "DEFAULT_PHONE_REGION": "GB"}


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_every_kind_of_page_carries_the_clinics_locale(client, signed_in):
    make_clinic()
    assert html_lang(client.get("/")) == "en-US"
    assert html_lang(client.get("/login")) == "en-US"
    assert html_lang(client.get("/no-such-page")) == "en-US"
    desk = signed_in("desk")
    assert html_lang(desk.get("/desk")) == "en-US"
    assert html_lang(desk.get("/desk/visits/999")) == "en-US"


def test_the_html_email_carries_the_clinics_locale(app):
    with app.test_request_context():
        html = render_template("email/_layout.html", clinic="Northside")
    assert html.startswith('<!doctype html>\n<html lang="en-US">')


def test_the_desk_writes_its_day_and_times_in_the_locale_and_numbers_nationally(signed_in):
    make_clinic()
    make_booking(
        "consultation",
        datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
        patient=patient_details(phone="+447911123456"),
    )
    desk = signed_in("desk")
    page = desk.get("/desk").get_data(as_text=True)
    assert "Monday, March 2, 2026" in page
    assert "2:00\u202fPM" in page
    visit = desk.get("/desk/visits/1").get_data(as_text=True)
    assert ">07911 123456<" in visit
    assert 'href="tel:+447911123456"' in visit


def test_the_booking_pages_write_days_in_the_locale(client):
    make_clinic()
    page = client.get("/book/consultation/slots?day=2026-03-03").get_data(as_text=True)
    assert "Tuesday, March 3, 2026" in page
