"""``flask create-staff``: the way the first admin (and any later account) comes to exist."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from clinic.errors import ValidationFailed
from clinic.staff import accounts, services
from clinic.staff.models import Role


@click.command("create-staff")
@click.option("--email", required=True, help="Sign-in email address (stored lower-case).")
@click.option("--name", required=True, help="Name shown to colleagues.")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option(
    "--practitioner-id",
    type=int,
    default=None,
    help="Link a practitioner account to this practitioner's diary (role practitioner only).",
)
# Prompted twice and hidden, so the password stays out of shell history and process lists.
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {services.MIN_PASSWORD_LENGTH} characters; asked for when left out.",
)
@with_appcontext
def create_staff_command(
    email: str, name: str, role: str, practitioner_id: int | None, password: str
) -> None:
    """Create a staff account."""
    try:
        user = services.create_staff(
            email=email,
            name=name,
            role=role,
            password=password,
            practitioner_id=practitioner_id,
        )
    except ValidationFailed as exc:
        problems = "\n".join(
            f"  {field.replace('_', '-')}: {message}"
            for field, messages in exc.errors.items()
            for message in messages
        )
        raise click.ClickException(f"the account was not created:\n{problems}") from exc
    click.echo(f"Created {user.role} account {user.email} ({user.name}).")


@click.command("reset-password")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {services.MIN_PASSWORD_LENGTH} characters; asked for when left out.",
)
@with_appcontext
def reset_password_command(email: str, password: str) -> None:
    """Give a staff account a new password; every session of the account ends at once."""
    try:
        user = services.set_password(email, password)
    except ValidationFailed as exc:
        problems = "\n".join(
            f"  {field}: {message}"
            for field, messages in exc.errors.items()
            for message in messages
        )
        raise click.ClickException(f"the password was not changed:\n{problems}") from exc
    # The links it closed (an invitation, a reset) must not arrive by email afterwards. Apart
    # from set_password, which sits beneath the email outbox; were this step lost, an email
    # would only carry a link that no longer works.
    accounts.settle_after_command_line_password(user.id)
    click.echo(f"New password set for {user.email}; its sessions have ended.")
