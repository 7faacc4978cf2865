"""Private links never reach a log: the token in /manage/…, /api/v1/bookings/… and a staff
member's one-time /password/… link is redacted.

A patient's manage link opens their visit to whoever holds it, and log lines are read by more
people (and kept longer) than a patient's texts. Every log record the process creates passes
through ``redact_links``: the app's, Werkzeug's development server's and gunicorn's alike.
gunicorn's access log goes through ``clinic.web.gunicorn_log.RedactingLogger`` as well, since its
master process logs before any app is loaded.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"
# A path segment after /manage/ or /api/v1/bookings/, wherever the path sits in a line (a
# request line, a Referer, a full URL). A route pattern such as /manage/<token> is left alone.
_PRIVATE_SEGMENT = re.compile(r"(/manage/|/api/v1/bookings/|/password/)(?!<)[^/?#\s\"'<>]+")
_MARKERS = ("/manage/", "/bookings/", "/password/")


def redact_links(text: str) -> str:
    if not any(marker in text for marker in _MARKERS):
        return text
    return _PRIVATE_SEGMENT.sub(r"\1" + REDACTED, text)


def _mentions_a_link(record: logging.LogRecord) -> bool:
    parts = [record.msg] if isinstance(record.msg, str) else []
    args = record.args
    if isinstance(args, dict):
        parts.extend(value for value in args.values() if isinstance(value, str))
    elif isinstance(args, tuple):
        parts.extend(value for value in args if isinstance(value, str))
    return any(marker in part for part in parts for marker in _MARKERS)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message redacted (formatted once, its arguments dropped)."""
    if not _mentions_a_link(record):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's to report, not ours
        return record
    redacted = redact_links(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    return record


class RedactLinks(logging.Filter):
    """For a logger or handler of one's own (gunicorn's error log uses it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every record this process creates, whichever logger it comes from.

    A filter on a logger sees only that logger's own records, not its children's
    (``clinic.web.errors``), so the redaction sits in the record factory instead. Installed
    once per process, however many apps it creates.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_links", False):
        return

    def factory(*args, **kwargs):
        return redact_record(previous(*args, **kwargs))

    factory.redacts_links = True
    logging.setLogRecordFactory(factory)
