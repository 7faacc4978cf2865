"""Mobile numbers: everything stored is E.164, whatever the patient typed."""

from __future__ import annotations

import phonenumbers

_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class InvalidPhone(ValueError):
    pass


def normalize_mobile(raw: str, default_region: str) -> str:
    """Return the number in E.164, or raise InvalidPhone with a message a patient understands."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Please enter your mobile number.")
    if len(text) > 32:
        raise InvalidPhone("That number is too long to be a phone number.")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("That does not look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("That is not a valid phone number; please check the digits.")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhone("Please give a mobile number, so we can text you about your visit.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
