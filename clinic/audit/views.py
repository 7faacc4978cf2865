"""The audit log page for admins: who did what, when and from where, newest first."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from clinic.audit import display, queries
from clinic.audit.forms import AuditFilterForm
from clinic.staff.auth import allow
from clinic.staff.models import Role

# Nested in the staff area's admin blueprint, which signs in, admits admins only, keeps the
# answers out of caches and refuses impossible ids (clinic/staff/area.py).
bp = Blueprint("audit", __name__)


@bp.get("")
@allow(Role.ADMIN)
def index():
    form = AuditFilterForm(request.args, staff_choices=queries.staff_choices())
    if not form.validate():
        return _page(form, status=400)
    filters = form.filters()
    return _page(
        form,
        events=queries.events(filters, page=form.page_number),
        patient_name=queries.patient_name(filters.patient_id) if filters.patient_id else None,
    )


def _page(form: AuditFilterForm, *, status: int = 200, **context):
    return render_template(
        "audit/log.html",
        form=form,
        short_agent=display.short_agent,
        change_value=display.change_value,
        **context,
    ), status
