"""Task and call options: their types, their validation, and how they combine for one job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .flow import LimitKey, check_concurrency_limit, check_rate_limit
from .names import check_name

if TYPE_CHECKING:
    from .message import JobMessage

TimeoutPolicy = Literal["fail", "retry", "ignore"]
_POLICIES = ("fail", "retry", "ignore")


def _check_priority(priority: int) -> int:
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 9:
        raise ValueError(f"priority {priority!r} is not valid: use an int from 0 (first) to 9 (last)")
    return priority


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_non_negative(option: str, value: float | None) -> None:
    if value is not None and (not _is_number(value) or value < 0):
        raise ValueError(f"{option} {value!r} is not valid: use a number >= 0")


def _check_timeout(value: float | None) -> None:
    if value is not None and (not _is_number(value) or value <= 0):
        raise ValueError(f"timeout_secs {value!r} is not valid: use a number > 0")


def _check_retries(value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"retries {value!r} is not valid: use an int >= 0")


@dataclass(frozen=True)
class TaskOptions:
    """Options given to ``@task``. ``None`` means the setting's default."""

    name: str
    retries: int = 0
    retry_delay_secs: float | None = None
    retry_backoff: bool = True
    retry_backoff_max_secs: float | None = None
    timeout_secs: float | None = None
    timeout_policy: TimeoutPolicy | None = None
    queue: str = "default"
    priority: int = 0
    store_result: bool = True
    result_ttl_secs: float | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    category: str = "default"
    #: Arguments and results are not shown by consoles (``nuvom-dashboard``).
    sensitive: bool = False
    #: At most this many starts per window across every worker: ``"10/s"``, ``"100/m"``, ``"1000/h"``.
    rate_limit: str | None = None
    #: At most this many jobs of the task (of each ``limit_key`` value) running at once anywhere.
    concurrency_limit: int | None = None
    #: Limits count per value of this argument (its name) or of this function of the arguments.
    limit_key: LimitKey | None = None
    before_job: Callable[[], object] | None = None
    after_job: Callable[[Any], object] | None = None
    on_error: Callable[[BaseException], object] | None = None

    def __post_init__(self) -> None:
        check_name("task name", self.name)
        check_name("queue", self.queue)
        _check_priority(self.priority)
        _check_retries(self.retries)
        for option in ("retry_delay_secs", "retry_backoff_max_secs", "result_ttl_secs"):
            _check_non_negative(option, getattr(self, option))
        _check_timeout(self.timeout_secs)
        if self.timeout_policy is not None and self.timeout_policy not in _POLICIES:
            raise ValueError(
                f"timeout_policy {self.timeout_policy!r} is not valid: use one of {', '.join(_POLICIES)}"
            )
        if not isinstance(self.sensitive, bool):
            raise ValueError(f"sensitive {self.sensitive!r} is not valid: use True or False")
        if not all(isinstance(tag, str) for tag in self.tags):
            raise ValueError(f"tags {list(self.tags)!r} is not valid: use a list of strings")
        check_rate_limit(self.rate_limit)
        check_concurrency_limit(self.concurrency_limit)


@dataclass(frozen=True)
class CallOptions:
    """Per-call options from ``.options(...)``."""

    countdown: float | None = None
    eta: datetime | None = None
    queue: str | None = None
    priority: int | None = None
    job_id: str | None = None
    retries: int | None = None
    timeout_secs: float | None = None
    #: Seconds during which the same call (task name and arguments) is enqueued only once.
    unique_for: float | None = None
    #: Overrides the task's ``rate_limit`` for this call's jobs.
    rate_limit: str | None = None

    def __post_init__(self) -> None:
        if self.countdown is not None and self.eta is not None:
            raise ValueError("give countdown or eta, not both")
        _check_non_negative("countdown", self.countdown)
        if self.eta is not None and not isinstance(self.eta, datetime):
            raise ValueError(f"eta {self.eta!r} is not valid: use a datetime")
        if self.queue is not None:
            check_name("queue", self.queue)
        if self.priority is not None:
            _check_priority(self.priority)
        if self.job_id is not None:
            check_name("job_id", self.job_id)
        _check_retries(self.retries)
        _check_timeout(self.timeout_secs)
        if self.unique_for is not None and (not _is_number(self.unique_for) or self.unique_for <= 0):
            raise ValueError(f"unique_for {self.unique_for!r} is not valid: use a number of seconds > 0")
        check_rate_limit(self.rate_limit)

    @property
    def unique(self) -> bool:
        """True when the call names one job: by ``job_id`` or by ``unique_for``."""
        return self.job_id is not None or self.unique_for is not None


class Defaults(Protocol):
    """The settings a job's options fall back to (``nuvom.Settings`` is one)."""

    @property
    def job_timeout_secs(self) -> float:
        """Default task timeout in seconds."""

    @property
    def timeout_policy(self) -> TimeoutPolicy:
        """What happens to an attempt that runs past its timeout."""

    @property
    def retry_delay_secs(self) -> float:
        """Base of the retry backoff, in seconds."""

    @property
    def retry_backoff_max_secs(self) -> float:
        """Cap of the exponential retry backoff, in seconds."""


@dataclass(frozen=True)
class Effective:
    """A job's options after per-call overrides, task options and settings are combined."""

    max_retries: int
    timeout_secs: float
    timeout_policy: str
    retry_delay_secs: float
    retry_backoff: bool
    retry_backoff_max_secs: float
    store_result: bool
    result_ttl_secs: float | None

    @classmethod
    def of(cls, opts: TaskOptions, message: JobMessage, settings: Defaults) -> Effective:
        """The options of the job ``message`` of a task with ``opts``, under ``settings``."""
        return cls(
            max_retries=message.retries if message.retries is not None else opts.retries,
            timeout_secs=message.timeout_secs or opts.timeout_secs or settings.job_timeout_secs,
            timeout_policy=opts.timeout_policy or settings.timeout_policy,
            retry_delay_secs=(
                opts.retry_delay_secs if opts.retry_delay_secs is not None else settings.retry_delay_secs
            ),
            retry_backoff=opts.retry_backoff,
            retry_backoff_max_secs=(
                opts.retry_backoff_max_secs
                if opts.retry_backoff_max_secs is not None
                else settings.retry_backoff_max_secs
            ),
            store_result=opts.store_result,
            result_ttl_secs=opts.result_ttl_secs,
        )
