"""A web console for Nuvom: ``nuvom dashboard`` serves it (Starlette, Jinja2, uvicorn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvom.lazy import lazy_exports

if TYPE_CHECKING:
    from .app import create_app as create_app
    from .security import DashboardConfig as DashboardConfig
    from .settings import DashboardSettings as DashboardSettings

__version__ = "0.1.0"

#: Each public name and the module defining it, imported on first use: loading the plugin (which
#: ``nuvom --help`` does) must not import Starlette or the console's pages.
_EXPORTS = {
    "DashboardConfig": ".security",
    "DashboardSettings": ".settings",
    "create_app": ".app",
}

__all__ = ["DashboardConfig", "DashboardSettings", "__version__", "create_app"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
