"""The screening rules as pure functions: which questions are asked, and what each answer does."""

from datetime import date

import pytest

from clinic.consent import texts as consent_texts
from clinic.screening import questions
from clinic.screening.questions import UNDER_AGE, Outcome
from clinic.screening.rules import ServiceProfile, age_on, evaluate, questions_for

CONSULTATION = ServiceProfile(needles=False)
MICRONEEDLING = ServiceProfile(needles=True, ingredients=("numbing", "minoxidil"))
PRP = ServiceProfile(needles=True, ingredients=("numbing", "prp"))
STEROID = ServiceProfile(needles=True, ingredients=("numbing", "steroid"))
SERVICES = {
    "consultation": CONSULTATION,
    "microneedling": MICRONEEDLING,
    "microneedling-prp": PRP,
    "microneedling-steroid": STEROID,
}
ADULT = date(1985, 6, 1)
VISIT = date(2026, 3, 3)
V1 = questions.VERSION_1


def expected_services(question) -> set[str]:
    if question.applies_to == ("needling",):
        return {"microneedling", "microneedling-prp", "microneedling-steroid"}
    return {
        slug
        for slug, profile in SERVICES.items()
        if profile.needles and set(question.applies_to) & set(profile.ingredients)
    }


def all_no(service):
    return {q.key: False for q in questions_for(V1, service)}


@pytest.mark.parametrize("question", V1.questions, ids=lambda q: q.key)
@pytest.mark.parametrize("slug", SERVICES)
def test_each_question_acts_on_exactly_the_services_it_applies_to(question, slug):
    service = SERVICES[slug]
    asked = {q.key for q in questions_for(V1, service)}
    answers = all_no(service) | {question.key: True}
    result = evaluate(V1, service, answers, date_of_birth=ADULT, on=VISIT)
    if slug in expected_services(question):
        assert question.key in asked
        assert result.outcome is question.outcome
        assert question.key in result.flagged
    else:
        # Not asked of a needling service it does not apply to; a consultation asks the general
        # questions for the record but never stops or holds on them.
        if service.needles:
            assert question.key not in asked
        assert result.outcome is Outcome.CLEAR


def test_prp_questions_are_asked_only_for_the_prp_service():
    for slug, service in SERVICES.items():
        keys = {q.key for q in questions_for(V1, service)}
        assert ("prp_blood" in keys) == (slug == "microneedling-prp")
        assert ("prp_relative" in keys) == (slug == "microneedling-prp")


def test_all_no_is_clear_for_every_service():
    for service in SERVICES.values():
        assert evaluate(V1, service, all_no(service), date_of_birth=ADULT, on=VISIT).outcome is (
            Outcome.CLEAR
        )


def test_the_most_serious_outcome_wins():
    answers = all_no(PRP) | {"anticoagulant": True, "active_infection": True}
    result = evaluate(V1, PRP, answers, date_of_birth=ADULT, on=VISIT)
    assert result.outcome is Outcome.DEFER
    assert result.review == ("anticoagulant",) and result.deferring == ("active_infection",)
    answers |= {"keloid": True}
    assert evaluate(V1, PRP, answers, date_of_birth=ADULT, on=VISIT).outcome is Outcome.BLOCK


def test_under_18_on_the_visit_day_blocks_needling_but_not_a_consultation():
    seventeen = date(2008, 3, 4)  # turns 18 the day after the visit
    result = evaluate(V1, MICRONEEDLING, all_no(MICRONEEDLING), date_of_birth=seventeen, on=VISIT)
    assert result.outcome is Outcome.BLOCK and result.blocking == (UNDER_AGE,)
    on_birthday = evaluate(
        V1, MICRONEEDLING, all_no(MICRONEEDLING), date_of_birth=seventeen, on=date(2026, 3, 4)
    )
    assert on_birthday.outcome is Outcome.CLEAR
    consult = evaluate(V1, CONSULTATION, all_no(CONSULTATION), date_of_birth=seventeen, on=VISIT)
    assert consult.outcome is Outcome.CLEAR


def test_missing_and_non_boolean_answers_are_reported():
    answers = all_no(STEROID)
    del answers["product_allergy"]
    answers["keloid"] = "yes"
    result = evaluate(V1, STEROID, answers, date_of_birth=ADULT, on=VISIT)
    assert set(result.missing) == {"product_allergy", "keloid"}


def test_age_counts_birthdays_including_leap_days():
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18


def test_every_question_key_is_unique_and_outcomes_are_known():
    keys = [q.key for q in V1.questions]
    assert len(keys) == len(set(keys))
    assert UNDER_AGE not in keys


def test_published_questionnaires_are_never_edited_in_place():
    assert {n: q.fingerprint() for n, q in questions.VERSIONS.items()} == {
        1: "ca548ab4be2cf62df2b40c535e02635f146196b6937e28503776fe90cc354b36",
    }


def test_the_built_in_consent_text_is_never_edited_in_place():
    # Signatures of version 1 point to this text by its hash; later versions live in the
    # database, published from the settings.
    assert consent_texts.BUILT_IN.version == 1
    assert consent_texts.BUILT_IN.sha256 == (
        "452efe39a6166f2d785fe60ecd7e8553fed8e9fe534f6c0201b90be62a6909c3"
    )


def test_texts_for_patients_avoid_medical_advice_to_stop_medicines():
    blood_thinner = V1.question("anticoagulant").text
    assert "keep taking" in blood_thinner
