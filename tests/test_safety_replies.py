"""The answer to a reply with symptom words: the emergency number first for an emergency, and an
honest "when we will call" for an urgent one, by the clinic's opening hours. Also the settings
behind them, and acknowledging an alert on the desk's page with what was done.

The clock starts on Monday 2 March 2026, 08:00 London (GMT), before the clinic opens at 09:00.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from clinic import config as settings
from clinic import create_app
from clinic.extensions import db
from clinic.sms import hours, inbound
from clinic.sms.alerts import safety_reply_kind
from clinic.sms.dispatch import dispatch_pass
from clinic.sms.kinds import Kind
from clinic.sms.models import OUTCOME_LABELS, AlertLevel, OutboundText, StaffAlert
from clinic.sms.wording import DEFAULTS, SAMPLE, check_setting_text, check_template, render
from tests.factories import make_booking, make_clinic, patient_details
from tests.helpers import csrf_token

PATIENT_PHONE = "+447911123456"
CLINIC_NUMBER = "+15005550006"
THURSDAY_10 = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
SAFETY_REPLIES = (Kind.REPLY_EMERGENCY, Kind.REPLY_URGENT, Kind.REPLY_URGENT_CLOSED)

_sids = iter(range(1, 10_000))


def booked(sms_opt_in: bool = True):
    details = patient_details(phone=PATIENT_PHONE)
    return make_booking("microneedling", THURSDAY_10, patient=details, sms_opt_in=sms_opt_in)


def answer_to(body: str, fake_twilio) -> tuple[Kind, str]:
    """Send ``body`` as the patient; return the kind and words of the answer they got."""
    inbound.receive(f"SM{next(_sids):032d}", PATIENT_PHONE, CLINIC_NUMBER, body)
    dispatch_pass()
    db.session.commit()
    row = db.session.scalar(
        select(OutboundText).where(OutboundText.kind.in_(SAFETY_REPLIES)).order_by(OutboundText.id)
    )
    [sent] = [m["body"] for m in fake_twilio.messages if m["body"] == row.body]
    return Kind(row.kind), sent


@pytest.fixture
def clinic(twilio_app):
    make_clinic()
    return twilio_app


# --- what the patient is told ---------------------------------------------------------------


def test_an_emergency_answer_names_the_emergency_number_first(clinic, fake_twilio, clock):
    clock.set(datetime(2026, 3, 3, 11, 0, tzinfo=UTC))  # open: the answer is the same
    booked()
    kind, sent = answer_to("I can't breathe properly", fake_twilio)
    assert kind is Kind.REPLY_EMERGENCY
    assert sent.startswith("Northside Hair Clinic: please call 999 now.")


def test_the_emergency_number_follows_the_setting(clinic, fake_twilio, clock):
    clinic.config.update(CLINIC_EMERGENCY_NUMBER="911")
    booked()
    _kind, sent = answer_to("I can't breathe properly", fake_twilio)
    assert sent.startswith("Northside Hair Clinic: please call 911 now.")


def test_an_urgent_answer_in_opening_hours_promises_a_call_today(clinic, fake_twilio, clock):
    clock.set(datetime(2026, 3, 3, 11, 0, tzinfo=UTC))  # Tuesday 11:00
    booked()
    kind, sent = answer_to("there's pus", fake_twilio)
    assert kind is Kind.REPLY_URGENT
    assert "A clinician will call you today" in sent
    assert "+44 20 7946 0321" in sent and "call 999 now" in sent
    assert "closed" not in sent


@pytest.mark.parametrize(
    ("at", "opens"),
    [
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), "09:00 today"),  # Monday, before opening
        (datetime(2026, 3, 3, 18, 30, tzinfo=UTC), "09:00 tomorrow"),  # Tuesday evening
        (datetime(2026, 3, 6, 19, 0, tzinfo=UTC), "09:00 on Monday"),  # Friday evening
        (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), "09:00 on Monday"),  # Saturday
    ],
)
def test_an_urgent_answer_outside_opening_hours_says_so_and_gives_the_advice_line(
    clinic, fake_twilio, clock, at, opens
):
    booked()
    clock.set(at)  # after the visit, for the Friday and Saturday
    kind, sent = answer_to("there's pus", fake_twilio)
    assert kind is Kind.REPLY_URGENT_CLOSED
    assert f"We are closed now; a clinician will call you when we open at {opens}." in sent
    assert "For urgent advice call NHS 111." in sent and "call 999 now" in sent
    assert "will call you today" not in sent


def test_a_patient_who_opted_out_still_gets_the_safety_answer(clinic, fake_twilio, clock):
    booked(sms_opt_in=False)
    kind, sent = answer_to("I can't breathe properly", fake_twilio)
    assert kind is Kind.REPLY_EMERGENCY and "please call 999 now" in sent


def test_the_old_symptom_answer_is_planned_no_more(clinic, clock):
    for level in AlertLevel:
        assert safety_reply_kind(level) is not Kind.REPLY_SYMPTOMS
    assert safety_reply_kind(AlertLevel.EMERGENCY) is Kind.REPLY_EMERGENCY


@pytest.mark.parametrize("kind", [*SAFETY_REPLIES, Kind.ALERT_ESCALATION])
def test_every_new_wording_passes_the_template_checks_with_long_real_details(kind):
    check = check_template(kind, DEFAULTS[kind])
    assert check.errors == [] and 1 <= check.segments <= 2


def test_the_emergency_number_comes_before_anything_else():
    words = render(DEFAULTS[Kind.REPLY_EMERGENCY], SAMPLE)
    assert words.index("999") < 40 and words.index("999") == words.index("call") + 5


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "number"),
    [
        ("GB", "999"),
        ("US", "911"),
        ("CA", "911"),
        ("IE", "112"),
        ("FR", "112"),
        ("DE", "112"),
        ("AU", "000"),
        ("NZ", "111"),
        ("ZA", "112"),
    ],
)
def test_the_emergency_number_defaults_from_the_phone_region(tmp_path, region, number):
    config = settings.from_environment(str(tmp_path), {"DEFAULT_PHONE_REGION": region})
    assert config["CLINIC_EMERGENCY_NUMBER"] == number
    assert check_setting_text("OUT_OF_HOURS_ADVICE", config["OUT_OF_HOURS_ADVICE"]) == []


def test_escalation_settings_and_their_defaults(tmp_path):
    config = settings.from_environment(str(tmp_path), {})
    assert config["CLINIC_EMERGENCY_NUMBER"] == "999"
    assert config["OUT_OF_HOURS_ADVICE"] == "For urgent advice call NHS 111."
    assert config["ON_CALL_PHONE"] == ""
    assert (
        config["ALERT_ESCALATE_EMERGENCY_MINUTES"],
        config["ALERT_ESCALATE_URGENT_MINUTES"],
        config["ALERT_REPEAT_MINUTES"],
        config["ALERT_ESCALATION_MAX_TEXTS"],
    ) == (10, 30, 15, 4)
    set_ = settings.from_environment(
        str(tmp_path),
        {"CLINIC_EMERGENCY_NUMBER": "112", "ON_CALL_PHONE": "+44 7700 900123"},
    )
    assert (set_["CLINIC_EMERGENCY_NUMBER"], set_["ON_CALL_PHONE"]) == ("112", "+447700900123")


def test_an_on_call_phone_not_in_international_form_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="ON_CALL_PHONE"):
        settings.from_environment(str(tmp_path), {"ON_CALL_PHONE": "07700 900123"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUT_OF_HOURS_ADVICE", "Your infection? Call 111."),
        ("OUT_OF_HOURS_ADVICE", "Ring 111 \u2014 any time."),
        ("OUT_OF_HOURS_ADVICE", "x" * 99),
        ("CLINIC_OPEN_HOURS", "weekdays 9 to 5"),
    ],
)
def test_text_settings_that_would_break_a_text_stop_the_app_at_start(tmp_path, name, value):
    with pytest.raises(RuntimeError, match=name):
        create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "", name: value})


# --- opening hours, without an app ----------------------------------------------------------


def test_opening_hours_read_like_a_shop_door():
    parsed = hours.parse("Mon-Fri 09:00-18:00; Sat 10:00-13:00")
    assert parsed.days[0] == (time(9), time(18)) and parsed.days[4] == (time(9), time(18))
    assert parsed.days[5] == (time(10), time(13)) and 6 not in parsed.days


@pytest.mark.parametrize("text", ["", "Mon 18:00-09:00", "Fri-Mon 09:00-17:00", "Mo 9-5"])
def test_opening_hours_that_make_no_sense_are_refused(text):
    with pytest.raises(ValueError):
        hours.parse(text)


@pytest.mark.parametrize(
    ("at", "open_", "says"),
    [
        (datetime(2026, 3, 7, 9, 59, tzinfo=UTC), False, "10:00 today"),  # Saturday
        (datetime(2026, 3, 7, 10, 0, tzinfo=UTC), True, "09:00 on Monday"),
        (datetime(2026, 3, 7, 13, 0, tzinfo=UTC), False, "09:00 on Monday"),
        (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), False, "09:00 tomorrow"),  # Sunday
        # Summer time: 08:30 UTC is 09:30 in London.
        (datetime(2026, 7, 1, 8, 30, tzinfo=UTC), True, "09:00 tomorrow"),
    ],
)
def test_open_or_closed_and_when_it_opens_next_in_local_time(at, open_, says):
    parsed = hours.parse("Mon-Fri 09:00-18:00; Sat 10:00-13:00")
    assert hours.is_open(at, LONDON, parsed) is open_
    assert hours.describe_opening(at, LONDON, parsed) == says


# --- acknowledging on the desk's page -------------------------------------------------------


def page_text(response) -> str:
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(words))


def acknowledge(desk, alert_id: int, **data):
    token = csrf_token(desk, "/desk/texts/alerts")
    return desk.post(
        f"/desk/texts/alerts/{alert_id}/acknowledge", data={"csrf_token": token, **data}
    )


@pytest.fixture
def open_alert(app):
    make_clinic()
    booked()
    inbound.receive(f"SM{next(_sids):032d}", PATIENT_PHONE, CLINIC_NUMBER, "there's pus")
    return db.session.scalar(select(StaffAlert))


def test_the_alert_card_asks_what_happened(open_alert, signed_in):
    page = signed_in("practitioner").get("/desk/texts/alerts")
    words = page_text(page)
    for label in OUTCOME_LABELS.values():
        assert label in words
    assert page.get_data(as_text=True).count('name="outcome"') == len(OUTCOME_LABELS)


def test_acknowledging_without_saying_what_happened_changes_nothing(open_alert, signed_in):
    desk = signed_in("desk")
    response = acknowledge(desk, open_alert.id)
    assert response.status_code == 303
    db.session.refresh(open_alert)
    assert open_alert.acknowledged_at is None and open_alert.outcome is None
    assert "Choose what happened." in page_text(desk.get("/desk/texts/alerts"))


def test_an_outcome_closes_the_alert_and_shows_with_its_note(open_alert, signed_in, clock):
    desk = signed_in("practitioner", name="Dr Rao")
    response = acknowledge(desk, open_alert.id, outcome="booked", note="seen tomorrow 10:00")
    assert response.status_code == 303
    db.session.refresh(open_alert)
    assert (open_alert.outcome, open_alert.outcome_note) == ("booked", "seen tomorrow 10:00")
    assert open_alert.acknowledged_at == clock.now() == open_alert.outcome_at
    page = page_text(desk.get("/desk/texts/alerts"))
    assert "Alert acknowledged." in page and "No open alerts." in page
    assert "Booked to be seen: seen tomorrow 10:00" in page.split("Acknowledged", 1)[1]


def test_no_answer_keeps_the_alert_on_the_open_list(open_alert, signed_in, clock):
    desk = signed_in("practitioner")
    acknowledge(desk, open_alert.id, outcome="no_answer", note="voicemail")
    db.session.refresh(open_alert)
    assert open_alert.acknowledged_at is None and open_alert.outcome == "no_answer"
    page = page_text(desk.get("/desk/texts/alerts"))
    assert "the alert stays open" in page
    assert "No answer when called" in page and "voicemail" in page
    assert "No open alerts." not in page


def test_an_unknown_outcome_is_refused(open_alert, signed_in):
    desk = signed_in("desk")
    acknowledge(desk, open_alert.id, outcome="closed")
    db.session.refresh(open_alert)
    assert open_alert.acknowledged_at is None and open_alert.outcome is None
