"""Pure SMS rules: encoding and segments, and what a reply means."""

import pytest

from clinic.sms.gsm import encoding_of
from clinic.sms.keywords import Intent, classify
from clinic.sms.kinds import IMMEDIATE_KINDS, Kind
from clinic.sms.wording import DEFAULTS, check_template


def test_plain_text_is_gsm7_and_counts_segments():
    assert encoding_of("a" * 160).segments == 1
    assert encoding_of("a" * 161).segments == 2
    assert encoding_of("a" * 306).segments == 2
    assert encoding_of("a" * 307).segments == 3
    assert encoding_of("").segments == 0


def test_extension_characters_count_twice():
    text = "€" * 80
    encoding = encoding_of(text)
    assert encoding.name == "GSM-7" and encoding.units == 160 and encoding.segments == 1


def test_one_emoji_or_curly_quote_switches_to_ucs2():
    for odd in ("🙂", "’", "—"):
        encoding = encoding_of("See you soon" + odd)
        assert encoding.name == "UCS-2"
        assert encoding.offending == (odd,)
    assert encoding_of("x" * 70 + "’").segments == 2
    assert encoding_of("x" * 69 + "’").segments == 1


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("STOP", Intent.OPT_OUT),
        ("stop", Intent.OPT_OUT),
        (" Unsubscribe ", Intent.OPT_OUT),
        ("please stop texting me", Intent.OPT_OUT),
        ("Don't send me any more messages", Intent.OPT_OUT),
        ("no more texts thanks", Intent.OPT_OUT),
        ("START", Intent.OPT_IN),
        ("unstop", Intent.OPT_IN),
        ("HELP", Intent.HELP),
        ("info", Intent.HELP),
        ("C", Intent.CONFIRM),
        ("Confirm", Intent.CONFIRM),
        ("there is pus on my scalp", Intent.URGENT),
        ("It's really red and hot", Intent.URGENT),
        ("I think I have a fever", Intent.URGENT),
        ("the swelling is worse", Intent.URGENT),
        ("the pain won't stop", Intent.URGENT),
        ("red streaks going down my neck", Intent.EMERGENCY),
        ("I feel confused and faint", Intent.EMERGENCY),
        ("struggling to breathe", Intent.EMERGENCY),
        ("my face is swollen", Intent.EMERGENCY),
        ("stop texting me, I keep vomiting", Intent.EMERGENCY),
        ("Thanks, see you Tuesday", Intent.OTHER),
        ("I'm ready for next week", Intent.OTHER),
        ("Can I move my appointment?", Intent.OTHER),
        ("", Intent.OTHER),
    ],
)
def test_replies_are_understood(body, intent):
    assert classify(body) is intent


@pytest.mark.parametrize("kind", list(Kind))
def test_every_built_in_wording_passes_the_checks_a_clinic_s_own_must_pass(kind):
    assert check_template(kind, DEFAULTS[kind]).errors == []


def test_the_held_booking_texts_go_at_once_and_name_no_health_detail():
    held = {Kind.CONFIRMATION_HELD, Kind.VISIT_APPROVED, Kind.VISIT_DECLINED}
    assert held <= IMMEDIATE_KINDS
    assert "{link}" in DEFAULTS[Kind.CONFIRMATION_HELD]
    assert "{link}" in DEFAULTS[Kind.VISIT_APPROVED]
    assert "{phone}" in DEFAULTS[Kind.VISIT_DECLINED]
