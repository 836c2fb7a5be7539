"""The settings models (pydantic-settings): the core's :class:`Settings` and :class:`PluginSettings`.

Imported on first use through :mod:`nuvom.config` (``get_settings()``), never by ``import nuvom``:
pydantic-settings costs more to import than the rest of the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, PlainSerializer, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError
from .log import LogFormat
from .options import TimeoutPolicy
from .redaction import redact_url

#: Prefix of every variable Nuvom and its plugins read.
ENV_PREFIX = "NUVOM_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_S = TypeVar("_S", bound="PluginSettings")
#: A setting holding a URL that may carry credentials. ``nuvom config`` and every JSON dump of the
#: settings show it with its password and secret query parameters masked; use it (or pydantic's
#: ``SecretStr``) for any secret field, in plugin settings too.
SecretUrl = Annotated[str, PlainSerializer(redact_url, when_used="json")]


class PluginSettings(BaseSettings):
    """Base class for a plugin's own settings: ``NUVOM_``-prefixed, read like the core's.

    Subclass it with your fields (``NUVOM_MYPLUGIN_URL`` is field ``myplugin_url``), read it
    with :meth:`load` inside your backend factory, so a bad value names its variable, and return
    the class from the ``nuvom_plugin_settings`` hook so that ``nuvom config`` shows it.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    @classmethod
    def load(cls: type[_S]) -> _S:
        """Read the settings from the environment and ``.env``.

        Raises:
            ConfigError: naming the first variable with a bad value, the value, and what is allowed.
        """
        try:
            return cls()
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else "?"
            prefix = cls.model_config.get("env_prefix") or ""
            value = error.get("input")
            if isinstance(value, str):
                value = redact_url(value)  # a bad value may still hold a password
            raise ConfigError(prefix + field.upper(), value, error["msg"]) from None


class Settings(PluginSettings):
    """Effective Nuvom settings. Each field is read from ``NUVOM_<FIELD>``."""

    #: Queue backend name (any registered backend: memory, file, a plugin's).
    queue_backend: str = "file"
    #: Result backend name.
    result_backend: str = "file"
    #: Scheduler store name.
    scheduler_backend: str = "file"
    #: Where the file backend, the manifest and the SQLite default live.
    data_dir: Path = Path(".nuvom")
    #: Concurrent job slots per worker process.
    max_workers: int = Field(4, ge=1, le=1024)
    #: Jobs claimed per backend round trip.
    batch_size: int = Field(10, ge=1, le=10_000)
    #: Default task timeout in seconds.
    job_timeout_secs: float = Field(300.0, gt=0)
    #: What happens to an attempt that runs past its timeout.
    timeout_policy: TimeoutPolicy = "fail"
    #: Base of the retry backoff, in seconds.
    retry_delay_secs: float = Field(1.0, ge=0)
    #: Cap of the exponential retry backoff, in seconds.
    retry_backoff_max_secs: float = Field(600.0, ge=0)
    #: A claimed job's lease; the worker extends it while the job runs.
    lease_secs: float = Field(30.0, gt=0)
    #: Deliveries to workers that died holding the job, before it is failed as poison.
    max_deliveries: int = Field(5, ge=1)
    #: Seconds a stopping worker waits for running jobs before returning the rest.
    shutdown_grace_secs: float = Field(30.0, ge=0)
    #: Largest encoded arguments of one call; ``.delay()`` over it raises ``ArgumentsTooLarge``.
    max_args_bytes: int = Field(10 * 1024 * 1024, ge=1)
    #: fsync queued jobs and final results before returning (file backend).
    file_fsync: bool = True
    #: Run ``.delay()`` inline, through the full serialization round trip (for tests).
    eager: bool = False
    #: Logging level of the command line.
    log_level: LogLevel = "INFO"
    #: Log lines of the command line off a terminal: ``text`` (one line per record) or ``json``.
    log_format: LogFormat = "text"
    #: ``nuvom runworker`` also sends due schedules (safe with many workers); ``false`` opts out.
    worker_scheduler: bool = True
    #: Seconds between a worker's heartbeats in the worker registry (``nuvom workers``).
    heartbeat_secs: float = Field(10.0, gt=0)
    #: A worker whose last heartbeat is older than this many seconds is shown dead.
    heartbeat_lapse_secs: float = Field(30.0, gt=0)
