"""What a patient's reply means, and how urgently a clinician must see it. Pure: no Flask, no db.

``triage(body)`` answers with the intent (EMERGENCY, URGENT, OPT_OUT, OPT_IN, HELP, CONFIRM,
OTHER), the symptom level, the signs found and whether the reply also asks to stop texts.

Symptoms beat every other word (section 5 of the domain reference): "stop, it's bleeding" is
URGENT with ``opt_out=True``, so the inbound handler raises the alert and sends the safety reply
before it applies the opt-out. Symptom words err on the side of an alert: a needless alert costs a
phone call, a missed one can cost a patient. A mention counts unless it is negated ("no pus") or
supposed ("what if it gets infected?"); the reply is calm only when every mention is.

The words are data (clinic/sms/triage_vocabulary.py); this module only reads them: it
normalises how people type (case, punctuation, missing apostrophes, text-speak, plurals and
tenses, small typos in longer words) and reads temperatures written as numbers.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass

from clinic.sms import triage_vocabulary as vocab


class Intent(enum.StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"
    OTHER = "other"


class Level(enum.IntEnum):
    NONE = 0
    URGENT = 1
    EMERGENCY = 2


@dataclass(frozen=True)
class Triage:
    intent: Intent
    level: Level
    signs: tuple[str, ...]  # the signs found, most serious first
    opt_out: bool  # the reply also asks for no more texts

    @property
    def symptoms(self) -> bool:
        return self.level is not Level.NONE


_LEVELS = {vocab.EMERGENCY: Level.EMERGENCY, vocab.URGENT: Level.URGENT}

# Sentence ends and clause breaks are kept as tokens: negation and nearness stop at them.
SENTENCE = "."
CLAUSE = ","
_TOKEN = re.compile(r"[£$€]|\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|[.!?;\n]+|[,:()/\-]+")
_CLAUSE_WORDS = frozenset({"but", "although", "though", "however"})
_COUNT = re.compile(r"\bx\s?(\d{1,2})\b|\b(\d{1,2})\s?x\b")


# --- normalising --------------------------------------------------------------------------------


def tokens(body: str) -> list[str]:
    """Lower-cased words, numbers and boundary marks, with contractions and text-speak
    spelled out ("cant" -> "can", "not"; "u" -> "you")."""
    text = (body or "").casefold()
    for symbol, words in vocab.EMOJI.items():
        text = text.replace(symbol, words)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = text.replace("&", " and ").replace("°", " deg ").replace("º", " deg ")
    text = _COUNT.sub(lambda m: f" {m.group(1) or m.group(2)} times ", text)  # x3, 3x
    out: list[str] = []
    for raw in _TOKEN.findall(text):
        if raw[0] in ".!?;\n":
            out.append(SENTENCE)
        elif raw[0] in ",:()/-" or raw in _CLAUSE_WORDS:
            out.append(CLAUSE)
        else:
            word = raw if raw in vocab.REWRITES else raw.removesuffix("'s").replace("'", "")
            out.extend(vocab.REWRITES.get(word, word).split())
    return out


def stem(word: str) -> str:
    """A crude stem that is enough for plurals and tenses: swelled/swelling/swells -> swell."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("eed"):
            base = word[: -len(suffix)]
            if len(base) >= 2 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # vomitting -> vomit, throbbing -> throb
            return base.removesuffix("e")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[-3] in "sxz" or word.endswith(("ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1].removesuffix("e")
    return word.removesuffix("e")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), cut short past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def typo_allowance(word: str) -> int:
    """How many slips a word may carry: none under 5 letters (pus/bus, red/bed), one up to 7,
    two from 8."""
    if len(word) < 5:
        return 0
    return 1 if len(word) <= 7 else 2


@functools.cache
def _vocabulary() -> tuple[dict[str, list[tuple[str, ...]]], frozenset[str], dict[str, set[str]]]:
    """Concept -> phrases as stem tuples; every known word; stems by first letter for typos."""
    phrases = {
        name: [tuple(_vocabulary_word(w) for w in phrase.split()) for phrase in entries]
        for name, entries in vocab.CONCEPTS.items()
    }
    known = {
        w.lstrip("=") for entries in vocab.CONCEPTS.values() for p in entries for w in p.split()
    }
    known |= set(vocab.REWRITES.values()) | vocab.NEVER_A_TYPO | vocab.FILLERS
    by_letter: dict[str, set[str]] = {}
    for entries in vocab.CONCEPTS.values():
        for phrase in entries:
            for word in phrase.split():
                if len(word) >= 5 and not word.startswith("="):
                    by_letter.setdefault(word[0], set()).add(word)
    return phrases, frozenset(known), by_letter


def _vocabulary_word(word: str) -> str:
    """A vocabulary word is matched by its stem; "=boils" matches that exact word only
    (so "boiling" in here is not a boil)."""
    return word if word.startswith("=") else stem(word)


@functools.lru_cache(maxsize=4096)
def canonical(word: str) -> str:
    """The stem of the sign word this word is a typo of ("bleading" -> bleed), else its stem.
    A word we know as itself is never treated as a typo ("fewer" is not "fever")."""
    _phrases, known, by_letter = _vocabulary()
    allowance = typo_allowance(word)
    if allowance == 0 or word in known or not word.isalpha():
        return stem(word)
    best, best_distance = None, allowance + 1
    for candidate in sorted(by_letter.get(word[0], ())):
        limit = min(allowance, typo_allowance(candidate))
        distance = edit_distance(word, candidate, limit)
        if distance <= limit and distance < best_distance:
            best, best_distance = candidate, distance
    return stem(best) if best else stem(word)


# --- finding mentions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    concept: str
    start: int
    end: int  # exclusive


@functools.cache
def _phrases_by_first_word() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Every phrase, filed under its first word's stem ("=word" for an exact word)."""
    index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for concept, options in _vocabulary()[0].items():
        for option in options:
            index.setdefault(option[0], []).append((concept, option))
    return index


def _mentions(words: list[str]) -> list[Mention]:
    index = _phrases_by_first_word()
    stems = [w if w in (SENTENCE, CLAUSE) else canonical(w) for w in words]
    found = []
    for start, (word, first) in enumerate(zip(words, stems, strict=True)):
        for concept, option in index.get(first, []) + index.get("=" + word, []):
            size = len(option)
            if all(
                start + k < len(stems)
                and (stems[start + k] == part or (part[0] == "=" and words[start + k] == part[1:]))
                for k, part in enumerate(option)
            ):
                found.append(Mention(concept, start, start + size))
    found.extend(_temperatures(words))
    return found


_TEMP_WORDS = frozenset({"temp", "temperature", "fever", "feverish", "thermometer", "reading"})
_DEGREE_WORDS = frozenset({"deg", "degree", "degrees"})
_CELSIUS = frozenset({"c", "celsius", "centigrade"})
_FAHRENHEIT = frozenset({"f", "fahrenheit"})
_NOT_TEMP_UNITS = frozenset(
    [
        "minute",
        "minutes",
        "hour",
        "hours",
        "h",
        "day",
        "days",
        "week",
        "weeks",
        "wk",
        "month",
        "months",
        "year",
        "years",
        "yrs",
        "y",
        "am",
        "pm",
        "percent",
        "kg",
        "mm",
        "cm",
        "ml",
        "mg",
        "pound",
        "pounds",
        "quid",
        "p",
        "k",
        "th",
        "st",
        "nd",
        "rd",
        "times",
        "x",
        "people",
        "euros",
        "dollars",
        "miles",
        "km",
        "mph",
        "oclock",
        "o",
        "clock",
    ]
)


def _temperatures(words: list[str]) -> list[Mention]:
    """Readings of 38 °C / 100.4 °F or more. A bare number counts when it has a decimal
    ("39.2 this morning"); a whole number needs a unit, "degrees" or a word such as temp."""
    found = []
    for i, word in enumerate(words):
        if not word[0].isdigit():
            continue
        value = float(word)
        after = words[i + 1 : i + 3]
        before = words[i - 1] if i else ""
        if before in ("£", "$", "€") or (after and after[0] in _NOT_TEMP_UNITS):
            continue
        end = i + 1
        unit = None
        if after and after[0] in _DEGREE_WORDS:
            unit, end = "deg", end + 1
            after = after[1:]
        if after and (after[0] in _CELSIUS or after[0] in _FAHRENHEIT):
            unit, end = ("c" if after[0] in _CELSIUS else "f"), end + 1
        nearby = set(words[max(0, i - 4) : i + 5]) & _TEMP_WORDS
        if unit is None and not nearby and not ("." in word and len(word.split(".")[1]) == 1):
            continue
        celsius = 38.0 <= value <= 45.0 and unit != "f"
        fahrenheit = 100.4 <= value <= 110.0 and unit != "c"
        if celsius or fahrenheit:
            found.append(Mention("fever_reading", i, end))
    return found


# --- judging mentions ---------------------------------------------------------------------------


def _sentence_of(words: list[str], position: int) -> tuple[int, int]:
    start = position
    while start > 0 and words[start - 1] != SENTENCE:
        start -= 1
    end = position
    while end < len(words) and words[end] != SENTENCE:
        end += 1
    return start, end


def _negated(words: list[str], start: int, end: int, inside: set[int]) -> bool:
    """A negator a few words before the mention (same clause), or inside a two-part mention."""
    position, seen = start - 1, 0
    while (
        position >= 0
        and seen < vocab.NEGATION_SCOPE
        and words[position]
        not in (
            SENTENCE,
            CLAUSE,
        )
    ):
        if _negates(words, position):
            return True
        position, seen = position - 1, seen + 1
    return any(_negates(words, p) for p in range(start, end) if p not in inside)


def _negates(words: list[str], position: int) -> bool:
    if words[position] not in vocab.NEGATORS:
        return False
    after = words[position + 1] if position + 1 < len(words) else ""
    before = words[position - 1] if position else ""
    return after not in vocab.NOT_A_NEGATION_BEFORE and before not in vocab.NOT_A_NEGATION_AFTER


def _supposed(words: list[str], start: int) -> bool:
    """'what if it gets infected?', 'signs of infection': a question about a sign, not one."""
    first = max(0, start - vocab.HYPOTHETICAL_SCOPE)
    for position in range(start - 1, first - 1, -1):
        word = words[position]
        if word == SENTENCE:
            return False
        if word in vocab.HYPOTHETICAL:
            before = words[position - 1] if position else ""
            return before not in vocab.NOT_HYPOTHETICAL_AFTER
        for phrase in vocab.HYPOTHETICAL_PHRASES:
            parts = phrase.split()
            if words[position : position + len(parts)] == parts:
                return True
    return False


def _near(mentions, concepts, words, start, end, window, sentence) -> list[Mention]:
    low, high = sentence
    return [
        m
        for m in mentions
        if m.concept in concepts
        and m.start >= low
        and m.end <= high
        and m.start < end + window
        and m.end > start - window
    ]


def _candidates(sign: vocab.Sign, mentions: list[Mention], words: list[str]):
    """(start, end, positions of the sign's own words) for every way the sign is mentioned."""
    for mention in mentions:
        if mention.concept in sign.alone:
            yield mention.start, mention.end, set(range(mention.start, mention.end))
    for group in sign.together:
        firsts = [m for m in mentions if m.concept == group[0]]
        for first in firsts:
            sentence = (0, len(words)) if sign.whole_message else _sentence_of(words, first.start)
            chosen = [first]
            for concept in group[1:]:
                options = [
                    m
                    for m in _near(
                        mentions,
                        {concept},
                        words,
                        first.start,
                        first.end,
                        sign.window,
                        sentence,
                    )
                    if not any(_overlap(m, c) for c in chosen)
                ]
                if not options:
                    break
                chosen.append(min(options, key=lambda m: abs(m.start - first.start)))
            else:
                start = min(m.start for m in chosen)
                end = max(m.end for m in chosen)
                inside = {p for m in chosen for p in range(m.start, m.end)}
                yield start, end, inside


def _overlap(a: Mention, b: Mention) -> bool:
    return a.start < b.end and b.start < a.end


def _found(sign: vocab.Sign, mentions: list[Mention], words: list[str]) -> bool:
    for start, end, inside in _candidates(sign, mentions, words):
        sentence = _sentence_of(words, start)

        def near(
            concepts, window=sign.window, start=start, end=end, sentence=sentence, inside=inside
        ):
            return [
                m
                for m in _near(mentions, set(concepts), words, start, end, window, sentence)
                if not set(range(m.start, m.end)) <= inside
            ]

        if _negated(words, start, end, inside) or _supposed(words, start):
            continue
        following = vocab.NOT_FOLLOWED_BY.get(_concept_at(mentions, start, sign))
        if following and any(m.start == end for m in mentions if m.concept == following):
            continue
        if sign.not_near and near(sign.not_near, window=4) and not near(sign.strong):
            continue
        if sign.needs and not near(sign.needs):
            continue
        if sign.calmed_by and near(sign.calmed_by) and not near(sign.strong):
            continue
        return True
    return False


def _concept_at(mentions: list[Mention], start: int, sign: vocab.Sign) -> str:
    for mention in mentions:
        if mention.start == start and mention.concept in sign.alone:
            return mention.concept
    return ""


# --- keyword replies ----------------------------------------------------------------------------


def _clauses(words: list[str]) -> list[list[str]]:
    out, current = [], []
    for word in words:
        if word in (SENTENCE, CLAUSE):
            if current:
                out.append(current)
            current = []
        else:
            current.append(word)
    if current:
        out.append(current)
    return out


def _content(words: list[str]) -> str:
    return " ".join(w for w in words if w not in vocab.FILLERS)


def _has_phrase(words: list[str], phrase: str) -> bool:
    parts = phrase.split()
    return any(words[i : i + len(parts)] == parts for i in range(len(words) - len(parts) + 1))


def asks_to_opt_out(words: list[str]) -> bool:
    plain = [w for w in words if w not in (SENTENCE, CLAUSE)]
    if _content(plain) in vocab.OPT_OUT_WHOLE:
        return True
    if any(_content(clause) in vocab.OPT_OUT_CLAUSE for clause in _clauses(words)):
        return True
    if any(_has_phrase(plain, phrase) for phrase in vocab.OPT_OUT_PHRASES):
        return True
    for i, word in enumerate(plain):
        starts = [1] if word in vocab.OPT_OUT_VERBS else []
        for negation in vocab.OPT_OUT_NEGATIONS:
            parts = negation.split()
            if plain[i : i + len(parts)] == parts:
                starts.append(len(parts))
        for skip in starts:
            rest = plain[i + skip : i + skip + 4]
            for position, following in enumerate(rest):
                if following in vocab.MESSAGE_WORDS:
                    after = rest[position + 1 : position + 3]
                    if "back" not in after:  # "text me back" asks for an answer
                        return True
                    break
                if following not in vocab.OPT_OUT_GLUE:
                    break
    return False


def _keyword_intent(words: list[str], body: str) -> Intent:
    plain = [w for w in words if w not in (SENTENCE, CLAUSE)]
    content = _content(plain)
    if content in vocab.OPT_IN_WHOLE or any(_has_phrase(plain, p) for p in vocab.OPT_IN_PHRASES):
        return Intent.OPT_IN
    if content in vocab.HELP_WHOLE:
        return Intent.HELP
    if "?" not in body and plain:
        rest = [w for w in plain if w not in vocab.CONFIRM_FILLERS and not w[0].isdigit()]
        asked = any(
            w in vocab.CONFIRM_WORDS and i and plain[i - 1] in vocab.NOT_CONFIRMING_AFTER
            for i, w in enumerate(plain)
        )
        short = len(plain) <= 12
        if rest and all(w in vocab.CONFIRM_WORDS for w in rest) and short and not asked:
            return Intent.CONFIRM
        saying_yes = plain[0] in vocab.CONFIRM_YES and not rest
        if saying_yes and any(_has_phrase(plain, p) for p in vocab.CONFIRM_PHRASES):
            return Intent.CONFIRM
    return Intent.OTHER


# --- the answer ---------------------------------------------------------------------------------


def triage(body: str) -> Triage:
    words = tokens(body)
    mentions = _mentions(words)
    signs = [
        sign
        for sign in vocab.SIGNS
        if any(
            m.concept in sign.alone or any(m.concept == g[0] for g in sign.together)
            for m in mentions
        )
        and _found(sign, mentions, words)
    ]
    signs.sort(key=lambda s: -_LEVELS[s.level])
    level = max((_LEVELS[s.level] for s in signs), default=Level.NONE)
    opt_out = asks_to_opt_out(words)
    if level is Level.EMERGENCY:
        intent = Intent.EMERGENCY
    elif level is Level.URGENT:
        intent = Intent.URGENT
    elif opt_out:
        intent = Intent.OPT_OUT
    else:
        intent = _keyword_intent(words, body or "")
    return Triage(intent, level, tuple(s.name for s in signs), opt_out)


def classify(body: str) -> Intent:
    return triage(body).intent
