"""A web console for Nuvom: ``nuvom dashboard`` serves it (Starlette, Jinja2, uvicorn)."""

from .app import create_app as create_app
from .security import DashboardConfig as DashboardConfig

__version__ = "0.1.0"

__all__ = ["DashboardConfig", "__version__", "create_app"]
