"""The settings index: every settings screen is one click from it, for admins only."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_clinic

INDEX = "/admin/settings"
# Every part of the settings the clinic runs itself with; the index must lead to each.
SCREENS = {
    "/admin/settings/services",
    "/admin/settings/locations",
    "/admin/settings/rooms",
    "/admin/settings/closures",
    "/admin/settings/practitioners",
    "/admin/settings/staff",
    "/admin/settings/policy",
    "/desk/texts/templates",
    "/admin/settings/consent",
    "/admin/audit",
}


def links(markup: str) -> set[str]:
    main = markup.split("<main", 1)[1]
    return set(re.findall(r'href="(/[^"#?]*)"', main))


def test_the_index_leads_an_admin_to_every_settings_screen(app, signed_in):
    make_clinic()
    admin = signed_in("admin")
    page = admin.get(INDEX)
    assert page.status_code == 200
    found = links(page.get_data(as_text=True))
    assert found >= SCREENS, f"missing: {sorted(SCREENS - found)}"
    for path in sorted(found):
        assert admin.get(path).status_code == 200, path


def test_the_staff_navigation_shows_settings_to_admins_only(app, signed_in):
    make_clinic()
    admin = signed_in("admin", email="boss@example.com")
    assert f'href="{INDEX}"' in admin.get("/desk").get_data(as_text=True)


@pytest.mark.parametrize("role", ["desk", "practitioner"])
def test_other_roles_neither_see_nor_open_the_settings(app, signed_in, role):
    make_clinic()
    client = signed_in(role)
    assert f'href="{INDEX}"' not in client.get("/desk").get_data(as_text=True)
    assert client.get(INDEX).status_code == 403
    for path in sorted(SCREENS - {"/desk/texts/templates"}):
        assert client.get(path).status_code == 403, path
