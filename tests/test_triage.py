"""Triage of patients' replies: pure rules over the words, no app, no database."""

from __future__ import annotations

import pytest

from clinic.sms import keywords
from clinic.sms import triage_vocabulary as vocab
from clinic.sms.triage import (
    Intent,
    Level,
    canonical,
    classify,
    edit_distance,
    tokens,
    triage,
    typo_allowance,
)
from tests.triage_corpus import CORPUS


def test_the_corpus_is_large_and_covers_every_intent():
    assert len(CORPUS) >= 150
    assert {intent for _body, intent in CORPUS} == {i.value for i in Intent}
    assert len({body for body, _intent in CORPUS}) == len(CORPUS)  # no case twice


@pytest.mark.parametrize(("body", "intent"), CORPUS, ids=[body[:40] for body, _ in CORPUS])
def test_every_corpus_reply_gets_its_intent(body, intent):
    assert triage(body).intent == intent


def test_every_sign_in_the_vocabulary_is_reachable_from_the_corpus():
    found = {sign for body, _ in CORPUS for sign in triage(body).signs}
    wanted = {sign.name for sign in vocab.SIGNS}
    # Dizziness and plain shivering are there for safety; the rest each appear in the corpus.
    assert wanted - found <= {"dizziness", "shivering"}


# --- symptoms beat every other word ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "level"),
    [
        ("stop, it's bleeding and hot", Level.URGENT),
        ("stop texting me, I have pus and a fever", Level.URGENT),
        ("STOP. my lips are swelling", Level.EMERGENCY),
        ("unsubscribe. also my head is oozing", Level.URGENT),
    ],
)
def test_symptoms_with_an_opt_out_keep_the_level_and_flag_the_opt_out(body, level):
    result = triage(body)
    assert (result.level, result.opt_out, result.symptoms) == (level, True, True)
    assert result.intent.value == level.name.lower()


@pytest.mark.parametrize(
    "body",
    [
        "It won't stop bleeding, please text me back",
        "can't stop the bleeding",
        "the pain won't stop",
        "its still bleeding",
    ],
)
def test_stop_inside_a_symptom_is_not_an_opt_out(body):
    result = triage(body)
    assert result.intent is Intent.URGENT and result.opt_out is False


def test_the_result_lists_the_signs_most_serious_first():
    result = triage("heart racing, there's pus and a fever of 39")
    assert result.level is Level.EMERGENCY
    assert result.signs[0] == "racing or pounding heart"
    assert {"pus, discharge or crusting", "fever or chills"} <= set(result.signs)


def test_a_calm_reply_has_no_level_and_no_signs():
    result = triage("hair looks great")
    assert (result.intent, result.level, result.signs, result.opt_out) == (
        Intent.OTHER,
        Level.NONE,
        (),
        False,
    )


# --- how people type --------------------------------------------------------------------------


def test_contractions_and_text_speak_are_spelled_out():
    assert tokens("cant breathe, u ok?") == ["can", "not", "breathe", ",", "you", "ok", "."]
    assert tokens("Its STILL bleeding!!") == ["it", "is", "still", "bleeding", "."]
    assert tokens("I’m ok") == ["i", "am", "ok"]  # a curly apostrophe


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("got a fevor", Intent.URGENT),
        ("its still bleading", Intent.URGENT),
        ("think its infectd", Intent.URGENT),
        ("swolen lips", Intent.EMERGENCY),
        ("cant breath", Intent.EMERGENCY),
        ("vomitting again", Intent.EMERGENCY),
        ("pustlues", Intent.URGENT),
    ],
)
def test_small_slips_in_longer_words_are_forgiven(body, intent):
    assert classify(body) is intent
    assert canonical("fevor") == canonical("fever")
    assert canonical("bleading") == canonical("bleeding") == canonical("bleed")


@pytest.mark.parametrize("word", ["bus", "bed", "pis", "rad", "fewer", "painting", "sweating"])
def test_short_words_and_real_look_alikes_are_never_read_as_a_sign(word):
    assert canonical(word) not in {canonical(w) for w in ("pus", "red", "fever", "faint", "swell")}


def test_the_typo_allowance_grows_with_the_word():
    assert [typo_allowance(w) for w in ("pus", "rash", "fever", "swollen", "bleeding")] == [
        0,
        0,
        1,
        1,
        2,
    ]
    assert edit_distance("fevor", "fever", 1) == 1
    assert edit_distance("bleading", "bleeding", 2) == 1
    assert edit_distance("fveer", "fever", 1) == 1  # two letters swapped count once
    assert edit_distance("breathe", "bleed", 1) == 2  # cut short past the limit


@pytest.mark.parametrize(
    "body", ["swelled up lips", "lips swelling", "my lip is swollen", "lips have puffed up"]
)
def test_plurals_and_tenses_in_any_order(body):
    assert classify(body) is Intent.EMERGENCY


# --- temperatures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["39.2 this morning", "temp 101", "38c", "100.8F", "38 degrees", "temp of 38", "39°C"]
)
def test_a_temperature_of_38_c_or_100_4_f_is_urgent(body):
    assert classify(body) is Intent.URGENT


@pytest.mark.parametrize(
    "body",
    [
        "temp 37.5",
        "99.8F",
        "see you at 10:30",
        "at 10.30",
        "2 days",
        "I'm 38",
        "running 40 mins late",
        "£38.50",
        "room 101",
        "booked on 12.03",
    ],
)
def test_numbers_that_are_not_a_fever_raise_nothing(body):
    assert triage(body).level is Level.NONE


# --- negation and questions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("no pus, no fever", Intent.OTHER),
        ("no fever but lots of pus", Intent.URGENT),
        ("not bleeding any more", Intent.OTHER),
        ("can't stop the bleeding", Intent.URGENT),
        ("hasn't stopped bleeding", Intent.URGENT),
        ("not sure if it's infected", Intent.URGENT),
        ("doesn't look infected", Intent.OTHER),
        ("my lips are not swollen", Intent.OTHER),
        ("oh no my lips are swelling", Intent.EMERGENCY),
        ("no swelling but my chest is tight", Intent.EMERGENCY),
        ("what if it gets infected?", Intent.OTHER),
    ],
)
def test_negation_calms_only_when_every_mention_is_negated(body, intent):
    assert classify(body) is intent


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("bit red but fine", Intent.OTHER),
        ("red", Intent.OTHER),
        ("really red", Intent.URGENT),
        ("bit red but spreading", Intent.URGENT),
        ("red and swollen", Intent.URGENT),
        ("bit red and sore but fine", Intent.OTHER),
        ("it's so hot today", Intent.OTHER),
        ("burning", Intent.OTHER),
        ("still burning 2 days later", Intent.URGENT),
    ],
)
def test_mild_signs_count_only_when_they_spread_worsen_or_last(body, intent):
    assert classify(body) is intent


# --- keyword replies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("YES", Intent.OPT_IN),
        ("yes see you then", Intent.CONFIRM),
        ("C", Intent.CONFIRM),
        ("can you confirm my appointment?", Intent.OTHER),
        ("cancel", Intent.OPT_OUT),
        ("cancel my appointment", Intent.OTHER),
        ("HELP", Intent.HELP),
        ("help, my face is swelling", Intent.EMERGENCY),
    ],
)
def test_keywords_follow_twilio_and_never_hide_a_symptom(body, intent):
    assert classify(body) is intent


def test_the_old_keywords_module_still_answers_for_callers():
    assert keywords.classify("there's pus") is keywords.Intent.URGENT
    assert keywords.Intent is Intent
