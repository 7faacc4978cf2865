"""The contraindication questionnaire, as versioned data.

A published version is never edited in place: answers given to it must keep meaning what they
meant. To change a question, add a new version below and point CURRENT_VERSION at it; the test
suite pins each published version's fingerprint so an in-place edit fails loudly.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import date


class Outcome(enum.StrEnum):
    """Ordered from harmless to final; a screening's outcome is the most serious one triggered."""

    CLEAR = "clear"
    REVIEW = "review"  # booked, held as needs_review until a practitioner clears it
    DEFER = "defer"  # cannot be booked until it clears; asked again at check-in
    BLOCK = "block"  # cannot be booked online; the patient is asked to call

    @property
    def rank(self) -> int:
        return list(Outcome).index(self)


# What a question is limited to: "needling" means every service that needles; the others are
# ingredients a service uses (see clinic.catalog.models.INGREDIENTS).
NEEDLING = "needling"


@dataclass(frozen=True)
class Question:
    key: str
    outcome: Outcome
    applies_to: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Questionnaire:
    version: int
    effective: date
    questions: tuple[Question, ...]
    # Patients under this age cannot book needling online (policy, common practice).
    minimum_age: int = 18

    def fingerprint(self) -> str:
        payload = [self.version, self.minimum_age] + [
            [q.key, q.outcome.value, list(q.applies_to), q.text] for q in self.questions
        ]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()

    def question(self, key: str) -> Question:
        for question in self.questions:
            if question.key == key:
                return question
        raise KeyError(key)


B, D, R = Outcome.BLOCK, Outcome.DEFER, Outcome.REVIEW
ALL = (NEEDLING,)

VERSION_1 = Questionnaire(
    version=1,
    effective=date(2026, 1, 1),
    questions=(
        Question(
            "active_infection",
            D,
            ALL,
            "Do you have a sore, spot with pus, boil, cold sore, open cut or rash on your "
            "scalp right now?",
        ),
        Question(
            "numbing_allergy",
            B,
            ("numbing",),
            "Have you ever reacted badly to a numbing cream, or to a local anaesthetic at "
            "the dentist or elsewhere?",
        ),
        Question(
            "methaemoglobinaemia",
            B,
            ("numbing",),
            "Has a doctor ever told you that you have methaemoglobinaemia?",
        ),
        Question(
            "g6pd_deficiency",
            R,
            ("numbing",),
            "Has a doctor ever told you that you have G6PD deficiency?",
        ),
        Question(
            "pregnancy", B, ALL, "Are you pregnant, trying to become pregnant, or breastfeeding?"
        ),
        Question(
            "bleeding_disorder",
            B,
            ALL,
            "Do you have a bleeding or clotting disorder, or have you been told your "
            "platelets are low?",
        ),
        Question(
            "chemo_radio_now",
            B,
            ALL,
            "Are you having, or about to start, chemotherapy or radiotherapy?",
        ),
        Question(
            "keloid",
            B,
            ALL,
            "Have you ever had thick, raised scars that grew beyond the original wound?",
        ),
        Question(
            "changing_lesion",
            B,
            ALL,
            "Is there a mole or growth on your scalp that is changing, bleeding, or being "
            "checked by a doctor?",
        ),
        Question(
            "anticoagulant",
            R,
            ALL,
            "Do you take a blood thinner, such as warfarin, apixaban, rivaroxaban, "
            "clopidogrel or a daily aspirin? (Please keep taking it as prescribed.)",
        ),
        Question(
            "isotretinoin_6m",
            R,
            ALL,
            "Have you taken isotretinoin (for acne) in the last 6 months?",
        ),
        Question(
            "scalp_dermatosis",
            R,
            ALL,
            "Do you have psoriasis, eczema, seborrhoeic dermatitis or folliculitis on your "
            "scalp at the moment?",
        ),
        Question(
            "diabetes_uncontrolled",
            R,
            ALL,
            "Do you have diabetes that your doctor says is not well controlled?",
        ),
        Question(
            "immunosuppressed",
            R,
            ALL,
            "Do you take steroid tablets or medicines that suppress the immune system, or "
            "have you had a transplant?",
        ),
        Question(
            "autoimmune_other",
            R,
            ALL,
            "Do you have lupus, scleroderma or another autoimmune skin condition? "
            "(Alopecia areata does not count here.)",
        ),
        Question(
            "cold_sores",
            R,
            ALL,
            "Do you get cold sores or have you had shingles on your head or face?",
        ),
        Question("head_radiotherapy", R, ALL, "Have you ever had radiotherapy to your head?"),
        Question("metal_allergy", R, ALL, "Are you allergic to nickel or to metal jewellery?"),
        Question(
            "product_allergy",
            R,
            ("minoxidil", "steroid"),
            "Are you allergic to minoxidil, propylene glycol, steroids or any skin product?",
        ),
        Question(
            "cardiac",
            R,
            ("minoxidil", "numbing"),
            "Do you have heart disease, an irregular heartbeat or low blood pressure, or "
            "take amiodarone or sotalol?",
        ),
        Question(
            "recent_scalp_procedure",
            D,
            ALL,
            "In the last 4 weeks, have you had sunburn, a peel, laser treatment or a hair "
            "transplant on your scalp?",
        ),
        Question(
            "prp_blood",
            B,
            ("prp",),
            "Do you have a platelet disorder, or a fever or infection right now?",
        ),
        Question(
            "prp_relative",
            R,
            ("prp",),
            "In the last 48 hours have you taken ibuprofen-type painkillers, in the last 2 "
            "weeks steroid tablets, or in the last month a steroid injection in the scalp; "
            "or do you smoke?",
        ),
    ),
)

VERSIONS: dict[int, Questionnaire] = {1: VERSION_1}
CURRENT_VERSION = 1

# The key used when the date of birth shows the patient is too young; it is derived, never asked.
UNDER_AGE = "under_18"


def current() -> Questionnaire:
    return VERSIONS[CURRENT_VERSION]


def version(number: int) -> Questionnaire:
    try:
        return VERSIONS[number]
    except KeyError as exc:
        raise LookupError(f"no questionnaire version {number}") from exc
