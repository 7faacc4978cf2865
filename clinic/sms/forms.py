"""Forms of the staff text pages: shape only; the staff services decide the rest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from clinic.sms.models import OUTCOME_LABELS

# Generous for two segments of real text; anything longer is not a text message.
MAX_TEMPLATE_LENGTH = 1000


class ActionForm(FlaskForm):
    """A button's form: the CSRF token of a deliberate click, and the page to go back to."""

    next = HiddenField()


class TemplateForm(FlaskForm):
    # The wording the form was shown over (clinic.sms.models.wording_version).
    version = HiddenField()
    body = TextAreaField(
        "Wording",
        validators=[
            DataRequired("Write the text, or restore the built-in wording."),
            Length(
                max=MAX_TEMPLATE_LENGTH,
                message=f"Keep the text under {MAX_TEMPLATE_LENGTH} characters.",
            ),
        ],
    )


class RestoreForm(FlaskForm):
    version = HiddenField()


class AcknowledgeForm(ActionForm):
    """What the person who took an alert did; "no answer" keeps the alert open."""

    outcome = RadioField(
        "What happened",
        choices=[SelectChoice(outcome.value, label) for outcome, label in OUTCOME_LABELS.items()],
        invalid_choice_message="Choose what happened.",
        validators=[InputRequired("Choose what happened.")],
    )
    note = StringField(
        "Note (optional)", validators=[Length(max=300, message="Keep the note under 300.")]
    )
