"""Every page a patient or staff member sees passes axe-core (no serious or critical
violations) and html-validate (standard and a11y presets, .htmlvalidate.json), and none is
wider than a phone.

To check a new page, add one line to PAGES: a name, the address (``{placeholders}`` name the
records ``seed_pages`` makes: ``{patient}``, ``{open}``, ``{completed}`` ...), and for staff pages
the role that opens it. A page reached by submitting a form names the steps that submit it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Response
from playwright.sync_api import Page as BrowserPage

from clinic.actors import Actor, ActorKind
from clinic.adverse_events import services as adverse_events
from clinic.adverse_events.services import EventInput
from clinic.booking import services as booking
from clinic.booking.tokens import manage_token
from clinic.clock import FrozenClock
from clinic.consent.models import SignedConsent
from clinic.courses.services import CourseRequest, book_course
from clinic.extensions import db
from clinic.screening.models import Screening
from clinic.sms import inbound
from clinic.staff.models import StaffToken
from clinic.visits import services as visits
from clinic.visits.services import SessionInput
from tests.factories import all_no, make_booking, make_clinic, patient_details
from tests.helpers import PASSWORD, START, copy_sqlite_template, make_app, make_staff

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
# What the pages show: Monday 2 March 2026 in the middle of the clinic's day.
NOW = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # London is on GMT: UTC = local


# --- the pages ------------------------------------------------------------------------------


def submit_empty_details(page: BrowserPage) -> None:
    page.get_by_role("button", name="Book this visit").click()


def answer_a_stopping_question(page: BrowserPage) -> None:
    page.get_by_label("Full name", exact=True).fill("Robin Hale")
    page.get_by_label("Mobile number").fill("07911 000999")
    page.get_by_label("Date of birth").fill("30/06/1985")
    for answer in page.locator('input[type="radio"][value="no"]').all():
        answer.check()
    page.locator('input[type="radio"][name$="pregnancy"][value="yes"]').check()
    page.get_by_label("Type your full name to sign").fill("Robin Hale")
    page.get_by_label(re.compile(r"agree to the consent form")).check()
    page.get_by_role("button", name="Book this visit").click()


def publish_an_untitled_consent_version(page: BrowserPage) -> None:
    page.get_by_label("Title").fill("")
    page.get_by_role("button", name=re.compile(r"^Publish version")).click()


def submit_a_service_without_details(page: BrowserPage) -> None:
    page.get_by_role("button", name="Add the service").click()


def submit_a_location_without_a_phone(page: BrowserPage) -> None:
    page.get_by_label("Phone number").fill("")
    page.get_by_role("button", name="Save").click()


def submit_a_room_without_a_name(page: BrowserPage) -> None:
    page.get_by_role("button", name="Add the room").click()


def submit_backwards_hours(page: BrowserPage) -> None:
    page.get_by_label("Monday").fill("17:00-09:00")
    page.get_by_role("button", name="Save the hours").click()


def submit_time_off_without_times(page: BrowserPage) -> None:
    page.get_by_label("From (date)").fill("2026-03-04")
    page.get_by_label("Until (date)").fill("2026-03-04")
    page.get_by_role("button", name="Add the time off").click()


def save_equal_quiet_hours(page: BrowserPage) -> None:
    page.get_by_label("Quiet hours start").fill("20:00")
    page.get_by_label("Quiet hours end").fill("20:00")
    page.get_by_role("button", name="Save", exact=True).click()


def save_later_quiet_hours(page: BrowserPage) -> None:
    # Quiet hours only: a new cancellation window would change what the patients' pages offer.
    page.get_by_label("Quiet hours start").fill("20:30")
    page.get_by_role("button", name="Save", exact=True).click()


def save_a_confirmation_without_its_link(page: BrowserPage) -> None:
    section = page.locator("section#confirmation")
    section.get_by_text("Change this wording").click()
    section.get_by_label("Wording").fill("{clinic}: see you on {date} at {time}.")
    section.get_by_role("button", name="Check and save").click()


def send_empty_invite(page: BrowserPage) -> None:
    page.get_by_role("button", name="Send the invitation").click()


def deactivate_oneself(page: BrowserPage) -> None:
    # The only admin: refused as the last active administrator.
    page.get_by_role("button", name=re.compile("^Deactivate")).click()


def mismatched_passwords(page: BrowserPage) -> None:
    page.get_by_label("New password").fill("a long enough password")
    page.get_by_label("The same password again").fill("another long password")
    page.get_by_role("button", name="Save the password").click()


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    # None: a public page, opened signed out.
    role: str | None = "admin"
    status: int = 200
    # Steps taken on the page at ``path`` that submit a form and lead to the page checked.
    steps: Callable[[BrowserPage], None] | None = None


DETAILS = "/book/microneedling-prp/details?start=2026-03-03T10:00:00%2B00:00"

PAGES = [
    # The public booking pages.
    Page("start", "/", role=None),
    Page("choose a day", "/book/microneedling", role=None),
    Page("choose a time", "/book/microneedling/slots?day=2026-03-03", role=None),
    Page("details", DETAILS, role=None),
    Page("details with errors", DETAILS, role=None, status=422, steps=submit_empty_details),
    Page("stopped by an answer", DETAILS, role=None, status=422, steps=answer_a_stopping_question),
    Page("confirmed", "/manage/{token}/confirmed", role=None),
    Page("manage", "/manage/{token}", role=None),
    Page("reschedule", "/manage/{token}/reschedule", role=None),
    Page("not found", "/no-such-page", role=None, status=404),
    Page("unreadable link", "/manage/not-a-token", role=None, status=404),
    Page("closed link", "/manage/{closed_token}", role=None, status=410),
    Page("bad request", "/book/microneedling/slots?day=someday", role=None, status=400),
    # Staff pages.
    Page("sign in", "/login", role=None),
    Page("desk", "/desk", role="desk"),
    Page("desk as a practitioner", "/desk", role="practitioner"),
    Page("calendar by room", "/desk?by=room", role="desk"),
    Page("calendar week", "/desk?view=week", role="desk"),
    Page("calendar, another day", "/desk?day=2026-03-03", role="desk"),
    Page("patient search", "/desk/patients?q=Morgan", role="desk"),
    Page("patient", "/desk/patients/{patient}", role="desk"),
    Page("patient as a practitioner", "/desk/patients/{patient}", role="practitioner"),
    Page("patient contact edit", "/desk/patients/{patient}/edit", role="desk"),
    Page("desk booking", "/desk/book", role="desk"),
    Page("desk booking search", "/desk/book?q=Shah", role="desk"),
    Page("desk booking, new patient", "/desk/book?new=1", role="desk"),
    Page(
        "desk booking, free times",
        "/desk/book?patient={patient}&service=microneedling&day=2026-03-03",
        role="desk",
    ),
    Page("visit, open", "/desk/visits/{open}", role="desk"),
    Page("visit, needs review", "/desk/visits/{needs_review}", role="desk"),
    Page("visit, checked in", "/desk/visits/{checked_in}", role="practitioner"),
    Page("visit, completed with record", "/desk/visits/{completed}", role="practitioner"),
    Page("aftercare sheet", "/desk/visits/{completed}/aftercare", role="practitioner"),
    Page("signed consent", "/desk/visits/consents/{consent}", role="practitioner"),
    Page("review queue", "/review", role="practitioner"),
    Page("review detail", "/review/{screening}", role="practitioner"),
    Page("new course", "/desk/courses/new?patient={course_patient}", role="desk"),
    Page("course", "/desk/courses/{course}", role="desk"),
    Page("texts", "/desk/texts", role="desk"),
    Page("text alerts", "/desk/texts/alerts", role="desk"),
    Page("text inbox", "/desk/texts/inbox", role="desk"),
    Page("a patient's texts", "/desk/texts/patients/{texter}", role="desk"),
    Page("text templates", "/desk/texts/templates"),
    Page("text consent", "/desk/patients/{texter}/texts", role="desk"),
    Page("possible duplicates", "/desk/patients/duplicates", role="desk"),
    Page("adverse events", "/desk/adverse-events", role="practitioner"),
    Page("adverse event", "/desk/adverse-events/{event}", role="practitioner"),
    Page("new adverse event", "/desk/adverse-events/new?appointment={completed}"),
    Page("edit adverse event", "/desk/adverse-events/{event}/edit", role="practitioner"),
    Page("audit log", "/admin/audit"),
    Page("settings", "/admin/settings"),
    Page("consent versions", "/admin/settings/consent"),
    Page("consent version", "/admin/settings/consent/1"),
    Page("publish consent version", "/admin/settings/consent/new"),
    Page(
        "publish consent version with errors",
        "/admin/settings/consent/new",
        status=422,
        steps=publish_an_untitled_consent_version,
    ),
    Page("settings services", "/admin/settings/services"),
    Page("settings a service", "/admin/settings/services/{settings_service}"),
    Page("settings new service", "/admin/settings/services/new"),
    Page(
        "settings new service with errors",
        "/admin/settings/services/new",
        status=422,
        steps=submit_a_service_without_details,
    ),
    Page("settings locations", "/admin/settings/locations"),
    Page("settings new location", "/admin/settings/locations/new"),
    Page("settings a location", "/admin/settings/locations/{settings_location}"),
    Page(
        "settings a location with errors",
        "/admin/settings/locations/{settings_location}",
        status=422,
        steps=submit_a_location_without_a_phone,
    ),
    Page("settings rooms", "/admin/settings/rooms"),
    Page(
        "settings rooms with errors",
        "/admin/settings/rooms",
        status=422,
        steps=submit_a_room_without_a_name,
    ),
    Page("settings a room", "/admin/settings/rooms/{settings_room}"),
    Page("settings, practitioners", "/admin/settings/practitioners"),
    Page("settings, a practitioner", "/admin/settings/practitioners/1"),
    Page("settings, add a practitioner", "/admin/settings/practitioners/new"),
    Page("settings, weekly hours", "/admin/settings/practitioners/1/hours"),
    Page(
        "settings, weekly hours with errors",
        "/admin/settings/practitioners/1/hours",
        status=422,
        steps=submit_backwards_hours,
    ),
    Page("settings, time off", "/admin/settings/practitioners/1/time-off"),
    Page(
        "settings, time off with errors",
        "/admin/settings/practitioners/1/time-off",
        status=422,
        steps=submit_time_off_without_times,
    ),
    Page("settings, closures", "/admin/settings/closures"),
    Page("policy settings", "/admin/settings/policy"),
    Page(
        "policy settings with errors",
        "/admin/settings/policy",
        status=422,
        steps=save_equal_quiet_hours,
    ),
    Page(
        "policy settings, the clinic's own", "/admin/settings/policy", steps=save_later_quiet_hours
    ),
    Page(
        "text templates with errors",
        "/desk/texts/templates",
        status=422,
        steps=save_a_confirmation_without_its_link,
    ),
    Page("staff accounts", "/admin/settings/staff"),
    Page("invite staff", "/admin/settings/staff/invite"),
    Page(
        "invite staff, errors", "/admin/settings/staff/invite", status=422, steps=send_empty_invite
    ),
    Page("staff account", "/admin/settings/staff/{desk_account}"),
    Page(
        "staff account, refused",
        "/admin/settings/staff/{admin_account}",
        status=409,
        steps=deactivate_oneself,
    ),
    Page("choose a password", "/password/{password_link}", role=None),
    Page(
        "choose a password, errors",
        "/password/{password_link}",
        role=None,
        status=422,
        steps=mismatched_passwords,
    ),
    Page("password link not found", "/password/" + "A" * 43, role=None, status=404),
    Page("waitlist", "/desk/waitlist", role="desk"),
    Page("waitlist, add a patient", "/desk/waitlist/new", role="desk"),
    Page("join the waitlist", "/waitlist/join/microneedling", role=None),
    Page("reports", "/desk/reports?from=2026-02-01&to=2026-03-02", role="practitioner"),
    Page("reports, an empty period", "/desk/reports?from=2025-01-01&to=2025-01-31"),
    Page("day sheet", "/desk/reports/day-sheet?day=2026-03-02", role="desk"),
    Page("staff page not found", "/desk/visits/999999", role="desk", status=404),
    Page("staff page refused", "/admin/audit", role="desk", status=403),
]


def page_id(page: Page) -> str:
    return page.name.replace(" ", "-").replace(",", "")


# --- a small clinic with a visit in every state ---------------------------------------------

PRP_SESSION = SessionInput(
    device="pen",
    needle_depth_mm=1.0,
    areas=("crown",),
    numbing_used=True,
    add_ons=("prp",),
    cartridge_lot="CT-2291",
    prp_kit_lot="PK-0077",
)


def seed_pages(clock: FrozenClock) -> dict[str, str]:
    """Staff of each role and visits in each state; returns what the page addresses name."""
    clinic = make_clinic(practitioners=2, rooms=2)
    practitioner = make_staff(
        role="practitioner",
        email="practitioner@example.com",
        name="Dr Rao",
        practitioner_id=clinic.practitioners[0].id,
    )
    desk_account = make_staff(role="desk", email="desk@example.com")
    admin_account = make_staff(role="admin", email="admin@example.com", name="Kim Admin")

    # Everything is booked the day before, online, as patients would.
    monday_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    monday_11 = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    clock.set(START - timedelta(days=1))
    born = date(1988, 4, 12)
    completed = make_booking(
        "microneedling-prp",
        monday_9,
        patient=patient_details(full_name="Alex de Morgan", date_of_birth=born),
    )
    checked_in = make_booking(
        "microneedling",
        monday_11,
        patient=patient_details(full_name="Priya Shah", phone="+447911000222"),
    )
    open_visit = make_booking(
        "consultation",
        # Far enough ahead for the patient to move it themselves.
        TUESDAY_10 + timedelta(days=3),
        patient=patient_details(full_name="Sam Patel", phone="+447911000333"),
    )
    needs_review = make_booking(
        "microneedling",
        TUESDAY_10 + timedelta(days=1),
        patient=patient_details(full_name="Chris Doe", phone="+447911000444"),
        screening=all_no("microneedling") | {"anticoagulant": True},
    )
    cancelled = make_booking(
        "consultation",
        TUESDAY_10 + timedelta(days=3, hours=2),
        patient=patient_details(full_name="Jamie Fox", phone="+447911000555"),
    )
    # Cancelling closes the links sent so far.
    closed_token = manage_token(cancelled)
    booking.cancel(cancelled, reason="Away", by=Actor(ActorKind.DESK, staff_name="Jo Ellis"))
    # Same mobile and birthday as Alex de Morgan, another name: a possible duplicate.
    make_booking(
        "consultation",
        TUESDAY_10 + timedelta(days=2),
        patient=patient_details(full_name="Alexander Morgan", date_of_birth=born),
    )

    clock.set(monday_9 - timedelta(minutes=10))
    visits.check_in(completed.id, changes_since_last_visit=False)
    clock.set(monday_9 + timedelta(minutes=75))
    visits.complete(completed.id, PRP_SESSION, practitioner)
    clock.set(monday_11 - timedelta(minutes=10))
    visits.check_in(checked_in.id, changes_since_last_visit=False)
    clock.set(NOW)
    event = adverse_events.record_event(
        completed.id,
        EventInput(
            onset_at=monday_9 + timedelta(minutes=80),
            event_type="infection",
            description="Redness on the crown.",
            severity="mild",
            action_taken="Advice given.",
            outcome="recovering",
        ),
        by=Actor.staff(practitioner),
    )
    inbound.receive(
        "SM" + "1" * 32, "+447911000222", "+447700900001", "My scalp is bleeding, is that ok?"
    )
    course = book_course(
        CourseRequest(
            patient_id=open_visit.patient_id,
            service_slug="microneedling-prp",
            template_key="four-weekly-6",
            first_start=TUESDAY_10 + timedelta(days=7),
        ),
        practitioner,
    )
    db.session.commit()
    screening = db.session.scalar(
        db.select(Screening).where(Screening.appointment_id == needs_review.id)
    )
    consent = db.session.scalar(
        db.select(SignedConsent).where(SignedConsent.appointment_id == completed.id)
    )
    return {
        "token": manage_token(open_visit),
        "closed_token": closed_token,
        "open": str(open_visit.id),
        "needs_review": str(needs_review.id),
        "checked_in": str(checked_in.id),
        "completed": str(completed.id),
        "consent": str(consent.id),
        "screening": str(screening.id),
        "course": str(course.id),
        # A patient with an open visit, a course and texts planned: for patient pages.
        "patient": str(open_visit.patient_id),
        "course_patient": str(open_visit.patient_id),
        "texter": str(checked_in.patient_id),
        "event": str(event.id),
        "settings_service": str(clinic.services["microneedling"].id),
        "settings_location": str(clinic.location.id),
        "settings_room": str(clinic.rooms[0].id),
        "desk_account": str(desk_account.id),
        "admin_account": str(admin_account.id),
        "password_link": invitation_link(),
    }


def invitation_link() -> str:
    """An invited account's one-time link, as its email would carry it (the page app sends no
    email, so the token is stored here as the invitation stores it)."""
    invitee = make_staff(role="desk", email="newcomer@example.com", name="Nia Newcomer")
    invitee.invite_pending = True
    token = "N" * 43
    db.session.add(
        StaffToken(
            staff_user_id=invitee.id,
            purpose="invite",
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            created_at=NOW,
            expires_at=NOW + timedelta(hours=72),
        )
    )
    db.session.commit()
    return token


@dataclass
class Site:
    base: str
    records: dict[str, str]

    def url(self, page: Page) -> str:
        return self.base + page.path.format(**self.records)


@pytest.fixture(scope="module")
def site(sqlite_template, tmp_path_factory, serve_for_module):
    folder = tmp_path_factory.mktemp("page-quality")
    clock = FrozenClock(START)
    app = make_app(copy_sqlite_template(sqlite_template, folder), clock, folder)
    with app.app_context():
        records = seed_pages(clock)
        db.session.remove()
    return Site(serve_for_module(app), records)


class Tabs:
    """One browser tab per role and kind of check, signed in once, kept for the module."""

    def __init__(self, browser: Browser, site: Site):
        self.browser = browser
        self.site = site
        self.made: dict[tuple[str | None, str], BrowserContext] = {}

    def get(self, role: str | None, kind: str) -> BrowserPage:
        if (role, kind) not in self.made:
            options = {
                # axe is injected as a script of its own: only this context may ignore the CSP.
                "axe": {"bypass_csp": True},
                "phone": {"viewport": {"width": PHONE_WIDTH, "height": 740}},
                "plain": {},
            }[kind]
            context = self.browser.new_context(**options)
            tab = context.new_page()
            if role is not None:
                self._sign_in(tab, role)
            self.made[(role, kind)] = context
        return self.made[(role, kind)].pages[0]

    def _sign_in(self, tab: BrowserPage, role: str) -> None:
        tab.goto(self.site.base + "/login")
        tab.get_by_label("Email").fill(f"{role}@example.com")
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_url(re.compile(r"/desk"))

    def close(self) -> None:
        for context in self.made.values():
            context.close()


@pytest.fixture(scope="module")
def tabs(browser, site):
    made = Tabs(browser, site)
    yield made
    made.close()


def open_page(browser_page: BrowserPage, site: Site, page: Page) -> Response:
    """Go to the page (and submit its form, if it is reached that way); the document's answer."""
    response = browser_page.goto(site.url(page))
    if page.steps is not None:
        with browser_page.expect_navigation() as navigation:
            page.steps(browser_page)
        response = navigation.value
    assert response is not None
    assert response.status == page.status, f"{page.name}: {response.status} at {response.url}"
    return response


# --- axe-core -------------------------------------------------------------------------------

BLOCKING_IMPACTS = ("serious", "critical")
RUN_AXE = """async () => {
    const results = await axe.run(document, {resultTypes: ["violations"]});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
    }));
}"""


def axe_report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']}: {violation['id']} - {violation['help']}")
        for node in violation["nodes"][:5]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_has_no_serious_or_critical_axe_violations(page, site, tabs, node_modules):
    tab = tabs.get(page.role, "axe")
    open_page(tab, site, page)
    tab.add_script_tag(path=node_modules / "axe-core" / "axe.min.js")
    violations = [v for v in tab.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]
    assert not violations, f"axe-core on {page.name} ({page.path}):\n{axe_report(violations)}"


# --- html-validate --------------------------------------------------------------------------


def validate_html(node_modules, files: dict[str, str]) -> list[str]:
    """html-validate's errors in ``files`` (file path -> page name), in one process call."""
    config = node_modules.parent / ".htmlvalidate.json"
    # To a file: node may exit before a long answer on a pipe is all written.
    report_path = Path(next(iter(files))).with_name("html-validate.json")
    result = subprocess.run(
        [
            str(node_modules / ".bin" / "html-validate"),
            "--config",
            str(config),
            "--formatter",
            f"json={report_path}",
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode not in (0, 1) or not report_path.exists():
        pytest.fail(f"html-validate did not run: {result.returncode}\n{result.stderr}")
    problems = []
    for report in json.loads(report_path.read_text(encoding="utf-8")):
        for message in report["messages"]:
            if message["severity"] >= 2:
                problems.append(
                    f"{files[report['filePath']]} line {message['line']}: "
                    f"{message['ruleId']} - {message['message']}"
                    + (f" ({message['selector']})" if message.get("selector") else "")
                )
    return problems


def test_every_page_passes_html_validate(site, tabs, node_modules, tmp_path):
    files = {}
    for number, page in enumerate(PAGES):
        html = open_page(tabs.get(page.role, "plain"), site, page).text()
        path = tmp_path / f"{number:02d}-{page_id(page)}.html"
        path.write_text(html, encoding="utf-8")
        files[str(path)] = page.name
    problems = validate_html(node_modules, files)
    assert not problems, "html-validate:\n" + "\n".join(problems)


def test_the_validator_catches_a_duplicate_id_and_an_unlabelled_input(node_modules, tmp_path):
    # The checks themselves can fail: a page with the faults the staff pages once had.
    path = tmp_path / "faulty.html"
    path.write_text(
        '<!doctype html><html lang="en-GB"><head><title>Faulty</title></head><body><main>'
        '<h1>Faulty</h1><ul aria-label="Visits"><li>One</li></ul>'
        '<form method="post"><input type="hidden" id="csrf_token" name="a" value="1">'
        '<input type="text" name="q"><button type="submit">Go</button></form>'
        '<form method="post"><input type="hidden" id="csrf_token" name="a" value="1">'
        '<button type="submit">Go</button></form></main></body></html>',
        encoding="utf-8",
    )
    problems = "\n".join(validate_html(node_modules, {str(path): "faulty"}))
    assert "no-dup-id" in problems
    assert "input-missing-label" in problems
    assert "aria-label-misuse" in problems


# --- phone width ----------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_is_no_wider_than_a_phone(page, site, tabs):
    tab = tabs.get(page.role, "phone")
    open_page(tab, site, page)
    scroll_width, inner_width = tab.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    # Named in the message: the elements that reach past the screen's edge.
    wide = tab.evaluate(
        """(limit) => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > limit + 1)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""",
        inner_width,
    )
    assert scroll_width <= inner_width, (
        f"{page.name} is {scroll_width}px wide on a {inner_width}px phone: {wide}"
    )
