"""Who may act: the token, the read-only mode, per-session CSRF tokens and the same-origin check.

Actions are POST-only. Each needs a session opened with ``NUVOM_DASHBOARD_TOKEN`` (its cookie is
HttpOnly and SameSite=Strict), the session's CSRF token in the form, and no sign of a cross-site
request (``Sec-Fetch-Site`` or an ``Origin`` other than the dashboard's own).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request

from .settings import DashboardSettings

#: The environment variable holding the token that unlocks actions.
TOKEN_VARIABLE: Final = "NUVOM_DASHBOARD_TOKEN"  # noqa: S105 (a variable name, not a secret)
#: The session cookie.
SESSION_COOKIE: Final = "nuvom_dashboard_session"
#: The form field carrying the session's CSRF token.
CSRF_FIELD: Final = "csrf"
#: How long a session lasts after its login, in seconds.
SESSION_SECS: Final = 8 * 3600


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard guards its actions."""

    #: The token that opens a session; ``None``: actions are off.
    token: str | None = None
    #: No actions at all, even with a token.
    read_only: bool = False
    #: How long a session lasts after its login, in seconds.
    session_secs: float = SESSION_SECS

    @classmethod
    def load(cls, *, read_only: bool = False) -> DashboardConfig:
        """The token from ``NUVOM_DASHBOARD_TOKEN`` (environment or ``.env``; empty counts as unset).

        Raises:
            ConfigError: the settings cannot be read, naming the variable.
        """
        return cls(token=DashboardSettings.load().token, read_only=read_only)

    @property
    def actions_enabled(self) -> bool:
        """True when a token is set and the dashboard is not read-only."""
        return self.token is not None and not self.read_only

    @property
    def why_no_actions(self) -> str:
        """Why the actions are off, for the page ("" when they are on)."""
        if self.read_only:
            return "read-only mode: actions are off"
        if self.token is None:
            return f"actions are off: start the dashboard with {TOKEN_VARIABLE} set to enable them"
        return ""


class Refused(Exception):
    """An action refused; ``str()`` says why (never the token)."""


class Sessions:
    """Open sessions by id, each with its CSRF token and expiry; kept in memory (a restart logs out)."""

    def __init__(self, lifetime_secs: float = SESSION_SECS) -> None:
        self.lifetime_secs = lifetime_secs
        self._lock = threading.Lock()
        self._open: dict[str, tuple[str, float]] = {}

    def open(self) -> tuple[str, str]:
        """A new session: its id (for the cookie) and its CSRF token."""
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._open = {key: value for key, value in self._open.items() if value[1] > now}
            self._open[session] = (csrf, now + self.lifetime_secs)
        return session, csrf

    def csrf_of(self, request: Request) -> str | None:
        """The CSRF token of the request's session, or ``None`` without a live session."""
        session = request.cookies.get(SESSION_COOKIE)
        with self._lock:
            found = self._open.get(session) if session else None
        return found[0] if found is not None and found[1] > time.monotonic() else None

    def close(self, request: Request) -> None:
        """End the request's session (log out)."""
        with self._lock:
            self._open.pop(request.cookies.get(SESSION_COOKIE, ""), None)


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urllib.parse.urlsplit(origin).netloc == request.headers.get("host", "")


def check_token(config: DashboardConfig, given: str) -> None:
    """Raise :class:`Refused` unless ``given`` is the configured token."""
    if not config.actions_enabled or config.token is None:
        raise Refused(config.why_no_actions)
    if not hmac.compare_digest(given.encode(), config.token.encode()):
        raise Refused("wrong token")


def check_action(config: DashboardConfig, sessions: Sessions, request: Request, form_csrf: str) -> None:
    """Raise :class:`Refused` unless the request may perform an action."""
    if not config.actions_enabled:
        raise Refused(config.why_no_actions)
    if not same_origin(request):
        raise Refused("cross-site request refused")
    csrf = sessions.csrf_of(request)
    if csrf is None:
        raise Refused(f"log in with {TOKEN_VARIABLE} first")
    if not hmac.compare_digest(form_csrf.encode(), csrf.encode()):
        raise Refused("missing or wrong CSRF token")


def safe_next(target: str) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
