"""The printed aftercare sheet's words: one source for the paper copy and the email.

Plain words, short sentences, facts from the clinic's aftercare timeline: what is normal, what
to avoid and for how long, and which signs mean calling the clinic today or the emergency
number now. Pure: the caller passes the clinic's details.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Avoid:
    period: str
    things: tuple[str, ...]


@dataclass(frozen=True)
class AftercareSheet:
    clinic: str
    clinic_phone: str
    emergency_number: str
    normal: tuple[str, ...]
    avoid: tuple[Avoid, ...]
    call_clinic: tuple[str, ...]
    call_emergency: tuple[str, ...]
    later: tuple[str, ...]


NORMAL = (
    "Redness, warmth and a tight feeling on the treated skin are normal today.",
    "Some pinpoint spots of blood or clear fluid in the first hours are normal.",
    "Redness and any swelling usually fade over 2 to 3 days.",
    "Mild dryness or flaking for up to a week is normal.",
)

AVOID = (
    Avoid(
        "For the first 24 hours",
        (
            "Do not wash the treated area. After 24 hours, wash gently with a mild shampoo and "
            "lukewarm water, and pat dry.",
            "No exercise or anything that makes you sweat.",
            "Keep out of the sun: wear a loose hat outdoors.",
            "No swimming.",
            "No products on the scalp (lotions, serums, styling products, hair dye), unless "
            "the clinic told you otherwise.",
            "Do not touch, scratch or pick the treated skin.",
        ),
    ),
    Avoid(
        "From 48 to 72 hours",
        (
            "No heavy sweating: hard exercise, hot yoga.",
            "No sauna, steam room or hot tub.",
            "No swimming.",
            "No strong sun.",
        ),
    ),
)

CALL_CLINIC = (
    "pain that gets worse instead of better",
    "pus, or yellow or cloudy fluid",
    "swelling that grows",
    "redness that spreads or gets worse after 2 days",
    "a temperature of 38 °C (100.4 °F) or more",
)

CALL_EMERGENCY = (
    "you feel very unwell",
    "you have trouble breathing",
    "your face, lips, tongue or throat swell",
)

LATER = (
    "Lasting bumps, dark patches or irritation after a week: call the clinic.",
    "Restart any scalp treatments after 24 hours unless the clinic told you otherwise.",
)


def aftercare_sheet(*, clinic: str, clinic_phone: str, emergency_number: str) -> AftercareSheet:
    return AftercareSheet(
        clinic=clinic,
        clinic_phone=clinic_phone,
        emergency_number=emergency_number,
        normal=NORMAL,
        avoid=AVOID,
        call_clinic=CALL_CLINIC,
        call_emergency=CALL_EMERGENCY,
        later=LATER,
    )
