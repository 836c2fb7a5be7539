"""The Starlette application: pages (GET), fragments polled for live updates, and guarded actions (POST)."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from nuvom import admin
from nuvom.config import get_settings
from nuvom.discovery import MANIFEST_FILE, Manifest
from nuvom.errors import NuvomError
from nuvom.job import Job
from nuvom.record import JobStatus
from nuvom.registry import registry
from nuvom.runtime import get_queue, get_results, get_scheduler_store

from .jobs import SCAN_CAP as JOBS_SCAN_CAP
from .jobs import JobFilter, find_jobs, view_job
from .overview import SCAN_CAP, WINDOW_SECS, build_overview
from .security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    DashboardConfig,
    Refused,
    Sessions,
    check_action,
    check_token,
    safe_next,
    same_origin,
)

#: Milliseconds between two refreshes of a live fragment.
REFRESH_MS: Final = 2000

_package = resources.files(__package__)
templates = Jinja2Templates(directory=str(_package.joinpath("templates")))


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(epoch: float | None) -> str:
    return "—" if epoch is None else f"{max(0.0, time.time() - epoch):.1f} s ago"


templates.env.filters["when"] = _when
templates.env.filters["ago"] = _ago


def _epoch(text: str, field: str) -> float | None:
    """A ``datetime-local`` or ISO value read as UTC, or ``None`` when empty.

    Raises:
        ValueError: naming ``field`` and the value.
    """
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not a date and time (use YYYY-MM-DDTHH:MM)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _job_filter(params: Mapping[str, str]) -> tuple[JobFilter, int]:
    """The filter and offset of a ``/jobs`` query.

    Raises:
        ValueError: naming the parameter with a bad value.
    """
    status_text, offset_text = params.get("status", ""), params.get("offset", "0")
    statuses = [s.value for s in JobStatus]
    if status_text and status_text not in statuses:
        raise ValueError(f"status {status_text!r} is not one of {', '.join(statuses)}")
    if not offset_text.isdigit():
        raise ValueError(f"offset {offset_text!r} is not an int >= 0")
    wanted = JobFilter(
        queue=params.get("queue") or None,
        task=params.get("task") or None,
        status=JobStatus(status_text) if status_text else None,
        since=_epoch(params.get("since", ""), "since"),
        until=_epoch(params.get("until", ""), "until"),
    )
    return wanted, int(offset_text)


class Dashboard:
    """The endpoints, sharing the security configuration and the open sessions."""

    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self.sessions = Sessions(config.session_secs)

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.update(
            config=self.config,
            csrf=self.sessions.csrf_of(request) or "",
            csrf_field=CSRF_FIELD,
            refresh_ms=REFRESH_MS,
            message=request.query_params.get("msg", ""),
            path=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        )
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def refused(self, request: Request, reason: str, status_code: int = 403) -> HTMLResponse:
        return self.render(request, "refused.html", status_code, reason=reason)

    # Pages -----------------------------------------------------------------------------------

    def overview(self, request: Request) -> HTMLResponse:
        return self.render(request, "overview.html", **self._overview())

    def overview_fragment(self, request: Request) -> HTMLResponse:
        return self.render(request, "_overview.html", **self._overview())

    def _overview(self) -> dict[str, Any]:
        return {
            "overview": build_overview(get_queue(), get_results()),
            "window_min": WINDOW_SECS / 60,
            "scan_cap": SCAN_CAP,
            "lapse": get_settings().heartbeat_lapse_secs,
        }

    def jobs(self, request: Request) -> HTMLResponse:
        params = request.query_params
        try:
            wanted, offset = _job_filter(params)
        except ValueError as exc:
            return self.refused(request, str(exc), 400)
        page = find_jobs(get_results(), wanted, offset)
        query = {k: v for k, v in params.items() if k != "offset" and v}
        next_url = None
        if page.next_offset is not None:
            next_url = "/jobs?" + urllib.parse.urlencode({**query, "offset": page.next_offset})
        return self.render(
            request,
            "jobs.html",
            page=page,
            params=params,
            statuses=[s.value for s in JobStatus],
            scan_cap=JOBS_SCAN_CAP,
            next_url=next_url,
            first_url="/jobs?" + urllib.parse.urlencode(query),
        )

    def job(self, request: Request) -> HTMLResponse:
        record = get_results().get_full(request.path_params["job_id"])
        if record is None:
            return self.refused(request, f"no job {request.path_params['job_id']!r} is stored", 404)
        return self.render(request, "job.html", job=view_job(record))

    def job_fragment(self, request: Request) -> HTMLResponse:
        record = get_results().get_full(request.path_params["job_id"])
        if record is None:
            return self.refused(request, f"no job {request.path_params['job_id']!r} is stored", 404)
        return self.render(request, "_job.html", job=view_job(record))

    def schedules(self, request: Request) -> HTMLResponse:
        return self.render(request, "schedules.html", schedules=get_scheduler_store().list())

    def tasks(self, request: Request) -> HTMLResponse:
        path = get_settings().data_dir / MANIFEST_FILE
        manifest, warning = Manifest.load(path)
        return self.render(
            request,
            "tasks.html",
            registered=sorted(registry.all().items()),
            discovered=sorted(manifest.tasks().items()),
            manifest_path=path,
            manifest_warning=warning,
        )

    def login_page(self, request: Request) -> HTMLResponse:
        return self.render(request, "login.html", next=safe_next(request.query_params.get("next", "/")))

    # Actions ---------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        form = await request.form()
        try:
            if not same_origin(request):
                raise Refused("cross-site request refused")
            check_token(self.config, str(form.get("token", "")))
        except Refused as exc:
            return self.refused(request, str(exc))
        session, _ = self.sessions.open()
        response = RedirectResponse(safe_next(str(form.get("next", "/"))), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=int(self.config.session_secs),
            httponly=True,
            samesite="strict",
            path="/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        try:
            check_action(self.config, self.sessions, request, str(form.get(CSRF_FIELD, "")))
        except Refused as exc:
            return self.refused(request, str(exc))
        self.sessions.close(request)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def action(
        self, act: Callable[[Request, dict[str, str]], tuple[str, str]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint that checks the request, runs ``act`` and redirects to the page it names."""

        async def endpoint(request: Request) -> Response:
            form = {key: str(value) for key, value in (await request.form()).items()}
            try:
                check_action(self.config, self.sessions, request, form.get(CSRF_FIELD, ""))
                target, message = await run_in_threadpool(act, request, form)
            except Refused as exc:
                return self.refused(request, str(exc))
            except NuvomError as exc:
                return self.refused(request, str(exc), 409)
            separator = "&" if "?" in target else "?"
            return RedirectResponse(f"{target}{separator}{urllib.parse.urlencode({'msg': message})}", 303)

        return endpoint


def _retry(request: Request, form: dict[str, str]) -> tuple[str, str]:
    job_id = request.path_params["job_id"]
    sent = Job(job_id).retry()
    return (
        f"/jobs/{urllib.parse.quote(job_id)}",
        "sent again" if sent else "not retried: not failed or cancelled",
    )


def _cancel(request: Request, form: dict[str, str]) -> tuple[str, str]:
    job_id = request.path_params["job_id"]
    done = Job(job_id).cancel()
    return f"/jobs/{urllib.parse.quote(job_id)}", "cancelled" if done else "not cancelled: already finished"


def _purge(request: Request, form: dict[str, str]) -> tuple[str, str]:
    name = request.path_params["queue"]
    return "/", f"purged {admin.purge_queue(name)} job(s) from queue {name!r}"


def _retry_failed(request: Request, form: dict[str, str]) -> tuple[str, str]:
    task = form.get("task") or None
    sent = admin.retry_jobs(admin.failed_jobs(task=task))
    return "/jobs?status=failed", f"sent {sent} failed job(s) again"


def _cancel_schedule(request: Request, form: dict[str, str]) -> tuple[str, str]:
    schedule_id = request.path_params["schedule_id"]
    done = get_scheduler_store().cancel(schedule_id)
    return "/schedules", f"schedule {schedule_id!r} " + ("cancelled" if done else "was not found")


def create_app(config: DashboardConfig | None = None) -> Starlette:
    """The dashboard application; ``config`` defaults to :meth:`DashboardConfig.load`."""
    board = Dashboard(config or DashboardConfig.load())
    routes = [
        Route("/", board.overview),
        Route("/fragments/overview", board.overview_fragment),
        Route("/jobs", board.jobs),
        Route("/jobs/{job_id}", board.job),
        Route("/fragments/jobs/{job_id}", board.job_fragment),
        Route("/schedules", board.schedules),
        Route("/tasks", board.tasks),
        Route("/login", board.login_page),
        Route("/login", board.login, methods=["POST"]),
        Route("/logout", board.logout, methods=["POST"]),
        Route("/jobs/{job_id}/retry", board.action(_retry), methods=["POST"]),
        Route("/jobs/{job_id}/cancel", board.action(_cancel), methods=["POST"]),
        Route("/queues/{queue}/purge", board.action(_purge), methods=["POST"]),
        Route("/retry-failed", board.action(_retry_failed), methods=["POST"]),
        Route("/schedules/{schedule_id}/cancel", board.action(_cancel_schedule), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(_package.joinpath("static"))), name="static"),
    ]
    return Starlette(routes=routes)
