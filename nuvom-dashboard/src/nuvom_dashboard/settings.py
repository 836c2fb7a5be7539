"""The dashboard plugin's own settings, read from ``NUVOM_DASHBOARD_*`` like the core's."""

from __future__ import annotations

from pydantic import SecretStr

from nuvom.config import PluginSettings


class DashboardSettings(PluginSettings):
    """``NUVOM_DASHBOARD_TOKEN``: the token that unlocks the dashboard's actions."""

    #: Unset or empty: the actions are off. ``nuvom config`` shows it masked.
    dashboard_token: SecretStr | None = None

    @property
    def token(self) -> str | None:
        """The token in clear, or ``None`` when it is unset or empty."""
        if self.dashboard_token is None:
            return None
        return self.dashboard_token.get_secret_value() or None
