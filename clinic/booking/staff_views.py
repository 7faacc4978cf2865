"""The desk's list of possible duplicate patients: merge the two records, or dismiss the flag."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from clinic.audit.context import staff_actor
from clinic.booking import identity

# Nested in the staff area (clinic/staff/area.py) at /desk/patients/duplicates.
bp = Blueprint("duplicates", __name__)


@bp.get("")
def index():
    return render_template(
        "duplicates/index.html", pairs=identity.possible_duplicates(), form=FlaskForm()
    )


@bp.post("/<int:patient_id>/merge")
def merge(patient_id: int):
    identity.merge(patient_id, by=staff_actor())  # the CSRF token was checked before the view
    flash("The two records are now one.", "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:patient_id>/dismiss")
def dismiss(patient_id: int):
    identity.dismiss(patient_id, by=staff_actor())
    flash("Kept as two different patients.", "success")
    return redirect(url_for(".index"), code=303)
