"""The audit log's part in the texts package's settings.

sms sits beneath the audit log and never imports it; a change of a text's wording is recorded
through the recorder handed over here at app start, in the transaction that saves it.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, has_request_context
from flask_login import current_user

from clinic.actors import Actor
from clinic.audit import services
from clinic.audit.context import staff_actor
from clinic.clock import utcnow
from clinic.sms import hooks


def record_text_setting_change(
    staff, action: str, changes: Mapping[str, tuple], detail: str = ""
) -> None:
    # From a page: the signed-in member with the request's address; from a script: the account.
    acting = has_request_context() and current_user.is_authenticated and current_user.id == staff.id
    actor = staff_actor() if acting else Actor.staff(staff)
    services.record(actor, action, at=utcnow(), changes=changes, detail=detail)


def init_app(app: Flask) -> None:
    hooks.register_change_recorder(app, record_text_setting_change)
