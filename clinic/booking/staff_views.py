"""Desk pages about who a patient is: the list of possible duplicates (merge the two records, or
dismiss the flag), and a patient's text consent changed at the desk with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from clinic.audit.context import staff_actor
from clinic.booking import identity
from clinic.errors import ValidationFailed
from clinic.staff.auth import any_staff_member

# Nested in the staff area (clinic/staff/area.py) at /desk/patients/duplicates and
# /desk/patients/<id>/texts.
bp = Blueprint("duplicates", __name__)
consent_bp = Blueprint("patient_texts", __name__)


class TextConsentForm(FlaskForm):
    wanted = RadioField(
        "Texts",
        choices=[SelectChoice("yes", "Texts on"), SelectChoice("no", "Texts off")],
        validators=[InputRequired("Choose texts on or off.")],
    )
    reason = StringField(
        "Reason",
        validators=[
            DataRequired("Say why the text consent is being changed."),
            Length(max=250, message="Keep the reason under 250 characters."),
        ],
        description="For example: asked on the phone on 3 March.",
    )


@bp.get("")
@any_staff_member
def index():
    return render_template(
        "duplicates/index.html", pairs=identity.possible_duplicates(), form=FlaskForm()
    )


@bp.post("/<int:patient_id>/merge")
@any_staff_member
def merge(patient_id: int):
    identity.merge(patient_id, by=staff_actor())  # the CSRF token was checked before the view
    flash("The two records are now one.", "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/<int:patient_id>/dismiss")
@any_staff_member
def dismiss(patient_id: int):
    identity.dismiss(patient_id, by=staff_actor())
    flash("Kept as two different patients.", "success")
    return redirect(url_for(".index"), code=303)


@consent_bp.route("/<int:patient_id>/texts", methods=["GET", "POST"])
@any_staff_member
def texts(patient_id: int):
    patient = identity.patient(patient_id)
    form = TextConsentForm()
    if form.validate_on_submit():
        try:
            going = identity.set_text_consent(
                patient,
                form.wanted.data == "yes",
                by=staff_actor(),
                source="desk",
                reason=form.reason.data,
            )
        except ValidationFailed as exc:
            form.reason.errors = [*form.reason.errors, *exc.errors.get("reason", [])]
        else:
            if form.wanted.data == "yes" and not going:
                flash("Saved, but the number said STOP: only its own START text resumes.", "info")
            else:
                flash("Text consent saved.", "success")
            return redirect(url_for(".texts", patient_id=patient_id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "duplicates/texts.html",
        patient=patient,
        form=form,
        suppressed=identity.number_suppressed(patient),
    ), status
