"""The words of each text: built-in wording, a clinic's own templates, and the checks a
template must pass before it is saved (GSM-7, at most two segments, no health words)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from clinic.sms.gsm import encoding_of
from clinic.sms.kinds import CONFIRMATION_KINDS, Kind

PLACEHOLDERS = {
    "clinic": "the clinic's name",
    "date": "the visit's day, e.g. Tuesday 3 March",
    "time": "the visit's time, e.g. 10:15",
    "phone": "the clinic's phone number",
    "link": "the patient's private booking link (or the booking page, or a waitlist offer)",
    "next_visit": "the next visit's date and time, or a link to book one (7-day check only)",
    "emergency": "the number to call in an emergency, e.g. 999",
    "out_of_hours": "where to get advice while the clinic is closed (a setting)",
    "opens": "when the clinic next opens, e.g. 09:00 tomorrow",
    "level": "how pressing an alert is: EMERGENCY or URGENT (texts to the clinician on call)",
    "since": "when the alert was raised, e.g. 14:05 (texts to the clinician on call)",
}

DEFAULTS: dict[Kind, str] = {
    # Neutral on purpose: a booking held for a clinician's review gets the same text.
    Kind.CONFIRMATION: "{clinic}: we have your visit down for {date} at {time}. "
    "To change or cancel: {link}",
    # For a booking held until a clinician has checked the screening answers, and the outcome.
    Kind.CONFIRMATION_HELD: "{clinic}: booking received. We hold the time until a clinician has "
    "checked your answers and will text again once it is confirmed. To change or cancel: {link}",
    Kind.VISIT_APPROVED: "{clinic}: your visit on {date} at {time} is now confirmed. "
    "To change or cancel: {link}",
    Kind.VISIT_DECLINED: "{clinic}: we're sorry, we can't go ahead with your visit on {date} at "
    "{time}. Please call us on {phone} to talk about it.",
    # Pre-care, for visits that needle only: plain words, no medicine named.
    Kind.PRECARE_7D: "{clinic}: your visit is on {date} at {time}. Until then please stop using "
    "retinol or acid skin products on your scalp. Keep taking your prescribed medicines, "
    "including ones that thin the blood, unless your doctor says otherwise. {phone}",
    Kind.PRECARE_3D: "{clinic}: your visit is on {date} at {time}. Until then please avoid "
    "anti-inflammatory painkillers bought over the counter, unless a doctor prescribed them. "
    "Keep taking your prescribed medicines. {phone}",
    # Booked inside the pre-care windows: all of it at once, right after the confirmation.
    Kind.PRECARE_NOW: "{clinic}: before your visit stop using retinol or acid skin products on "
    "your scalp and avoid anti-inflammatory painkillers sold over the counter. Keep taking your "
    "prescribed medicines, including ones that thin the blood, unless your doctor says otherwise.",
    Kind.REMINDER_48H: "{clinic}: your visit is on {date} at {time}. Please come with clean, "
    "dry hair and no styling products, and have no alcohol in the 24 hours before. {phone}",
    Kind.REMINDER_24H: "{clinic}: see you {date} at {time}. Reply C to confirm. To change: {link}",
    # The aftercare series: what is normal and what to avoid first, then what is allowed again,
    # then the warning signs in full.
    Kind.AFTERCARE_2H: "{clinic}: redness, warmth and tightness are normal today. For 24 hours "
    "don't wash your hair, put products on your scalp, exercise, sweat, swim or sit in the sun, "
    "and don't touch or scratch. Pus, spreading redness or a fever: call {phone}",
    Kind.AFTERCARE_24H: "{clinic}: you can now wash gently with a mild shampoo and lukewarm "
    "water, then pat dry, and restart your usual scalp products unless we told you otherwise. "
    "For 2 more days avoid heavy sweating, saunas, swimming and strong sun.",
    Kind.AFTERCARE_48H: "{clinic}: any redness should be fading now. Until tomorrow please still "
    "avoid heavy sweating, saunas, swimming and strong sun; after that you can go back to them.",
    Kind.INFECTION_72H: "{clinic}: call us today on {phone} if you have worse pain, pus, "
    "swelling, redness that spreads, or a temperature of 38C/100.4F or more. If you feel very "
    "unwell, call the emergency number now.",
    Kind.REVIEW_7D: "{clinic}: one week on, do you have any lasting bumps, dark patches or "
    "irritation? Reply or call {phone}. {next_visit}",
    Kind.COURSE_NUDGE: "{clinic}: your next session is due. Book a time that suits you: {link} "
    "or call {phone}.",
    Kind.REPLY_HELP: "{clinic}: appointment and aftercare texts. For help call {phone}. Reply "
    "STOP to end texts, START to restart them.",
    Kind.REPLY_OPT_OUT: "{clinic}: you will get no more texts from us. Reply START to restart. "
    "We may still phone you about your care.",
    Kind.REPLY_OPT_IN: "{clinic}: texts restarted. Reply STOP at any time to end them.",
    Kind.REPLY_CONFIRM: "{clinic}: thank you, your visit on {date} at {time} is confirmed.",
    Kind.REPLY_SYMPTOMS: "{clinic}: thank you for telling us. A clinician will call you shortly. "
    "If you are very unwell, confused, breathless or your heart is racing, call the emergency "
    "number now.",
    # The number to call comes first: a frightened reader may stop after a few words.
    Kind.REPLY_EMERGENCY: "{clinic}: please call {emergency} now. If you cannot, ask someone "
    "to call for you. We have your message and will also call you as soon as we can.",
    Kind.REPLY_URGENT: "{clinic}: thank you for telling us. A clinician will call you today. "
    "To talk sooner call {phone}. If you feel very unwell, call {emergency} now.",
    Kind.REPLY_URGENT_CLOSED: "{clinic}: thank you for telling us. We are closed now; a "
    "clinician will call you when we open at {opens}. {out_of_hours} If you feel very unwell, "
    "call {emergency} now.",
    # No service named: the time and the link say enough, and a text is not private.
    Kind.WAITLIST_OFFER: "{clinic}: a time has come free on {date} at {time}. The first to "
    "book it gets it. To book, open {link}",
    Kind.WAITLIST_GONE: "{clinic}: sorry, the time on {date} at {time} has gone to someone "
    "else. You are still on our waiting list.",
    Kind.ALERT_ESCALATION: "{clinic}: a patient message marked {level} has waited for a "
    "clinician since {since}. Please open the alerts page: {link}",
}

OPT_OUT_LINE = " Reply STOP to opt out."
# A text longer than this many segments costs too much and arrives in pieces on some phones.
MAX_SEGMENTS = 2
BRACES_INVALID = "Braces must hold a placeholder name, like {date}."
LINK_MISSING = (
    "A confirmation must include {link}: it is how the patient changes or cancels the visit."
)

# Texts are not private: they must never name a condition, a medicine or a procedure.
FORBIDDEN = re.compile(
    r"needl|minoxidil|\bprp\b|platelet|plasma|steroid|triamcinolone|lidocaine|anaesthe|anesthe|"
    r"numbing|alopecia|hair ?loss|bald|psoriasis|eczema|dermatitis|folliculitis|infect|"
    r"isotretinoin|warfarin|apixaban|rivaroxaban|clopidogrel|aspirin|ibuprofen|pregnan|keloid|"
    r"diabet|cancer|chemo|radiother|transplant|inject|lupus|herpes|shingles|finasteride",
    re.IGNORECASE,
)

# Values long enough to stand for the real thing when a template's length is checked.
SAMPLE = {
    "clinic": "Northside Hair Clinic",
    "date": "Wednesday 30 September",
    "time": "10:15",
    "phone": "+44 20 7946 0321",
    "link": "https://book.example-clinic.co.uk/manage/" + "x" * 72,
    "next_visit": "Your next visit: Wednesday 30 September at 10:15.",
    "emergency": "999",
    # As long as OUT_OF_HOURS_ADVICE may be (MAX_SETTING_TEXT).
    "out_of_hours": "For urgent advice while we are closed, call your doctor's out-of-hours "
    "service or the advice line.",
    "opens": "09:00 on Wednesday",
    "level": "EMERGENCY",
    "since": "14:05 on Wednesday",
}


@dataclass(frozen=True)
class TemplateCheck:
    errors: list[str]
    warnings: list[str]
    segments: int


def check_template(kind: Kind, body: str) -> TemplateCheck:
    errors: list[str] = []
    warnings: list[str] = []
    text = body.strip()
    if not text:
        return TemplateCheck(["The text cannot be empty."], [], 0)
    names = _placeholders(text)
    if names is None:
        return TemplateCheck([BRACES_INVALID], [], 0)
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        errors.append("Unknown placeholders: " + ", ".join("{" + n + "}" for n in unknown) + ".")
    if kind in CONFIRMATION_KINDS and "link" not in names:
        errors.append(LINK_MISSING)
    found = sorted({m.group(0).lower() for m in FORBIDDEN.finditer(text)})
    if found:
        errors.append(
            "Texts must not name a condition, medicine or procedure (found: "
            + ", ".join(found)
            + ")."
        )
    encoding = encoding_of(text)
    if encoding.name != "GSM-7":
        errors.append(
            "Use plain characters only (these would make the text cost more and may show "
            "wrongly): " + " ".join(repr(ch) for ch in encoding.offending)
        )
    segments = 0
    if not unknown and not errors:
        rendered = text.format(**SAMPLE) + OPT_OUT_LINE
        segments = encoding_of(rendered).segments
        if segments > MAX_SEGMENTS:
            errors.append(
                f"Too long: with real details it takes {segments} text messages; "
                f"at most {MAX_SEGMENTS}."
            )
        elif segments == 2:
            warnings.append("With real details this goes as 2 text messages; 1 is better.")
    return TemplateCheck(errors, warnings, segments)


# A setting that goes into a text as it is, such as OUT_OF_HOURS_ADVICE, may take this many
# characters (the sample above is as long as the template checks allow for).
MAX_SETTING_TEXT = len(SAMPLE["out_of_hours"])


def check_setting_text(name: str, value: str) -> list[str]:
    """What is wrong with a setting's words that a text carries as they are (empty: nothing)."""
    errors = []
    if len(value) > MAX_SETTING_TEXT:
        errors.append(f"{name} must be at most {MAX_SETTING_TEXT} characters")
    if "{" in value or "}" in value:
        errors.append(f"{name} cannot hold braces")
    if FORBIDDEN.search(value):
        errors.append(f"{name} must not name a condition, medicine or procedure")
    if encoding_of(value).name != "GSM-7":
        errors.append(f"{name} must use plain characters only")
    return errors


def _placeholders(text: str) -> set[str] | None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return None
    names = set()
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            return None
        names.add(name)
    return names


def render(template: str, values: dict[str, str]) -> str:
    return template.format(**{name: values.get(name, "") for name in PLACEHOLDERS}).strip()
