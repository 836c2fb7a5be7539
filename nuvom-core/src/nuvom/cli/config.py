"""``nuvom config``: the core's settings and those of each installed plugin, with their sources."""

from __future__ import annotations

from rich.table import Table

from ..config import get_settings, setting_sources
from ..plugins.manager import plugin_settings
from .common import JSON_OPTION, console, print_json

#: The group of the core's own settings.
CORE: str = "core"


def settings_by_group() -> list[tuple[str, list[tuple[str, object, str]]]]:
    """``(group, rows)``: the core's settings, then each plugin's that declares a settings class.

    Raises:
        ConfigError: a setting has a bad value, naming its variable.
        PluginError: the plugins cannot be loaded.
    """
    groups = [(CORE, setting_sources(get_settings()))]
    for plugin, settings_class in plugin_settings():
        groups.append((plugin, setting_sources(settings_class.load())))
    return groups


def config(as_json: bool = JSON_OPTION) -> None:
    """Print each setting's effective value and where it came from, grouped by plugin."""
    groups = settings_by_group()
    if as_json:
        print_json(
            [
                {"plugin": group, "variable": variable, "value": value, "source": source}
                for group, rows in groups
                for variable, value, source in rows
            ]
        )
        return
    for group, rows in groups:
        title = "Nuvom settings" if group == CORE else f"Settings of plugin {group!r}"
        table = Table(title=title)
        for column in ("variable", "value", "source"):
            table.add_column(column, overflow="fold")
        for variable, value, source in rows:
            style = {"environment": "cyan", ".env": "yellow"}.get(source, "dim")
            table.add_row(variable, str(value), f"[{style}]{source}[/]")
        console.print(table)
