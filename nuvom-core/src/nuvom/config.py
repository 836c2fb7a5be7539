"""Settings, read from ``NUVOM_*`` environment variables and ``.env`` (the environment wins).

This module is light: the pydantic-settings models live in :mod:`nuvom.settings`, imported on the
first :func:`get_settings` (or the first use of ``Settings``, ``PluginSettings`` or ``SecretUrl``
here), so that ``import nuvom`` never pays for pydantic.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .settings import LogLevel as LogLevel
    from .settings import PluginSettings as PluginSettings
    from .settings import SecretUrl as SecretUrl
    from .settings import Settings as Settings

#: Names this module hands out from :mod:`nuvom.settings` on first use.
_FROM_SETTINGS: Final = frozenset({"LogLevel", "PluginSettings", "SecretUrl", "Settings"})

_lock = threading.Lock()
_settings: Settings | None = None


#: The settings models, imported from :mod:`nuvom.settings` on first use.
__getattr__ = lazy_exports(__name__, dict.fromkeys(_FROM_SETTINGS, ".settings"))


def load_settings() -> Settings:
    """Read settings afresh from the environment and ``.env``.

    Raises:
        ConfigError: naming the first variable with a bad value, the value, and what is allowed.
    """
    from .settings import Settings

    return Settings.load()


def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    global _settings
    loaded = _settings  # read once: the lock is only for the first load (a send reads this per job)
    if loaded is not None:
        return loaded
    with _lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def reset_settings() -> None:
    """Forget the loaded settings so the next :func:`get_settings` reads them again."""
    global _settings
    with _lock:
        _settings = None


def setting_sources(settings: PluginSettings) -> list[tuple[str, object, str]]:
    """Each field of ``settings`` as ``(variable, value, source)``; source is environment, .env or default.

    Values are as JSON shows them (paths as text), with secrets masked (see ``SecretUrl``).
    """
    from dotenv import dotenv_values

    shown = settings.model_dump(mode="json")
    dotenv = {k.upper(): v for k, v in dotenv_values(".env").items()} if Path(".env").is_file() else {}
    environment = {k.upper() for k in os.environ}
    prefix = settings.model_config.get("env_prefix") or ""
    rows = []
    for field in type(settings).model_fields:
        variable = prefix + field.upper()
        if variable in environment:
            source = "environment"
        elif variable in dotenv:
            source = ".env"
        else:
            source = "default"
        rows.append((variable, shown[field], source))
    return rows
