"""The desk's patient pages: find a patient, read their record, change their contact details."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.audit.context import staff_actor
from clinic.errors import ChangeNotAllowed, ValidationFailed
from clinic.patient_record import queries, services
from clinic.patient_record.forms import ContactForm
from clinic.sms.queries import kind_label
from clinic.staff.auth import any_staff_member
from clinic.staff.models import Role

# Nested in the staff area (clinic/staff/area.py) at /desk/patients, beside the duplicates
# list (/desk/patients/duplicates) and the text consent page (/desk/patients/<id>/texts).
bp = Blueprint("patients", __name__)


@bp.get("")
@any_staff_member
def search():
    results = queries.search(request.args.get("q", ""))
    return render_template(
        "patients/search.html", results=results, max_length=queries.MAX_QUERY_LENGTH
    ), (400 if results.too_long else 200)


@bp.get("/<int:patient_id>")
@any_staff_member
def patient(patient_id: int):
    kept = queries.kept_id(patient_id)
    if kept != patient_id:
        flash("That record was merged into this one.", "info")
        return redirect(url_for(".patient", patient_id=kept))
    clinical = current_user.role in (Role.PRACTITIONER, Role.ADMIN)
    return render_template(
        "patients/patient.html",
        record=queries.record(patient_id, clinical=clinical),
        clinical=clinical,
        kind_label=kind_label,
    )


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
@any_staff_member
def edit(patient_id: int):
    kept = queries.kept_id(patient_id)
    if kept != patient_id and request.method == "GET":
        return redirect(url_for(".edit", patient_id=kept))
    form = ContactForm()
    if not form.is_submitted():
        return _edit_page(patient_id)
    form.stored_phone = queries.contact(patient_id).patient.phone
    if not form.validate():
        return _edit_page(patient_id, form, status=422)
    try:
        changed = services.change_contact(
            patient_id, form.details(), fingerprint=form.version.data or "", by=staff_actor()
        )
    except ValidationFailed as exc:
        for message in exc.errors.get("mobile", []):
            form.mobile.errors = [*form.mobile.errors, message]
        return _edit_page(patient_id, form, status=422)
    except services.SameAsAnotherPatient as exc:
        return _edit_page(patient_id, form, status=409, problem=exc.message, duplicate=True)
    except services.StaleContactForm as exc:
        # A fresh form over the details as they are now: sending the old one again would
        # only be refused again.
        return _edit_page(patient_id, status=409, problem=exc.message)
    except ChangeNotAllowed as exc:
        return _edit_page(patient_id, form, status=409, problem=exc.message)
    if not changed.changes:
        flash("Nothing changed.", "info")
    elif "phone" in changed.changes and changed.suppressed:
        flash("Saved. The new number once texted STOP: no texts go to it.", "info")
    else:
        flash("Contact details saved.", "success")
    return redirect(url_for(".patient", patient_id=patient_id), code=303)


def _edit_page(patient_id: int, form=None, *, status=200, problem=None, duplicate=False):
    contact = queries.contact(patient_id)
    if form is None:
        form = ContactForm(formdata=None, data=contact.form_data)
    return render_template(
        "patients/edit.html", contact=contact, form=form, problem=problem, duplicate=duplicate
    ), status
