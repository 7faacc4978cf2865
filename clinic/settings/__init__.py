"""Settings: the screens where an admin runs the clinic without code.

Every settings page is nested in the staff area's admin blueprint (/admin/settings), so only
signed-in admins reach it. Each part has its own blueprint module here; ``settings_area()``
builds a fresh parent for each app (Flask refuses changes to a registered blueprint) and nests
them, so their endpoints are named ``staff.admin.settings.<part>.<view>``.

Changes go through the owning package's use cases (catalog, staff, texts, consent), so the
availability cache, the audit log and the planned texts follow as they do for any other change.
"""

from __future__ import annotations

from flask import Blueprint


def settings_area() -> Blueprint:
    from clinic.settings.catalog_views import bp as catalog_bp
    from clinic.settings.closures import bp as closures_bp
    from clinic.settings.consent import bp as consent_bp
    from clinic.settings.policy import bp as policy_bp
    from clinic.settings.practitioners import bp as practitioners_bp
    from clinic.settings.staff_accounts import bp as staff_accounts_bp
    from clinic.settings.views import bp as index_bp

    parent = Blueprint("settings", __name__)
    parent.register_blueprint(index_bp)
    parent.register_blueprint(consent_bp, url_prefix="/consent")
    parent.register_blueprint(catalog_bp)
    parent.register_blueprint(practitioners_bp, url_prefix="/practitioners")
    parent.register_blueprint(closures_bp, url_prefix="/closures")
    parent.register_blueprint(policy_bp, url_prefix="/policy")
    parent.register_blueprint(staff_accounts_bp, url_prefix="/staff")
    return parent
