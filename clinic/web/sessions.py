"""Flask's signed-cookie sessions, without their cost on requests that carry no session.

Most requests (the JSON API, patients' pages, static files) come without a session cookie and
leave the session untouched. Flask's interface still builds a signing serializer to open
nothing and reads half a dozen cookie settings to save nothing; here both steps are skipped
when there is nothing to read or write. Sessions that exist behave exactly as Flask's.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # Flask would neither set nor delete a cookie, nor add "Vary: Cookie"
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
