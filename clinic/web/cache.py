"""A small per-process cache for public availability answers.

Free times are read far more often than they change, and computing them touches several tables.
An answer is kept for AVAILABILITY_CACHE_SECONDS (0 switches caching off) on the application
clock, and this process forgets everything the moment it commits a change to the calendar.
A change to the clinic's set-up saved by another process (an admin's new hours, a closure, a
room) is seen through the catalog version within SETUP_CHECK_SECONDS. A visit booked by another
process may still show as free for up to AVAILABILITY_CACHE_SECONDS; booking always re-checks
under the write lock, so the worst case is a clear "just taken" message.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from clinic.clock import utcnow

MAX_ENTRIES = 512
# While it answers from memory, a process asks at most this often whether the clinic's set-up
# (services, hours, rooms, closures...) changed in another process: a settings change shows
# in every process's answers within this long, for one tiny read a second.
SETUP_CHECK_SECONDS = 1
# Changes to any of these can change which times are free.
# Visits are not watched here: the cache subscribes to the visit lifecycle's events instead
# (clinic/visits/subscribers.py).
CALENDAR_TABLES = {
    "time_off",
    "working_hours",
    "practitioner",
    "practitioner_service",
    "room",
    "service",
    "location",
}


class AnswerCache:
    def __init__(self):
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._setup_version = None
        self._setup_checked_at = None

    def follow_setup(self, read_version: Callable[[], object]) -> None:
        """Forget every answer when the set-up's version (``read_version()``) moved since this
        process last looked: a change saved by another process. Asks at most once every
        SETUP_CHECK_SECONDS; a change saved by this process has already cleared the cache."""
        if current_app.config["AVAILABILITY_CACHE_SECONDS"] <= 0:
            return
        now = utcnow()
        with self._lock:
            last = self._setup_checked_at
            if last is not None and last <= now < last + timedelta(seconds=SETUP_CHECK_SECONDS):
                return
            self._setup_checked_at = now
        version = read_version()
        with self._lock:
            if version != self._setup_version:
                self._entries.clear()
                self._setup_version = version

    def get(self, key):
        seconds = current_app.config["AVAILABILITY_CACHE_SECONDS"]
        if seconds <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, value = entry
            if utcnow() - stored_at > timedelta(seconds=seconds):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        if current_app.config["AVAILABILITY_CACHE_SECONDS"] <= 0:
            return
        with self._lock:
            self._entries[key] = (utcnow(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def answer_cache() -> AnswerCache:
    return current_app.extensions["availability_cache"]


def _touches_calendar(session: Session) -> bool:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in CALENDAR_TABLES:
            return True
    return False


def _mark(session, _flush_context, _instances=None) -> None:
    if _touches_calendar(session):
        session.info["calendar_changed"] = True


def _forget(session) -> None:
    if session.info.pop("calendar_changed", False) and has_app_context():
        cache = current_app.extensions.get("availability_cache")
        if cache is not None:
            cache.clear()


def _core_write(orm_execute_state) -> None:
    # Bulk UPDATE/DELETE statements skip the flush; watch them too.
    if orm_execute_state.is_update or orm_execute_state.is_delete:
        table = getattr(orm_execute_state.statement.table, "name", None)
        if table in CALENDAR_TABLES:
            orm_execute_state.session.info["calendar_changed"] = True


def init_app(app) -> None:
    app.extensions["availability_cache"] = AnswerCache()
    if not event.contains(Session, "before_flush", _mark):
        event.listen(Session, "before_flush", _mark)
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "do_orm_execute", _core_write)
