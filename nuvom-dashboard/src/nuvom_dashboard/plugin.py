"""The hook implementation: ``nuvom dashboard``. Importing it imports neither Starlette nor uvicorn."""

from __future__ import annotations

from typing import Any

from nuvom.config import PluginSettings
from nuvom.plugins import hookimpl

from .settings import DashboardSettings


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    """``NUVOM_DASHBOARD_TOKEN``, shown masked by ``nuvom config``."""
    return DashboardSettings


@hookimpl
def nuvom_register_commands(app: Any) -> None:
    """Add ``nuvom dashboard``."""
    from .cli import dashboard  # the CLI only: producers importing the plugin skip it

    app.command("dashboard")(dashboard)
