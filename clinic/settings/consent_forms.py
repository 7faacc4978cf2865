"""The form for publishing a consent form version: shape only; the service decides the rest."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from clinic.settings.consent_services import TEXT_MAX_CHARS, TITLE_MAX_CHARS


def _version_number(value):
    """The hidden "newest version seen": anything unreadable counts as stale, never as a 500."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


class PublishForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[
            InputRequired("Give the form a title."),
            # The service counts again after collapsing spaces; this stops a huge paste early.
            Length(
                max=TITLE_MAX_CHARS * 2,
                message=f"Keep the title under {TITLE_MAX_CHARS} characters.",
            ),
        ],
    )
    text = TextAreaField(
        "Text",
        validators=[
            InputRequired("Write the text the patient reads and signs."),
            Length(
                max=TEXT_MAX_CHARS * 2,
                message=f"Keep the text under {TEXT_MAX_CHARS:,} characters.",
            ),
        ],
        description="Plain text. Separate sections with a blank line; a section's first line is "
        "its heading. Patients see it exactly as written, without formatting.",
    )
    effective_on = DateField(
        "Takes effect on",
        validators=[InputRequired("Enter the date this version takes effect.")],
        description="Today or later, in the clinic's time zone. From that day, patients sign "
        "this version, and a signature of an older version no longer covers a visit.",
    )
    after_version = HiddenField(filters=[_version_number])
