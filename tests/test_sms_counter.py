"""The wording page's live counter (static/js/sms-counter.js) counts as the server does.

The script runs under node on the same wordings the server checks (clinic/sms/gsm.py and
check_template in clinic/sms/wording.py), with the settings the page passes it, so a change to
either side that makes them disagree fails here rather than misleading an admin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest

from clinic.sms.gsm import encoding_of
from clinic.sms.kinds import CONFIRMATION_KINDS, Kind
from clinic.sms.queries import counter_settings
from clinic.sms.wording import (
    BRACES_INVALID,
    DEFAULTS,
    LINK_MISSING,
    OPT_OUT_LINE,
    SAMPLE,
    check_template,
)

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "js" / "sms-counter.js"

DRIVER = """
const fs = require("fs");
const [script, input] = process.argv.slice(1);
eval(fs.readFileSync(script, "utf8"));
const { cases, settings } = JSON.parse(fs.readFileSync(input, "utf8"));
const answers = cases.map(([kind, body]) => {
  const options = {
    sample: settings.sample,
    optOut: settings.opt_out,
    maxSegments: settings.max_segments,
    needsLink: settings.needs_link.includes(kind),
  };
  return globalThis.smsCounter.count(body, options);
});
process.stdout.write(JSON.stringify(answers));
"""

# Room for the text itself once the clinic's name and the opt-out line are in.
ROOM = 160 - len(SAMPLE["clinic"]) - len(OPT_OUT_LINE)

CASES: list[tuple[Kind, str]] = [
    *DEFAULTS.items(),
    (Kind.REMINDER_24H, "{clinic}: see you {date} at {time}. Don\u2019t be late."),  # curly quote
    (Kind.REMINDER_24H, "{clinic}: \u201cquoted\u201d \u2013 dashed, and an emoji \U0001f600"),
    (Kind.REMINDER_24H, "{clinic}: costs 50\u20ac, ^ [x] ~ | \\ and a form feed \f"),
    (Kind.REMINDER_24H, "{clinic}:" + "a" * (ROOM - 1)),  # exactly 160 with the opt-out line
    (Kind.REMINDER_24H, "{clinic}:" + "a" * ROOM),  # 161: two messages
    (Kind.REMINDER_24H, "{clinic}:" + "a" * (ROOM - 3) + "\u20ac"),  # the euro takes two: 161
    (Kind.REMINDER_24H, "{clinic}:" + "a" * (ROOM + 145)),  # 306: two parts of 153
    (Kind.REMINDER_24H, "{clinic}:" + "a" * (ROOM + 146)),  # 307: three, too long
    (Kind.REMINDER_24H, "{clinic}:\u2019" + "a" * (ROOM - 92)),  # UCS-2: exactly 70
    (Kind.REMINDER_24H, "{clinic}:\u2019" + "a" * (ROOM - 91)),  # 71: two parts of 67
    (Kind.REMINDER_24H, "{clinic}:\u2019" + "a" * (ROOM - 28)),  # 134: still two
    (Kind.REMINDER_24H, "{clinic}:\u2019" + "a" * (ROOM - 27)),  # 135: three
    (Kind.REMINDER_24H, "{clinic}: \u00e9" + "a" * 50),  # Latin accents are GSM-7
    (Kind.REMINDER_24H, "{clinic}: \u00ea" + "a" * 50),  # but not all of them
    (Kind.REMINDER_24H, "{clinic}: literal {{braces}} stay"),
    (Kind.REMINDER_24H, "{clinic}: {0}"),
    (Kind.REMINDER_24H, "{clinic}: {}"),
    (Kind.REMINDER_24H, "{clinic}: {date:>20}"),
    (Kind.REMINDER_24H, "{clinic}: {date!r}"),
    (Kind.REMINDER_24H, "{clinic}: {date"),
    (Kind.REMINDER_24H, "{clinic}: date}"),
    (Kind.REMINDER_24H, "{clinic}: {birthday} and {age} and {birthday}"),
    (Kind.CONFIRMATION, "{clinic}: we have you down for {date} at {time}."),
    (Kind.CONFIRMATION_HELD, "{clinic}: booking received. Call {phone}."),
    (Kind.VISIT_APPROVED, "{clinic}: confirmed, {date} at {time}. {link}"),
    (Kind.CONFIRMATION, "  {clinic}: line one\r\nline two {link}  \r\n"),
    (Kind.CONFIRMATION, "   "),
]


def node_counts(tmp_path) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the page's script")
    settings = asdict(counter_settings())
    settings["needs_link"] = sorted(str(kind) for kind in settings["needs_link"])
    payload = tmp_path / "cases.json"
    payload.write_text(
        json.dumps({"cases": [[str(k), body] for k, body in CASES], "settings": settings}),
        encoding="utf-8",
    )
    result = subprocess.run(
        [node, "-e", DRIVER, str(SCRIPT), str(payload)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_counter_agrees_with_the_servers_check_on_every_wording(tmp_path):
    for (kind, body), counted in zip(CASES, node_counts(tmp_path), strict=True):
        text = body.replace("\r\n", "\n").strip()
        check = check_template(kind, text)
        where = f"{kind}: {body!r}"
        assert counted["empty"] == (text == ""), where
        if not text:
            continue
        assert counted["offending"] == list(encoding_of(text).offending), where
        assert counted["invalid"] == (BRACES_INVALID in check.errors), where
        assert bool(counted["unknown"]) == any("Unknown placeholders" in e for e in check.errors)
        assert counted["missingLink"] == (LINK_MISSING in check.errors), where
        if counted["invalid"] or counted["unknown"]:
            continue
        # What would be sent, counted by the server's own function (check_template reports a
        # count only for wording it would otherwise take; the page shows it for any).
        sent = encoding_of(text.format(**SAMPLE) + OPT_OUT_LINE)
        assert (counted["encoding"], counted["units"], counted["segments"]) == (
            sent.name,
            sent.units,
            sent.segments,
        ), where
        assert counted["tooLong"] == (sent.segments > 2), where
        if check.segments:
            assert counted["segments"] == check.segments, where


def test_the_cases_reach_every_boundary_the_counter_draws(tmp_path):
    # The table above is only worth something if it holds each kind of answer.
    counts = node_counts(tmp_path)
    assert {c["encoding"] for c in counts} == {"GSM-7", "UCS-2"}
    assert {c["units"] for c in counts} >= {70, 71, 134, 135, 160, 161, 306, 307}
    assert {c["segments"] for c in counts} >= {1, 2, 3}
    assert any(c["missingLink"] for c in counts) and any(c["invalid"] for c in counts)
    assert any(c["unknown"] for c in counts) and any(c["tooLong"] for c in counts)


def test_a_confirmation_without_its_link_is_refused_by_the_server():
    for kind in CONFIRMATION_KINDS:
        check = check_template(kind, "{clinic}: we have your visit down for {date} at {time}.")
        assert LINK_MISSING in check.errors
        assert check_template(kind, DEFAULTS[kind]).errors == []
    # Other texts may leave the link out: a reminder follows a confirmation that had it.
    assert check_template(Kind.REMINDER_48H, "{clinic}: see you {date} at {time}.").errors == []
