"""Staff accounts run by admins: invitations and password links (random, stored hashed, single
use, expiring, replaced by a newer one), roles, deactivation, and the rule that the last
active admin stays, on SQLite and PostgreSQL; the invitation goes out over real SMTP."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from datetime import timedelta
from email import message_from_string
from email.policy import default

import pytest
from sqlalchemy import select

from clinic.actors import Actor
from clinic.audit.models import AuditEvent
from clinic.errors import (
    ChangeNotAllowed,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    NotFound,
    ValidationFailed,
)
from clinic.extensions import db
from clinic.mail.dispatch import email_pass
from clinic.mail.models import EmailStatus, OutboundEmail
from clinic.sms.models import StaffAlert
from clinic.staff import accounts
from clinic.staff.attempts import authenticate
from clinic.staff.models import StaffToken, StaffUser
from clinic.web.log_privacy import redact_links
from tests.factories import make_clinic
from tests.helpers import PASSWORD, make_staff
from tests.smtp_server import SmtpServer

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://clinic\.test/password/([A-Za-z0-9_-]{43})")


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app_config(smtp):
    return {"SMTP_URL": smtp.url, "EMAIL_FROM": "Northside Hair Clinic <care@clinic.test>"}


@pytest.fixture
def admin(any_app):
    return make_staff(role="admin", email="kim@example.com", name="Kim Admin")


def as_actor(user: StaffUser) -> Actor:
    return Actor.staff(user, ip_address="127.0.0.1")


def fresh(user: StaffUser) -> StaffUser:
    db.session.expire_all()
    return db.session.get(StaffUser, user.id)


def version(user: StaffUser) -> str:
    return accounts.fingerprint(fresh(user))


def invite_desk(admin, email="sam@example.com", **overrides) -> StaffUser:
    values = {"name": "Sam Lee", "email": email, "role": "desk", "practitioner_id": None}
    values.update(overrides)
    return accounts.invite(**values, by=as_actor(admin))


def latest_link(user: StaffUser) -> str:
    """The one-time token in the newest email planned for ``user``."""
    db.session.expire_all()
    row = db.session.scalars(
        select(OutboundEmail)
        .where(OutboundEmail.staff_user_id == user.id)
        .order_by(OutboundEmail.id.desc())
    ).first()
    message = message_from_string(row.message, policy=default)
    return LINK.search(message.get_body(preferencelist=("plain",)).get_content()).group(1)


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- invitations -----------------------------------------------------------------------------


def test_an_invited_account_cannot_sign_in_until_its_link_sets_a_password(admin):
    user = invite_desk(admin)
    assert fresh(user).invite_pending and fresh(user).active
    assert authenticate("sam@example.com", "") is None
    token = latest_link(user)
    holder = accounts.link_holder(token)
    assert (holder.name, holder.email, holder.purpose) == ("Sam Lee", "sam@example.com", "invite")

    accounts.choose_password(token, NEW_PASSWORD)

    assert not fresh(user).invite_pending
    assert authenticate("sam@example.com", NEW_PASSWORD).id == user.id
    assert fresh(user).last_sign_in_at is not None


def test_only_the_hash_of_a_link_is_stored_and_no_audit_row_holds_it(admin):
    user = invite_desk(admin)
    token = latest_link(user)
    accounts.choose_password(token, NEW_PASSWORD)
    [stored] = db.session.scalars(select(StaffToken)).all()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    everything = " ".join(
        f"{row.action} {row.changes} {row.detail}" for row in db.session.scalars(select(AuditEvent))
    )
    assert token not in everything and NEW_PASSWORD not in everything
    assert "password_hash" not in everything
    [invited] = audit_rows("settings.staff_invited")
    assert invited.staff_id == admin.id and invited.changes["role"] == [None, "desk"]
    [accepted] = audit_rows("staff.password_set")
    assert accepted.staff_id == user.id


def test_a_link_works_once(admin):
    user = invite_desk(admin)
    token = latest_link(user)
    accounts.choose_password(token, NEW_PASSWORD)
    with pytest.raises(LinkRevoked, match="used already"):
        accounts.choose_password(token, "someone else's password")
    with pytest.raises(LinkRevoked):
        accounts.link_holder(token)
    assert authenticate("sam@example.com", NEW_PASSWORD) is not None


def test_an_invitation_expires_after_staff_invite_hours(any_app, admin, clock):
    user = invite_desk(admin)
    token = latest_link(user)
    clock.advance(timedelta(hours=72) - timedelta(seconds=1))
    assert accounts.link_holder(token).purpose == "invite"
    clock.advance(timedelta(seconds=1))
    with pytest.raises(LinkExpired):
        accounts.choose_password(token, NEW_PASSWORD)
    assert fresh(user).invite_pending


def test_resending_an_invitation_replaces_the_old_link_and_its_unsent_email(admin):
    user = invite_desk(admin)
    old = latest_link(user)
    accounts.resend_invite(user.id, version=version(user), by=as_actor(admin))
    new = latest_link(user)
    assert new != old
    with pytest.raises(LinkRevoked, match="replaced"):
        accounts.link_holder(old)
    statuses = [
        (row.status, row.message == "")
        for row in db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id))
    ]
    assert statuses == [(EmailStatus.SKIPPED, True), (EmailStatus.PENDING, False)]
    accounts.choose_password(new, NEW_PASSWORD)
    assert audit_rows("settings.staff_invite_resent")


@pytest.mark.parametrize(
    "token",
    ["", "x", "a" * 42, "a" * 44, "a" * 10_000, "../../etc/passwd" + "a" * 27, "A" * 43],
)
def test_a_malformed_or_unknown_link_is_not_found(admin, token):
    invite_desk(admin)
    with pytest.raises(LinkInvalid):
        accounts.link_holder(token)
    with pytest.raises(LinkInvalid):
        accounts.choose_password(token, NEW_PASSWORD)


@pytest.mark.parametrize("password", ["short", " " * 11, "x" * 257])
def test_a_password_outside_the_rules_is_refused_and_the_link_stays_open(admin, password):
    user = invite_desk(admin)
    token = latest_link(user)
    with pytest.raises(ValidationFailed) as refused:
        accounts.choose_password(token, password)
    assert "password" in refused.value.errors
    accounts.choose_password(token, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "N" * 121}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b.c" + "x" * 300}, "email"),
        ({"email": "s\u00e1m@example.com"}, "email"),  # the outbox sends plain SMTP
        ({"email": "sam@example.com\r\nBcc: x@example.com"}, "email"),
        ({"email": "KIM@example.com "}, "email"),  # taken, whatever the case
        ({"role": "superuser"}, "role"),
        ({"practitioner_id": 1}, "practitioner_id"),  # a desk account links no diary
        ({"role": "practitioner", "practitioner_id": 999_999}, "practitioner_id"),
    ],
)
def test_bad_invitations_are_refused_field_by_field_and_leave_nothing(admin, overrides, field):
    make_clinic()
    with pytest.raises(ValidationFailed) as refused:
        invite_desk(admin, **overrides)
    assert field in refused.value.errors
    db.session.expire_all()
    assert db.session.scalars(select(StaffUser)).all() == [admin]
    assert not db.session.scalars(select(OutboundEmail)).all()
    assert not db.session.scalars(select(StaffToken)).all()


def test_a_practitioner_is_invited_with_their_diary(admin):
    clinic = make_clinic()
    practitioner = clinic.practitioners[0]
    user = invite_desk(admin, role="practitioner", practitioner_id=practitioner.id)
    assert fresh(user).practitioner_id == practitioner.id


def test_nothing_is_invited_while_email_is_off(any_app, admin):
    any_app.config["SMTP_URL"] = ""
    with pytest.raises(ChangeNotAllowed, match="SMTP_URL"):
        invite_desk(admin)
    assert db.session.scalars(select(StaffUser)).all() == [admin]


def test_the_invitation_arrives_over_smtp_and_its_stored_copy_is_emptied(admin, smtp):
    user = invite_desk(admin)
    assert email_pass()["sent"] == 1
    [received] = smtp.messages
    message = received.message
    assert received.rcpt_tos == ("sam@example.com",)
    assert message["Subject"] == "Your staff account at Northside Hair Clinic"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    token = LINK.search(text).group(1)
    assert f"/password/{token}" in html
    assert "Kim Admin" in text and "72 hours" in text
    db.session.expire_all()
    [row] = db.session.scalars(select(OutboundEmail)).all()
    assert (row.status, row.message, row.patient_id) == (EmailStatus.SENT, "", None)
    accounts.choose_password(token, NEW_PASSWORD)
    assert authenticate(user.email, NEW_PASSWORD) is not None


def test_a_staff_email_refused_for_good_raises_no_desk_task(admin, smtp):
    invite_desk(admin)
    smtp.refuse_next("550 no such mailbox")
    report = email_pass()
    assert report["failed"] == 1
    assert not db.session.scalars(select(StaffAlert)).all()
    assert accounts.accounts()[-1].email_status == EmailStatus.FAILED


def test_the_link_in_a_log_line_is_redacted():
    line = '"GET /password/AbC_-12 HTTP/1.1" 200'
    assert redact_links(line) == '"GET /password/<redacted> HTTP/1.1" 200'


# --- roles, deactivation, the last admin -----------------------------------------------------


def test_a_role_change_is_audited_and_a_practitioner_link_needs_the_role(admin):
    clinic = make_clinic()
    desk = make_staff(role="desk", email="desk@example.com")
    practitioner = clinic.practitioners[0]
    with pytest.raises(ValidationFailed) as refused:
        accounts.change_role(
            desk.id,
            role="desk",
            practitioner_id=practitioner.id,
            version=version(desk),
            by=as_actor(admin),
        )
    assert "practitioner_id" in refused.value.errors
    accounts.change_role(
        desk.id,
        role="practitioner",
        practitioner_id=practitioner.id,
        version=version(desk),
        by=as_actor(admin),
    )
    assert (fresh(desk).role, fresh(desk).practitioner_id) == ("practitioner", practitioner.id)
    [row] = audit_rows("settings.staff_role_changed")
    assert row.changes == {
        "role": ["desk", "practitioner"],
        "practitioner_id": [None, practitioner.id],
    }


def test_a_change_from_a_page_opened_before_another_change_is_refused(admin):
    desk = make_staff(role="desk", email="desk@example.com")
    shown = version(desk)
    accounts.change_role(
        desk.id, role="admin", practitioner_id=None, version=shown, by=as_actor(admin)
    )
    with pytest.raises(accounts.StaleAccountForm):
        accounts.deactivate(desk.id, version=shown, by=as_actor(admin))
    with pytest.raises(accounts.StaleAccountForm):
        accounts.deactivate(desk.id, version="x" * 5000, by=as_actor(admin))
    assert fresh(desk).active


def test_an_unknown_account_is_not_found(admin):
    with pytest.raises(NotFound):
        accounts.deactivate(999_999, version="", by=as_actor(admin))


def test_deactivating_ends_every_session_and_link_at_once(admin):
    desk = make_staff(role="desk", email="desk@example.com")
    sessions_before = fresh(desk).session_version
    accounts.deactivate(desk.id, version=version(desk), by=as_actor(admin))
    user = fresh(desk)
    assert not user.active and user.session_version == sessions_before + 1
    assert authenticate("desk@example.com", PASSWORD) is None
    accounts.reactivate(desk.id, version=version(desk), by=as_actor(admin))
    assert authenticate("desk@example.com", PASSWORD).id == desk.id
    assert [row.changes for row in audit_rows("settings.staff_deactivated")] == [
        {"active": [True, False]}
    ]
    assert audit_rows("settings.staff_reactivated")


def test_a_deactivated_invitee_cannot_use_the_link(admin):
    user = invite_desk(admin)
    token = latest_link(user)
    accounts.deactivate(user.id, version=version(user), by=as_actor(admin))
    with pytest.raises(LinkRevoked):
        accounts.choose_password(token, NEW_PASSWORD)


def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(admin):
    with pytest.raises(ChangeNotAllowed, match="last active administrator"):
        accounts.deactivate(admin.id, version=version(admin), by=as_actor(admin))
    with pytest.raises(ChangeNotAllowed, match="last active administrator"):
        accounts.change_role(
            admin.id, role="desk", practitioner_id=None, version=version(admin), by=as_actor(admin)
        )
    # An admin invited but not yet signed in neither counts nor acts.
    invitee = invite_desk(admin, role="admin")
    with pytest.raises(ChangeNotAllowed, match="last active administrator"):
        accounts.deactivate(admin.id, version=version(admin), by=as_actor(admin))
    with pytest.raises(ChangeNotAllowed, match="no longer change"):
        accounts.deactivate(admin.id, version=version(admin), by=as_actor(invitee))
    assert fresh(admin).active and fresh(admin).role == "admin"


def test_an_admin_cannot_deactivate_or_demote_themselves(admin):
    make_staff(role="admin", email="ola@example.com", name="Ola Admin")
    with pytest.raises(ChangeNotAllowed, match="your own"):
        accounts.deactivate(admin.id, version=version(admin), by=as_actor(admin))
    with pytest.raises(ChangeNotAllowed, match="your own"):
        accounts.change_role(
            admin.id, role="desk", practitioner_id=None, version=version(admin), by=as_actor(admin)
        )
    assert fresh(admin).active and fresh(admin).role == "admin"


def test_a_demoted_or_deactivated_admin_can_change_nothing(admin):
    other = make_staff(role="admin", email="ola@example.com", name="Ola Admin")
    desk = make_staff(role="desk", email="desk@example.com")
    accounts.change_role(
        other.id, role="desk", practitioner_id=None, version=version(other), by=as_actor(admin)
    )
    with pytest.raises(ChangeNotAllowed, match="no longer change"):
        accounts.deactivate(desk.id, version=version(desk), by=as_actor(other))


def test_two_admins_demoting_each_other_at_once_leave_one_admin(any_app, admin):
    other = make_staff(role="admin", email="ola@example.com", name="Ola Admin")
    pairs = [(admin, other), (other, admin)]
    shown = {user.id: version(user) for user in (admin, other)}
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def run(index: int, actor: StaffUser, target: StaffUser) -> None:
        with any_app.app_context():
            try:
                barrier.wait(timeout=30)
                accounts.change_role(
                    target.id,
                    role="desk",
                    practitioner_id=None,
                    version=shown[target.id],
                    by=Actor.staff(actor),
                )
                outcomes[index] = "demoted"
            except Exception as exc:
                outcomes[index] = exc
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=run, args=(i, a, t), daemon=True) for i, (a, t) in enumerate(pairs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(map(type, outcomes), key=str) == sorted([str, ChangeNotAllowed], key=str)
    assert "no longer change" in next(o for o in outcomes if isinstance(o, Exception)).message
    db.session.commit()  # a fresh snapshot: the racers wrote from sessions of their own
    admins = db.session.scalars(select(StaffUser).where(StaffUser.role == "admin")).all()
    assert len(admins) == 1
    assert len(audit_rows("settings.staff_role_changed")) == 1


# --- password resets -------------------------------------------------------------------------


def test_a_reset_ends_the_old_password_and_every_session_at_once(admin, clock):
    desk = make_staff(role="desk", email="desk@example.com")
    sessions_before = fresh(desk).session_version
    accounts.send_password_reset(desk.id, version=version(desk), by=as_actor(admin))
    assert fresh(desk).session_version == sessions_before + 1
    assert authenticate("desk@example.com", PASSWORD) is None
    token = latest_link(desk)
    assert accounts.link_holder(token).purpose == "reset"
    clock.advance(timedelta(hours=23))
    accounts.choose_password(token, NEW_PASSWORD)
    assert authenticate("desk@example.com", NEW_PASSWORD).id == desk.id
    assert audit_rows("settings.staff_password_reset_sent")
    [row] = audit_rows("staff.password_set")
    assert row.detail == "from a reset link"


def test_a_reset_link_expires_after_staff_reset_hours(admin, clock):
    desk = make_staff(role="desk", email="desk@example.com")
    accounts.send_password_reset(desk.id, version=version(desk), by=as_actor(admin))
    token = latest_link(desk)
    clock.advance(timedelta(hours=24))
    with pytest.raises(LinkExpired):
        accounts.link_holder(token)


def test_a_new_reset_link_replaces_an_invitation_never_and_the_old_reset_always(admin):
    desk = make_staff(role="desk", email="desk@example.com")
    accounts.send_password_reset(desk.id, version=version(desk), by=as_actor(admin))
    first = latest_link(desk)
    accounts.send_password_reset(desk.id, version=version(desk), by=as_actor(admin))
    with pytest.raises(LinkRevoked):
        accounts.choose_password(first, NEW_PASSWORD)
    invitee = invite_desk(admin)
    with pytest.raises(ChangeNotAllowed, match="invitation"):
        accounts.send_password_reset(invitee.id, version=version(invitee), by=as_actor(admin))


def test_no_reset_for_oneself_or_a_deactivated_account(admin):
    desk = make_staff(role="desk", email="desk@example.com")
    accounts.deactivate(desk.id, version=version(desk), by=as_actor(admin))
    with pytest.raises(ChangeNotAllowed, match="Reactivate"):
        accounts.send_password_reset(desk.id, version=version(desk), by=as_actor(admin))
    with pytest.raises(ChangeNotAllowed, match="your own password"):
        accounts.send_password_reset(admin.id, version=version(admin), by=as_actor(admin))


def test_the_list_shows_role_diary_status_and_sign_in(admin):
    clinic = make_clinic()
    make_staff(
        role="practitioner",
        email="dr@example.com",
        name="Dr Rao",
        practitioner_id=clinic.practitioners[0].id,
    )
    invite_desk(admin)
    authenticate("kim@example.com", PASSWORD)
    rows = {row.user.email: row for row in accounts.accounts()}
    assert rows["dr@example.com"].practitioner_name == clinic.practitioners[0].name
    assert rows["sam@example.com"].user.invite_pending
    assert rows["sam@example.com"].email_status == EmailStatus.PENDING
    assert rows["kim@example.com"].user.last_sign_in_at is not None
    assert rows["dr@example.com"].user.last_sign_in_at is None
    assert Counter(row.user.role for row in rows.values()) == Counter(
        {"admin": 1, "practitioner": 1, "desk": 1}
    )


def test_a_password_set_with_the_command_line_settles_an_open_invitation(any_app, admin):
    user = invite_desk(admin)
    token = latest_link(user)
    result = any_app.test_cli_runner().invoke(
        args=["reset-password", "sam@example.com", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert not fresh(user).invite_pending
    with pytest.raises(LinkRevoked):
        accounts.link_holder(token)
    [email] = db.session.scalars(select(OutboundEmail)).all()
    assert (email.status, email.message) == (EmailStatus.SKIPPED, "")
    assert authenticate("sam@example.com", NEW_PASSWORD).id == user.id
