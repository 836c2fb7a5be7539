"""Hook specifications: the one boundary every plugin, ours or a third party's, plugs into.

Each docstring here is the reference for plugin authors (mirrored in ``docs/plugins/hooks.md``).
Implement a hook with ``@hookimpl`` from ``nuvom.plugins`` on a module or object and register it
through the entry-point group ``nuvom`` or ``.nuvom_plugins.toml``. Hook names that are plural
nouns return things that are merged; past-tense names are notifications whose return value is
ignored. A notification hook that raises is logged with the plugin's name and never fails a job
or stops a worker. Each plugin's implementation is called on its own (that is what isolates
them), so a wrapper (``wrapper=True`` or ``hookwrapper=True``) is rejected when it registers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from ..config import PluginSettings, Settings
    from ..record import ErrorInfo, JobRecord, JobStatus

PROJECT_NAME = "nuvom"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Builds a backend from the effective settings.
BackendFactory = Callable[["Settings"], Any]


@hookspec
def nuvom_queue_backends() -> dict[str, BackendFactory]:  # type: ignore[empty-body]
    """Queue backends this plugin provides, by name.

    Called once per process, when a backend is first needed. Each value is a factory that takes
    the core :class:`~nuvom.config.Settings` and returns an object implementing
    :class:`~nuvom.backends.QueueBackend`. A plugin's own settings come from its own
    :class:`~nuvom.config.PluginSettings` subclass, read inside the factory.
    Two plugins offering the same name is an error naming both.
    """


@hookspec
def nuvom_result_backends() -> dict[str, BackendFactory]:  # type: ignore[empty-body]
    """Result backends this plugin provides, by name (see :func:`nuvom_queue_backends`)."""


@hookspec
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:  # type: ignore[empty-body]
    """Scheduler stores this plugin provides, by name (see :func:`nuvom_queue_backends`)."""


@hookspec
def nuvom_plugin_settings() -> type[PluginSettings]:  # type: ignore[empty-body]
    """This plugin's settings class, a :class:`~nuvom.config.PluginSettings` subclass.

    Called by ``nuvom config``, which shows the class's fields (values, sources, secrets masked)
    in a group named after the plugin. Read the settings with ``YourSettings.load()`` where they
    are used (in a backend factory, say); the core's :class:`~nuvom.config.Settings` never holds
    a plugin's fields.
    """


@hookspec
def nuvom_worker_started(worker: Any) -> None:
    """Called in a worker process once it is ready to claim jobs.

    ``worker`` is the :class:`~nuvom.worker.Worker` (``id``, ``queues``, ``concurrency``,
    ``queue``, ``results``, ``settings``). Start exporters or background threads here, not at
    import time: producers import plugins too.
    """


@hookspec
def nuvom_worker_stopping(worker: Any) -> None:
    """Called in a worker process when it stops claiming, before running jobs are waited for."""


@hookspec
def nuvom_scheduler_started(scheduler: Any) -> None:
    """Called in a scheduler process (``runscheduler``, or ``runworker --with-scheduler``) once it runs.

    ``scheduler`` is the :class:`~nuvom.scheduling.runner.Scheduler` (``store``, ``poll_secs``,
    ``settings``). Like :func:`nuvom_worker_started`, the place to start exporters.
    """


@hookspec
def nuvom_scheduler_stopping(scheduler: Any) -> None:
    """Called in a scheduler process when its loop stops."""


@hookspec
def nuvom_job_enqueued(job: JobRecord) -> None:
    """Called in the sending process after a job is stored in the queue. Must not block."""


@hookspec
def nuvom_job_started(job: JobRecord) -> None:
    """Called in the worker process just before an attempt runs; ``job.attempts`` counts it."""


@hookspec
def nuvom_job_finished(
    job: JobRecord, status: JobStatus, duration_secs: float, error: ErrorInfo | None
) -> None:
    """Called in the worker process after an attempt's outcome is stored. Must not block.

    ``status`` is the stored status: ``success``, ``failed``, ``cancelled`` (also for a job
    cancelled while queued, which a worker settles without running), or ``retrying`` when
    another attempt follows. ``duration_secs`` is the attempt's run time (0 for a job failed without
    running, e.g. an unknown task). ``error`` is set unless the attempt succeeded.
    """


@hookspec
def nuvom_register_commands(app: typer.Typer) -> None:
    """Add commands or command groups to the ``nuvom`` command line (``app.add_typer(...)``)."""
