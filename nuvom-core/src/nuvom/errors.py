"""Every error Nuvom raises, in one tree.

```
NuvomError
├── ConfigError                 a setting has a bad value (.variable, .value)
├── SerializationError          a value cannot travel as msgpack (.path, .type_name)
├── PluginError                 a plugin or backend cannot be found or used
│   ├── PluginLoadError         a plugin cannot be imported or its file read (.file, .line)
│   ├── PluginValidationError   a plugin's hook implementations do not match the specs (.plugin)
│   └── BackendInterfaceError   a backend lacks methods of its interface, or they are mis-shaped (.problems)
├── BackendError                a backend failed
│   ├── CorruptEntry            a stored entry cannot be decoded (.reason)
│   ├── WriteNotConfirmed       written, but not confirmed durable: a failover may lose it (.result, .job_ids)
│   ├── SendIncomplete          a send failed, yet some of its jobs stay queued (.queued)
│   └── BackendFeatureMissing   the backend lacks an optional feature an operator command needs
├── NotSupported                a feature needs what this platform or install lacks (.feature)
├── TaskNotFound                no task is registered under a name (.name)
├── JobNotFound                 no job is stored under an id (.job_id)
├── DuplicateTask               a task name is registered twice (.name)
├── JobFailed                   a job ended failed (.error_type, .error_message, .remote_traceback)
├── JobCancelled                a job was cancelled (.job_id)
├── JobTimeout                  an attempt ran past its timeout (raised on the worker side)
└── Retry                       raised by a task to ask for a retry (.delay)
```
"""

from __future__ import annotations

from pathlib import Path


class NuvomError(Exception):
    """The root of every error Nuvom raises."""


class ConfigError(NuvomError):
    """A setting has a value that is not allowed."""

    def __init__(self, variable: str, value: object, allowed: str) -> None:
        self.variable = variable
        self.value = value
        self.allowed = allowed
        super().__init__(f"{variable}={value!r} is not valid: {allowed}")


class SerializationError(NuvomError):
    """A value cannot be encoded as msgpack (or a payload cannot be decoded)."""

    def __init__(self, path: str, type_name: str, detail: str = "", *, decoding: bool = False) -> None:
        self.path = path
        self.type_name = type_name
        message = f"cannot decode {path}" if decoding else f"{path} of type {type_name} cannot be serialized"
        super().__init__(f"{message}: {detail}" if detail else message)


class ArgumentsTooLarge(NuvomError, ValueError):
    """A call's encoded arguments are over ``NUVOM_MAX_ARGS_BYTES``."""

    def __init__(self, size: int, limit: int, largest: str, largest_size: int) -> None:
        self.size = size
        self.limit = limit
        self.largest = largest
        super().__init__(
            f"the call's arguments are {size:,} bytes encoded, over NUVOM_MAX_ARGS_BYTES={limit:,} "
            f"(largest: {largest}, {largest_size:,} bytes); store large data elsewhere (a file, "
            "an object store, a database row) and pass a reference to it"
        )


class PluginError(NuvomError):
    """A plugin or a backend cannot be found, loaded or used."""


class PluginLoadError(PluginError):
    """A plugin cannot be imported, or ``.nuvom_plugins.toml`` cannot be read."""

    def __init__(self, message: str, *, file: Path | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        super().__init__(message)


class BackendInterfaceError(PluginError):
    """A backend instance does not implement its interface: methods missing or mis-shaped."""

    def __init__(self, message: str, *, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(message)


class PluginValidationError(PluginError):
    """A plugin's hook implementations do not match the hook specifications."""

    def __init__(self, plugin: str, reason: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r} is invalid: {reason}")


class BackendError(NuvomError):
    """A backend failed to do what was asked of it."""


class CorruptEntry(BackendError):
    """A stored entry cannot be decoded; it is quarantined, never run."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class WriteNotConfirmed(BackendError):
    """A write was made, but the backend could not confirm it durable (e.g. too few replicas have it).

    Unlike other backend errors, the write happened: a send that raises this has queued its
    jobs, named in :attr:`job_ids` (they may run, and their records are kept: look them up with
    ``get_job``, do not send them again), and a completion has stored its outcome. A failover
    before the write reaches a replica may still lose it.
    """

    def __init__(self, message: str, *, result: object = None, job_ids: tuple[str, ...] = ()) -> None:
        #: What the call returns when its write is confirmed (``None`` for a call returning nothing).
        self.result = result
        #: Ids of the jobs a send queued, in the order sent (empty for a write that is not a send).
        self.job_ids = job_ids
        super().__init__(message)


class SendIncomplete(BackendError):
    """A send failed, and some of its jobs could not be taken back: they stay queued and may run.

    The send path keeps the records of :attr:`queued` and removes the others'.
    """

    def __init__(self, message: str, *, queued: frozenset[str]) -> None:
        #: Ids of the send's jobs that stay queued (a worker had claimed them, or could have).
        self.queued = queued
        super().__init__(message)


class NotSupported(NuvomError):
    """A feature needs something this platform or installation lacks (a POSIX module, an extra)."""

    def __init__(self, feature: str, reason: str) -> None:
        self.feature = feature
        super().__init__(f"{feature} is not available here: {reason}")


class BackendFeatureMissing(BackendError):
    """The configured backend lacks an optional feature (e.g. a worker registry) a command needs."""


class TaskNotFound(NuvomError):
    """No task is registered under the name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"no task named {name!r} is registered in this worker "
            "(import its module with `nuvom runworker --import MODULE`)"
        )


class DuplicateTask(NuvomError):
    """A second, different function was registered under a task name already taken."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"a task named {name!r} is already registered; pass force=True to replace it "
            "or silent=True to keep the first"
        )


class JobNotFound(NuvomError):
    """No job is stored under the id."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}")


class JobFailed(NuvomError):
    """The job failed; carries the remote exception's type, message and traceback.

    For a group member or chain step, ``index`` is its position and ``where`` names it
    (e.g. ``"group G member 3"``, ``"chain C step 2 (add)"``).
    """

    def __init__(
        self,
        job_id: str,
        error_type: str,
        error_message: str,
        remote_traceback: str,
        *,
        index: int | None = None,
        where: str = "",
    ) -> None:
        self.job_id = job_id
        self.error_type = error_type
        self.error_message = error_message
        self.remote_traceback = remote_traceback
        self.index = index
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}job {job_id} failed: {error_type}: {error_message}")


class JobCancelled(NuvomError):
    """The job was cancelled before it finished."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} was cancelled")


class JobTimeout(NuvomError):
    """An attempt ran past its ``timeout_secs``."""

    def __init__(self, timeout_secs: float) -> None:
        self.timeout_secs = timeout_secs
        super().__init__(f"the attempt ran past its timeout of {timeout_secs:g} s")


class Retry(NuvomError):
    """Raise inside a task to retry it, optionally after ``delay`` seconds.

    The retry counts against the task's ``retries``.
    """

    def __init__(self, delay: float | None = None, reason: str = "retry requested") -> None:
        self.delay = delay
        super().__init__(reason)
