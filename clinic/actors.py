"""Who did something: the visit lifecycle decides by it, the audit log records it.

Pure values: no Flask, no database. The web layer builds an Actor from the signed-in staff
member or the patient's link and the request's address; the scheduler acts as SYSTEM.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActorKind(enum.StrEnum):
    PATIENT_LINK = "patient_link"  # the patient, through their private manage link (or online)
    PATIENT_TEXT = "patient_text"  # the patient, by a text message reply
    DESK = "desk"
    PRACTITIONER = "practitioner"
    ADMIN = "admin"
    SYSTEM = "system"  # the scheduler, housekeeping, the demo


STAFF_KINDS = frozenset({ActorKind.DESK, ActorKind.PRACTITIONER, ActorKind.ADMIN})
PATIENT_KINDS = frozenset({ActorKind.PATIENT_LINK, ActorKind.PATIENT_TEXT})

LABELS = {
    ActorKind.PATIENT_LINK: "patient via link",
    ActorKind.PATIENT_TEXT: "patient via text",
    ActorKind.SYSTEM: "system",
}


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    staff_id: int | None = None
    staff_name: str = ""
    ip_address: str = ""
    user_agent: str = ""

    @property
    def is_staff(self) -> bool:
        return self.kind in STAFF_KINDS

    @property
    def label(self) -> str:
        """How the audit log names this actor: the staff member, or the patient's channel."""
        if self.is_staff:
            if self.staff_name:
                return self.staff_name
            if self.staff_id is not None:
                return f"staff #{self.staff_id}"
            return f"{self.kind.value} (no account named)"
        return LABELS[self.kind]

    @classmethod
    def staff(cls, user, *, ip_address: str = "", user_agent: str = "") -> Actor:
        """A signed-in staff member acting in the role their account has."""
        return cls(
            ActorKind(str(user.role)),
            staff_id=user.id,
            staff_name=getattr(user, "name", "") or getattr(user, "email", ""),
            ip_address=ip_address or "",
            user_agent=(user_agent or "")[:300],
        )


SYSTEM = Actor(ActorKind.SYSTEM)
