"""Health answers never reach the logs.

Every logger is opened up to DEBUG (SQLAlchemy's statements and result rows included) while a
patient books with several "yes" answers and another is stopped by theirs; no log record may
then carry a question key, a question's words, or the answers themselves.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request

import pytest

from clinic.screening.questions import VERSION_1
from tests.factories import make_clinic
from tests.helpers import BOOKINGS, answered, booking_body

# REVIEW answers: the booking goes ahead as needs_review.
HELD = {"anticoagulant": True, "cold_sores": True, "isotretinoin_6m": True}
# BLOCK and DEFER answers: nothing is booked.
STOPPED = {"pregnancy": True, "keloid": True, "active_infection": True}


@pytest.fixture
def every_log(caplog, monkeypatch):
    """caplog, receiving every record of every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy sets its own loggers to WARNING; its engine logs statements at INFO and
    # result rows at DEBUG, which is where answers read back would show.
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm"):
        caplog.set_level(logging.DEBUG, logger=name)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if logger.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)
        if logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
        if not logger.propagate:
            monkeypatch.setattr(logger, "propagate", True)
    return caplog


def forbidden_texts(*answer_sets: dict[str, bool]) -> list[str]:
    """What must not appear in any log line, lower-cased."""
    texts = []
    for question in VERSION_1.questions:
        texts.append(question.key)
        texts.append(question.text)
    for answers in answer_sets:
        for question_key in (key for key, yes in answers.items() if yes):
            # The distinctive words of each question answered "yes" (conditions, medicines).
            text = VERSION_1.question(question_key).text
            texts.extend(word for word in re.findall(r"[A-Za-z]{8,}", text))
        texts.append(repr(answers))
        texts.append(json.dumps(answers))
        texts.append(json.dumps(answers, separators=(",", ":")))
    return sorted({text.lower() for text in texts})


def assert_no_health_data(records: list[logging.LogRecord], formatted: str, *answer_sets):
    lines = [record.getMessage() for record in records] + formatted.splitlines()
    lines += [record.exc_text for record in records if record.exc_text]
    leaks = [
        (text, line)
        for line in lines
        for text in forbidden_texts(*answer_sets)
        if text in line.lower()
    ]
    assert not leaks, leaks[:5]


def test_the_forbidden_list_would_catch_a_leak():
    answers = {"screening": {**HELD}}
    leaked = logging.LogRecord("x", logging.INFO, __file__, 1, "body %s", (answers,), None)

    with pytest.raises(AssertionError):
        assert_no_health_data([leaked], "", HELD)


def test_bookings_with_yes_answers_leave_no_health_data_in_the_logs(any_app, every_log):
    with any_app.app_context():
        make_clinic()
        client = any_app.test_client()
        held_body = answered(client, booking_body(service="microneedling-prp"), **HELD)
        stopped_body = answered(
            client,
            booking_body(
                service="microneedling",
                start="2026-03-05T10:00:00+00:00",
                patient={**booking_body()["patient"], "phone": "07400 123456"},
            ),
            **STOPPED,
        )
        every_log.clear()

        held = client.post(BOOKINGS, json=held_body)
        read = client.get(held.headers["Location"])
        stopped = client.post(BOOKINGS, json=stopped_body)

    assert held.status_code == 201, held.get_json()
    assert held.get_json()["status"] == "needs_review"
    assert read.status_code == 200
    assert stopped.status_code == 422
    assert stopped.get_json()["error"] == "screening_blocked", stopped.get_json()
    messages = [record.getMessage() for record in every_log.records]
    # The capture works: the answers were written, and the statement that wrote them was logged.
    assert any("INSERT INTO screening" in message for message in messages), messages[:20]
    assert_no_health_data(every_log.records, every_log.text, HELD, STOPPED, held_body["screening"])


def test_a_live_server_logs_no_health_data(app, serve, every_log):
    make_clinic()
    base = serve(app)
    body = answered(app.test_client(), booking_body(service="microneedling"), **HELD)
    stopped = answered(
        app.test_client(),
        booking_body(
            service="microneedling-steroid",
            start="2026-03-05T10:00:00+00:00",
            patient={**booking_body()["patient"], "phone": "07400 123456"},
        ),
        **STOPPED,
    )
    every_log.clear()

    assert post_json(f"{base}{BOOKINGS}", body) == (201, "needs_review")
    assert post_json(f"{base}{BOOKINGS}", stopped) == (422, "screening_blocked")

    request_lines = [r.getMessage() for r in every_log.records if r.name == "werkzeug"]
    assert any("POST /api/v1/bookings" in line for line in request_lines), request_lines
    assert_no_health_data(every_log.records, every_log.text, HELD, STOPPED, body["screening"])


def post_json(url: str, body: dict) -> tuple[int, str]:
    """The status and the booking's status or the error's code."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)["status"]
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)["error"]
