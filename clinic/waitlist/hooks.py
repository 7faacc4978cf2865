"""How the waitlist plugs into the app: the lifecycle's events and the dispatcher's pass.

The texts package never imports the waitlist: it runs ``offer_pass`` before each pass's texts
and asks ``text_values`` what an offer text says, through clinic.sms.hooks.
"""

from __future__ import annotations

from flask import Flask

from clinic.sms import hooks
from clinic.sms.kinds import Kind
from clinic.visits import lifecycle
from clinic.waitlist import services


def init_app(app: Flask) -> None:
    hooks.register_prepare_step(app, "waitlist", services.offer_pass)
    hooks.register_text_values(app, (Kind.WAITLIST_OFFER, Kind.WAITLIST_GONE), services.text_values)


def subscribe(_app: Flask) -> None:
    # A module function, connected once however many apps the process creates (blinker keeps
    # one entry per receiver).
    lifecycle.visit_changed.connect(services.note_freed_time, weak=False)
