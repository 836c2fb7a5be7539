"""The hook implementation: ``nuvom dashboard``. Importing it imports neither Starlette nor uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nuvom.plugins import hookimpl

if TYPE_CHECKING:
    from nuvom.config import PluginSettings


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    """``NUVOM_DASHBOARD_TOKEN``, shown masked by ``nuvom config``."""
    from .settings import DashboardSettings  # pydantic: loaded when settings are shown, not on load

    return DashboardSettings


@hookimpl
def nuvom_register_commands(app: Any) -> None:
    """Add ``nuvom dashboard``."""
    from .cli import dashboard  # the CLI only: producers importing the plugin skip it

    app.command("dashboard")(dashboard)
