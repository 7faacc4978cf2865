"""Forms of the practitioners' review pages: shape only; the screening services decide."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        "Reason for declining",
        validators=[
            DataRequired("Give a reason; the desk will see it when the patient calls."),
            Length(max=500, message="Keep the reason under 500 characters."),
        ],
        filters=[lambda value: " ".join(value.split()) if value else value],
        description="For the clinic's record and the desk. The patient is asked to call; "
        "they do not see this text.",
    )
