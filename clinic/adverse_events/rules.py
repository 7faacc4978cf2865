"""The vocabulary of an adverse event report and the rules over it. Pure: no Flask, no database.

The categories follow what the regulators' forms ask (MHRA Yellow Card in the UK, FDA MedWatch
form 3500 in the US): seriousness is a set of criteria, not a degree of severity, and an event
can be severe without being serious (a bad but harmless rash) or serious without being severe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

EVENT_TYPES = {
    "infection": "Infection",
    "allergic_reaction": "Allergic reaction",
    "prolonged_bleeding": "Prolonged bleeding",
    "scarring_pigment": "Scarring or pigment change",
    "fainting": "Fainting",
    "other": "Other",
}
SEVERITIES = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
# The regulators' seriousness criteria: any one makes the event serious.
SERIOUS_CRITERIA = {
    "death": "Resulted in death",
    "life_threatening": "Life-threatening",
    "hospitalisation": "Hospitalisation (initial or prolonged)",
    "disability": "Disability or permanent damage",
    "intervention": "Needed treatment to prevent permanent harm",
    "other_important": "Other medically important event",
}
OUTCOMES = {
    "recovered": "Recovered",
    "recovering": "Recovering",
    "not_recovered": "Not recovered",
    "recovered_with_effects": "Recovered with lasting effects",
    "fatal": "Fatal",
    "unknown": "Unknown",
}
# Outcomes that still need following up: the list's "open" filter.
OPEN_OUTCOMES = ("recovering", "not_recovered", "unknown")
REGULATORS = {"mhra": "MHRA Yellow Card", "fda": "FDA MedWatch"}
SEXES = {"female": "Female", "male": "Male"}

# Cells a spreadsheet would read as a formula (CSV injection): = + - @, and tab or carriage
# return, which some spreadsheets strip before looking.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Facts:
    """What the consistency rules look at, as plain values."""

    event_type: str
    other_type: str
    serious_criteria: tuple[str, ...]
    outcome: str
    regulator: str
    reported_on: date | None
    regulator_reference: str
    onset_day: date


def consistency_errors(facts: Facts) -> dict[str, list[str]]:
    """Field messages for answers that contradict each other; empty when they agree."""
    errors: dict[str, list[str]] = {}
    if facts.event_type == "other" and not facts.other_type.strip():
        errors["other_type"] = ["Say in a few words what kind of event it was."]
    died = "death" in facts.serious_criteria
    if facts.outcome == "fatal" and not died:
        errors["serious_criteria"] = ["A fatal outcome is serious: tick 'Resulted in death'."]
    elif died and facts.outcome != "fatal":
        errors["outcome"] = ["'Resulted in death' is ticked: the outcome is fatal."]
    if facts.regulator:
        if facts.reported_on is None:
            errors["reported_on"] = ["Give the date the report was sent."]
        elif facts.reported_on < facts.onset_day:
            errors["reported_on"] = ["The report cannot be sent before the event began."]
    else:
        if facts.reported_on is not None:
            errors["regulator"] = ["Choose which regulator the report went to."]
        elif facts.regulator_reference.strip():
            errors["regulator"] = ["Choose which regulator gave this reference."]
    return errors


def is_serious(criteria: Iterable[str]) -> bool:
    return any(criterion in SERIOUS_CRITERIA for criterion in criteria)


def initials(full_name: str) -> str:
    """ "Alex de Morgan" -> "A.D.M.": what both report forms ask instead of a name."""
    letters = [part[0].upper() for part in full_name.replace("-", " ").split() if part[0].isalpha()]
    return ".".join(letters) + ("." if letters else "")


def age_on(born: date, day: date) -> int:
    """Whole years of age on ``day``."""
    years = day.year - born.year
    if (day.month, day.day) < (born.month, born.day):
        years -= 1
    return years


def csv_safe(value) -> str:
    """A cell as text that no spreadsheet runs as a formula: a leading quote defuses it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
