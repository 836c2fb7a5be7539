"""A web console for Nuvom: ``nuvom dashboard`` serves it (Starlette, Jinja2, uvicorn)."""

from .app import create_app as create_app
from .security import DashboardConfig as DashboardConfig
from .settings import DashboardSettings as DashboardSettings

__version__ = "0.1.0"

__all__ = ["DashboardConfig", "DashboardSettings", "__version__", "create_app"]
