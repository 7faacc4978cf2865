"""The settings index: one page listing what an admin can change."""

from __future__ import annotations

from flask import Blueprint, render_template

from clinic.staff.auth import allow
from clinic.staff.models import Role

bp = Blueprint("home", __name__)


@bp.get("")
@allow(Role.ADMIN)
def index():
    return render_template("settings/index.html")
