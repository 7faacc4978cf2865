"""What a patient's reply means: opt-out, opt-in, help, confirm, symptoms, or something else.

Symptom words err on the side of raising an alert: a needless alert costs a phone call, a missed
one can cost a patient. Opt-out wins over everything except an emergency, which a clinician must
see even if the patient also says stop (clinical phone follow-up continues after STOP).
"""

from __future__ import annotations

import enum
import re


class Intent(enum.StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"
    OTHER = "other"


OPT_OUT_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
OPT_IN_WORDS = {"start", "yes", "unstop"}
HELP_WORDS = {"help", "info"}
CONFIRM_WORDS = {"c", "confirm", "confirmed"}

_FREE_TEXT_OPT_OUT = re.compile(
    r"\b(stop|quit|no more|don'?t|do not|never)\b.{0,20}\b(text|texting|message|messaging|"
    r"sms|contact|contacting|send|sending)"
    r"|\bunsubscribe\b|\bopt(ing)?[ -]?out\b|\bremove me\b|\btake me off\b",
    re.IGNORECASE,
)
_EMERGENCY = re.compile(
    r"\b(streak\w*|confus\w*|breath\w*|faint\w*|vomit\w*|collaps\w*|unconscious)\b"
    r"|\bswollen (face|eyes?|lips?|tongue|throat)\b"
    r"|\b(face|eyes?|lips?|tongue|throat) (is |are )?(swollen|swelling)\b",
    re.IGNORECASE,
)
_URGENT = re.compile(
    r"\b(pain\w*|sore\w*|pus|puss|oozing|swell\w*|swollen|red|redness|reddish|redder|hot|"
    r"fever\w*|temperature|temp|bleed\w*|blood\w*|blister\w*|rash\w*|hurts?|hurting|"
    r"infect\w*|throbbing)\b",
    re.IGNORECASE,
)


def normalise(body: str) -> str:
    return " ".join(re.sub(r"[^\w' -]", " ", body or "").split()).casefold()


def classify(body: str) -> Intent:
    text = normalise(body)
    if _EMERGENCY.search(text):
        return Intent.EMERGENCY
    words = text.split()
    single = words[0] if len(words) == 1 else None
    if single in OPT_OUT_WORDS or _FREE_TEXT_OPT_OUT.search(text):
        return Intent.OPT_OUT
    if _URGENT.search(text):
        return Intent.URGENT
    if single in OPT_IN_WORDS:
        return Intent.OPT_IN
    if single in HELP_WORDS:
        return Intent.HELP
    if single in CONFIRM_WORDS:
        return Intent.CONFIRM
    return Intent.OTHER
