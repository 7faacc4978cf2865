"""Mobile numbers: everything stored is E.164, whatever the patient typed."""

from __future__ import annotations

import functools

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


# Regions that share a country's numbering and tariff: the Crown Dependencies' mobiles are
# +44 numbers that phonenumbers files under their own region.
REGION_FAMILIES = {"GB": frozenset({"GB", "GG", "JE", "IM"})}
REGION_NAMES = {
    "GB": "the UK",
    "US": "the US",
    "CA": "Canada",
    "IE": "Ireland",
    "AU": "Australia",
    "NZ": "New Zealand",
}


@functools.lru_cache(maxsize=4096)
def region_of(e164: str) -> str | None:
    """The region a stored number belongs to; a number phonenumbers does not call valid (the
    ranges kept for fiction) falls back to its country code's main region."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region is None:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return None if region in (None, phonenumbers.UNKNOWN_REGION) else region


@functools.lru_cache(maxsize=32)
def textable_regions(allowed: tuple[str, ...]) -> frozenset[str]:
    """The regions SMS_ALLOWED_COUNTRIES lets the clinic text, families included."""
    return frozenset().union(*(REGION_FAMILIES.get(r, frozenset({r})) for r in allowed))


@functools.lru_cache(maxsize=32)
def _whole_codes(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """ "+44"-style prefixes whose every region is allowed: no parsing needed for those (the
    dispatcher asks for every text it sends). Country codes never prefix one another."""
    regions = textable_regions(allowed)
    return tuple(
        f"+{code}"
        for code, members in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
        if set(members) <= regions
    )


def may_text(e164: str, allowed) -> bool:
    """Whether texts may go to this number under SMS_ALLOWED_COUNTRIES."""
    allowed = tuple(allowed)
    if e164.startswith(_whole_codes(allowed)):
        return True
    return region_of(e164) in textable_regions(allowed)


def allowed_names(allowed) -> str:
    names = [REGION_NAMES.get(region, region) for region in allowed]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def texts_not_allowed_message(allowed) -> str:
    return (
        f"We can only send texts to mobile numbers from {allowed_names(allowed)}. "
        "Untick the texts box to book without texts, or give a mobile number from "
        f"{allowed_names(allowed)}."
    )


def format_national(e164: str, region: str) -> str:
    """A stored number as people there write it: national format (07911 123456) when it
    belongs to ``region`` (the clinic's DEFAULT_PHONE_REGION, its family included),
    international (+1 201-555-0123) otherwise. What does not parse is shown as stored."""
    e164 = e164 or ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = region.upper()
    at_home = region_of(e164) in REGION_FAMILIES.get(home, frozenset({home}))
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if at_home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def normalize_phone(raw: str, default_region: str) -> str:
    """A clinic's own number (landline, mobile or freephone) checked as mobiles are, kept in
    international format (+44 20 7946 0321): it is read out to patients in texts and calendar
    entries as it is stored, and the spaces make it readable there. Raises InvalidPhone."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Enter the phone number patients should call.")
    if len(text) > 32:
        raise InvalidPhone("That number is too long to be a phone number.")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("That does not look like a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("That is not a valid phone number; please check the digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
