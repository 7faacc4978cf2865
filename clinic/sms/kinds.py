"""The kinds of text the clinic sends, and which of them go at once or matter for safety.

The texts package owns the kinds: the features above it (booking, visits, courses) pick one
when they plan a text, and the wording, the plan and the dispatcher all key on them.
"""

from __future__ import annotations

import enum


class Kind(enum.StrEnum):
    CONFIRMATION = "confirmation"
    # A booking held until a clinician has checked the screening answers, then the outcome.
    CONFIRMATION_HELD = "confirmation_held"
    VISIT_APPROVED = "visit_approved"
    VISIT_DECLINED = "visit_declined"
    # Before a visit that needles: what to stop and what to keep taking (none for a consultation).
    PRECARE_7D = "precare_7d"
    PRECARE_3D = "precare_3d"
    # Booked inside the pre-care windows: the same advice at once, right after the confirmation.
    PRECARE_NOW = "precare_now"
    REMINDER_48H = "reminder_48h"
    REMINDER_24H = "reminder_24h"
    AFTERCARE_2H = "aftercare_2h"
    AFTERCARE_24H = "aftercare_24h"
    AFTERCARE_48H = "aftercare_48h"
    INFECTION_72H = "infection_72h"
    REVIEW_7D = "review_7d"
    COURSE_NUDGE = "course_nudge"
    # Direct answers to something the patient just did: sent at once, whatever the hour.
    REPLY_HELP = "reply_help"
    REPLY_OPT_OUT = "reply_opt_out"
    REPLY_OPT_IN = "reply_opt_in"
    REPLY_CONFIRM = "reply_confirm"
    # Planned no more (replaced by the three below); kept so texts already planned still go.
    REPLY_SYMPTOMS = "reply_symptoms"
    # The safety answers to a reply with symptom words: an emergency, or urgent while the
    # clinic is open or closed.
    REPLY_EMERGENCY = "reply_emergency"
    REPLY_URGENT = "reply_urgent"
    REPLY_URGENT_CLOSED = "reply_urgent_closed"
    # A freed time offered to a patient on the waitlist, and word that it has gone to another.
    WAITLIST_OFFER = "waitlist_offer"
    WAITLIST_GONE = "waitlist_gone"
    # To the clinician on call, not to a patient: an alert nobody has acknowledged.
    ALERT_ESCALATION = "alert_escalation"


IMMEDIATE_KINDS = frozenset(
    {
        Kind.CONFIRMATION,
        Kind.CONFIRMATION_HELD,
        Kind.VISIT_APPROVED,
        Kind.VISIT_DECLINED,
        Kind.PRECARE_NOW,
        Kind.REPLY_HELP,
        Kind.REPLY_OPT_OUT,
        Kind.REPLY_OPT_IN,
        Kind.REPLY_CONFIRM,
        Kind.REPLY_SYMPTOMS,
        Kind.REPLY_EMERGENCY,
        Kind.REPLY_URGENT,
        Kind.REPLY_URGENT_CLOSED,
        Kind.ALERT_ESCALATION,
    }
)
# The texts that confirm a booking: the patient's private link in them is how they change or
# cancel it, so a clinic's wording must keep {link}. (A reminder may leave it out: the
# confirmation already gave it.)
CONFIRMATION_KINDS = frozenset({Kind.CONFIRMATION, Kind.CONFIRMATION_HELD, Kind.VISIT_APPROVED})
# An undelivered one of these means a person must phone the patient.
SAFETY_KINDS = frozenset({Kind.INFECTION_72H, Kind.REVIEW_7D})
# Answers about the patient's safety: they go even after the patient opted out (STOP ends
# texts, not care), as do the answers to STOP and HELP themselves.
SAFETY_REPLY_KINDS = frozenset(
    {Kind.REPLY_SYMPTOMS, Kind.REPLY_EMERGENCY, Kind.REPLY_URGENT, Kind.REPLY_URGENT_CLOSED}
)
