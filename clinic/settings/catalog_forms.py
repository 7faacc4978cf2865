"""The shape of the services, locations and rooms forms. Bounds, uniqueness and what may change
are the services' decisions (clinic/settings/catalog_services.py)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from clinic.catalog.models import INGREDIENTS
from clinic.settings.catalog_services import (
    MAX_ADDRESS_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_LOCATION_NAME_CHARS,
    MAX_ROOM_NAME_CHARS,
    MAX_SERVICE_NAME_CHARS,
    MAX_SLUG_CHARS,
    LocationDetails,
    ServiceDetails,
)

INGREDIENT_LABELS = {
    "numbing": "Numbing cream",
    "minoxidil": "Minoxidil",
    "prp": "PRP (platelet-rich plasma)",
    "steroid": "Steroid",
}

# Pounds as people type them: "250", "49.50", "£1,200". Seven digits covers any price the
# service allows and keeps a hostile string from reaching Decimal.
PRICE_PATTERN = re.compile(r"£?\s*(\d{1,3}(?:,\d{3})+|\d{1,7})(?:\.(\d{1,2}))?")


def _squash_spaces(value):
    return " ".join(value.split()) if value else value


def _strip(value):
    return value.strip() if value else value


def pounds(pence: int) -> str:
    """Pence as the price field shows them: 25000 -> "250", 4950 -> "49.50"."""
    return f"{pence // 100}" if pence % 100 == 0 else f"{pence // 100}.{pence % 100:02d}"


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _minutes(label: str, description: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[InputRequired(f"Enter the {label.lower()}.")],
        description=description,
        # A text box with a numeric keypad, like the app's other number fields: a number
        # input's spinner and its browser-made messages bypass the field messages.
        widget=TextInput(),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class ServiceForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            InputRequired("Enter the service's name."),
            Length(max=MAX_SERVICE_NAME_CHARS, message="Shorten the name."),
        ],
        filters=[_squash_spaces],
    )
    slug = StringField(
        "Web address (slug)",
        validators=[Length(max=MAX_SLUG_CHARS, message="Shorten the slug.")],
        filters=[_strip],
        description=(
            "Lower-case letters, digits and hyphens, as in /book/scalp-microneedling. Leave empty "
            "to make one from the name. It cannot change later: printed and shared links use it."
        ),
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=MAX_DESCRIPTION_CHARS, message="Shorten the description.")],
        filters=[_strip],
        description="What patients read when they choose a service.",
    )
    duration_minutes = _minutes("Duration in minutes", "How long the patient is with you.")
    buffer_after_minutes = _minutes(
        "Cleanup minutes after",
        "The practitioner and the room stay busy this long after each visit (0 for none).",
    )
    price = StringField(
        "Price in pounds",
        validators=[InputRequired("Enter the price (0 for free).")],
        description="For example 250 or 49.50.",
        render_kw={"inputmode": "decimal"},
    )
    needles = BooleanField("Needles: this service needles the scalp")
    ingredients = CheckboxesField(
        "Ingredients used",
        choices=[SelectChoice(key, INGREDIENT_LABELS[key]) for key in INGREDIENTS],
        validate_choice=False,  # the service names an unknown one as a field error
        description="Each adds its own health questions when patients book.",
    )
    bookable_online = BooleanField("Patients can book it online")
    active = BooleanField("Active: offered at the desk (and online, when ticked above)")
    version = HiddenField()

    price_pence: int = 0

    def validate_price(self, field):
        match = PRICE_PATTERN.fullmatch((field.data or "").strip())
        if match is None:
            raise ValidationError("Enter the price in pounds, for example 250 or 49.50.")
        whole = int(match.group(1).replace(",", ""))
        self.price_pence = int(Decimal(f"{whole}.{match.group(2) or '0'}") * 100)

    def details(self) -> ServiceDetails:
        return ServiceDetails(
            name=self.name.data or "",
            description=self.description.data or "",
            duration_minutes=self.duration_minutes.data,
            buffer_after_minutes=self.buffer_after_minutes.data,
            price_pence=self.price_pence,
            needles=self.needles.data,
            ingredients=tuple(self.ingredients.data or ()),
            bookable_online=self.bookable_online.data,
            active=self.active.data,
        )

    @staticmethod
    def data_of(service) -> dict:
        return dict(
            name=service.name,
            slug=service.slug,
            description=service.description,
            duration_minutes=service.duration_minutes,
            buffer_after_minutes=service.buffer_after_minutes,
            price=pounds(service.price_pence),
            needles=service.needles,
            ingredients=list(service.ingredients),
            bookable_online=service.bookable_online,
            active=service.active,
        )


class LocationForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            InputRequired("Enter the location's name."),
            Length(max=MAX_LOCATION_NAME_CHARS, message="Shorten the name."),
        ],
        filters=[_squash_spaces],
    )
    address = TextAreaField(
        "Address",
        validators=[Length(max=MAX_ADDRESS_CHARS, message="Shorten the address.")],
        filters=[_strip],
    )
    phone = TelField(
        "Phone number",
        validators=[InputRequired("Enter the phone number patients should call.")],
        description="The number texts and calendar entries give patients, e.g. 020 7946 0321.",
    )
    timezone = StringField(
        "Time zone",
        validators=[InputRequired("Enter the time zone.")],
        filters=[_strip],
        description="Its IANA name, for example Europe/London.",
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    version = HiddenField()

    def details(self) -> LocationDetails:
        return LocationDetails(
            name=self.name.data or "",
            address=self.address.data or "",
            phone=self.phone.data or "",
            timezone=self.timezone.data or "",
        )


# The largest id a row can have (a 32-bit integer column on PostgreSQL).
MAX_ROW_ID = 2**31 - 1


class NewRoomForm(FlaskForm):
    location = SelectField("Location", coerce=int, validate_choice=False)
    name = StringField(
        "Room name",
        validators=[
            InputRequired("Enter the room's name."),
            Length(max=MAX_ROOM_NAME_CHARS, message="Shorten the name."),
        ],
        filters=[_squash_spaces],
    )

    def validate_location(self, field):
        # Bounded here: a number no row can have must not reach the database (SQLite refuses
        # integers past 64 bits with an error, not an empty answer).
        if field.data is None or not 0 < field.data <= MAX_ROW_ID:
            raise ValidationError("Choose a location.")


class RoomForm(FlaskForm):
    name = StringField(
        "Room name",
        validators=[
            InputRequired("Enter the room's name."),
            Length(max=MAX_ROOM_NAME_CHARS, message="Shorten the name."),
        ],
        filters=[_squash_spaces],
    )
    version = HiddenField()


class RoomActiveForm(FlaskForm):
    """Deactivate or reactivate: the button says which; the version guards a stale page."""

    version = HiddenField()
