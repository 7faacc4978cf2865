"""The check-in gate as a pure rule: why a session may not start or complete."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateFacts:
    needles: bool
    has_screening: bool  # a screening that covers this visit and is still in date
    screening_outcome: str | None  # clear, review, defer, block
    review_status: str | None  # not_needed, pending, approved, declined
    changes_reported: bool  # "has anything changed since your last visit?" answered yes
    has_current_consent: bool
    # Any review of this visit's (or its course's) answers still waiting, or declined: these
    # stop the session whatever newer screenings say.
    review_pending: bool = False
    review_declined: bool = False


def reasons_blocked(facts: GateFacts) -> list[str]:
    """Plain reasons the desk can act on; an empty list means the visit may go ahead."""
    if not facts.needles:
        return []  # a consultation needles nobody; its answers are for the record only
    reasons: list[str] = []
    if facts.review_declined:
        reasons.append("screening was declined on review")
    elif facts.review_pending:
        reasons.append("screening is waiting for a practitioner's review")
    if facts.changes_reported:
        reasons.append("the patient reported changes since the last visit: screen again")
    elif not facts.has_screening:
        reasons.append("screening is missing or out of date")
    elif facts.screening_outcome in ("block", "defer"):
        reasons.append("screening did not clear")
    elif (
        facts.screening_outcome == "review"
        and facts.review_status in ("pending", "declined")
        and not (facts.review_pending or facts.review_declined)
    ):
        reasons.append(
            "screening is waiting for a practitioner's review"
            if facts.review_status == "pending"
            else "screening was declined on review"
        )
    if not facts.has_current_consent:
        reasons.append("no signed consent for the current form")
    return reasons
