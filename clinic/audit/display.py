"""How the audit page shows an event's details: a browser in a few words, a change's values."""

from __future__ import annotations

import re
from datetime import datetime

from clinic.web.formatting import format_when

SHORT_AGENT_CHARS = 40
# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"\bOPR/(\d+)")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/(\d+)")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"\bVersion/(\d+)[^ ]* .*Safari/")),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)")


def short_agent(user_agent: str) -> str:
    """A browser we know in a few words ("Firefox 133 on Linux"), else the string's start."""
    for name, pattern in _BROWSERS:
        match = pattern.search(user_agent)
        if match:
            system = next((label for token, label in _SYSTEMS if token in user_agent), "")
            return f"{name} {match.group(1)}" + (f" on {system}" if system else "")
    if len(user_agent) <= SHORT_AGENT_CHARS:
        return user_agent
    return user_agent[: SHORT_AGENT_CHARS - 1] + "…"


def change_value(value) -> str:
    """One side of a change as staff read it: times in the clinic's time, "none" for nothing."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and _ISO_MOMENT.fullmatch(value):
        return format_when(datetime.fromisoformat(value))
    return str(value)
