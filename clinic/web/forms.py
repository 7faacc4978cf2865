"""Putting a use case's field messages on the form that asked for it."""

from __future__ import annotations

from collections.abc import Mapping


def attach_errors(
    form,
    errors: Mapping[str, list[str]],
    names: Mapping[str, str] | None = None,
    *,
    fallback=None,
) -> list[str]:
    """Put a service's field messages (ValidationFailed.errors) beside the form's own.

    ``names`` maps a service's field name to the form's where they differ. A message for a
    field the form lacks goes on ``fallback`` when one is given; the rest are returned, for the
    page to show as a whole.
    """
    general = []
    for name, messages in errors.items():
        field = getattr(form, (names or {}).get(name, name), None)
        if field is None or not hasattr(field, "errors"):
            field = fallback
        if field is None:
            general.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
    return general
