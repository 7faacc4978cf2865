"""The Actor of the current request, for services to record who acted and from where."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from clinic.actors import PATIENT_KINDS, Actor, ActorKind

MAX_AGENT_CHARS = 300


def staff_actor() -> Actor:
    """The signed-in staff member, in their account's role, at this request's address."""
    if not current_user.is_authenticated:
        raise RuntimeError("staff_actor() needs a signed-in staff member")
    return Actor.staff(
        current_user._get_current_object(),
        ip_address=request.remote_addr or "",
        user_agent=request.user_agent.string,
    )


def patient_actor(kind: ActorKind | str = ActorKind.PATIENT_LINK) -> Actor:
    """The patient, acting through their private link or by a text reply.

    A text reply reaches us as Twilio's webhook: its address and user agent are Twilio's, not
    the patient's, so they are left out rather than recorded as if they were.
    """
    kind = ActorKind(kind)
    if kind not in PATIENT_KINDS:
        raise ValueError(f"{kind} is not a patient's channel")
    if kind is ActorKind.PATIENT_TEXT:
        return Actor(kind)
    return Actor(
        kind,
        ip_address=request.remote_addr or "",
        user_agent=request.user_agent.string[:MAX_AGENT_CHARS],
    )
