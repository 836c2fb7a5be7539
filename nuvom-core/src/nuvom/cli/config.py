"""``nuvom config``: each setting's effective value and where it came from."""

from __future__ import annotations

from rich.table import Table

from ..config import get_settings, setting_sources
from .common import JSON_OPTION, console, print_json


def config(as_json: bool = JSON_OPTION) -> None:
    """Print each setting's effective value and where it came from."""
    rows = setting_sources(get_settings())
    if as_json:
        print_json([{"variable": v, "value": value, "source": source} for v, value, source in rows])
        return
    table = Table(title="Nuvom settings")
    for column in ("variable", "value", "source"):
        table.add_column(column, overflow="fold")
    for variable, value, source in rows:
        style = {"environment": "cyan", ".env": "yellow"}.get(source, "dim")
        table.add_row(variable, str(value), f"[{style}]{source}[/]")
    console.print(table)
