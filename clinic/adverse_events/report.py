"""The export: one CSV line per event, with the fields the MHRA Yellow Card and the FDA MedWatch
form 3500 ask for, so whoever files the report copies from one place.

The patient appears as initials, the clinic's patient number, age at onset and sex (both forms
ask for these instead of a name). Every cell goes through ``rules.csv_safe``.
"""

from __future__ import annotations

import csv
import io
from datetime import tzinfo

from clinic.adverse_events import rules
from clinic.adverse_events.queries import EventDetail
from clinic.visits.models import ADD_ON_NAMES

HEADER = (
    "event_id",
    "patient_initials",
    "patient_number",
    "patient_age_at_onset",
    "patient_sex",
    "event_type",
    "event_description",
    "onset_date",
    "onset_time",
    "severity",
    "serious",
    "seriousness_criteria",
    "outcome",
    "action_taken",
    "suspect_products",
    "procedure",
    "procedure_date",
    "device",
    "needle_cartridge_lot",
    "prp_kit_lot",
    "add_ons",
    "reporter_name",
    "reporter_role",
    "reporter_organisation",
    "reporter_phone",
    "recorded_on",
    "last_updated_on",
    "reported_to",
    "reported_on",
    "regulator_reference",
)
ADD_ON_PRODUCTS = {"minoxidil": "Minoxidil (topical)", "prp": "PRP", "steroid": "Steroid"}
NOT_RECORDED = "not recorded"


def event_type_words(event) -> str:
    words = rules.EVENT_TYPES.get(event.event_type, event.event_type)
    return f"{words}: {event.other_type}" if event.event_type == "other" else words


def suspect_products(detail: EventDetail) -> list[str]:
    """The treatment and each product used in the session, with its lot where one is kept."""
    event, record = detail.event, detail.session_record
    device = f"{record.device}, " if record else ""
    products = [
        f"{detail.service.name} ({device}needle cartridge lot "
        f"{event.cartridge_lot or NOT_RECORDED})"
    ]
    if record is None:
        return products
    if record.numbing_used:
        products.append("Numbing cream (topical anaesthetic), lot not recorded")
    for add_on in record.add_ons:
        name = ADD_ON_PRODUCTS.get(add_on, ADD_ON_NAMES.get(add_on, add_on))
        if add_on == "prp":
            products.append(f"{name} (kit lot {event.prp_kit_lot or NOT_RECORDED})")
        else:
            products.append(f"{name}, lot not recorded")
    return products


def row(detail: EventDetail, *, organisation: str, phone: str, tz: tzinfo) -> list[str]:
    event, patient, appointment = detail.event, detail.patient, detail.appointment
    onset = event.onset_at.astimezone(tz)
    record = detail.session_record
    reporter = detail.recorded_by
    values = (
        event.id,
        rules.initials(patient.full_name),
        patient.id,
        rules.age_on(patient.date_of_birth, onset.date()),
        rules.SEXES.get(event.patient_sex, "Not recorded"),
        event_type_words(event),
        event.description,
        onset.date().isoformat(),
        onset.strftime("%H:%M"),
        rules.SEVERITIES.get(event.severity, event.severity),
        "yes" if event.serious else "no",
        "; ".join(rules.SERIOUS_CRITERIA[c] for c in event.serious_criteria),
        rules.OUTCOMES.get(event.outcome, event.outcome),
        event.action_taken,
        "; ".join(suspect_products(detail)),
        detail.service.name,
        appointment.start_at.astimezone(tz).date().isoformat(),
        record.device if record else "",
        event.cartridge_lot,
        event.prp_kit_lot,
        "; ".join(ADD_ON_PRODUCTS.get(a, a) for a in record.add_ons) if record else "",
        reporter.name if reporter else "",
        str(reporter.role) if reporter else "",
        organisation,
        phone,
        event.recorded_at.astimezone(tz).date().isoformat(),
        event.updated_at.astimezone(tz).date().isoformat(),
        rules.REGULATORS.get(event.regulator, ""),
        event.reported_on.isoformat() if event.reported_on else "",
        event.regulator_reference,
    )
    return [rules.csv_safe(value) for value in values]


def to_csv(details: list[EventDetail], *, organisation: str, phone: str, tz: tzinfo) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for detail in details:
        writer.writerow(row(detail, organisation=organisation, phone=phone, tz=tz))
    return out.getvalue()
