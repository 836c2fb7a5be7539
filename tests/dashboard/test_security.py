"""Safe by default: actions need the token and a session's CSRF token, cross-site POSTs are refused,
read-only mode acts on nothing, and ``nuvom dashboard`` binds the loopback address."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from starlette.testclient import TestClient

from nuvom.record import JobStatus
from nuvom_dashboard import DashboardConfig, create_app

from ..e2e.helpers import WorkerProcess, wait_until
from ..redis.server import free_port
from .conftest import TOKEN, answers, csrf_of, login

ACTIONS = [
    "/jobs/{id}/retry",
    "/jobs/{id}/cancel",
    "/queues/default/purge",
    "/retry-failed",
    "/schedules/x/cancel",
]


@pytest.fixture
def waiting(tasks: ModuleType) -> str:
    """The id of a waiting job on the default (file) backends: security does not depend on them."""
    return str(tasks.add.delay(1, 2).id)


@pytest.mark.parametrize("action", ACTIONS)
def test_without_a_token_every_action_is_refused(action: str, waiting: str) -> None:
    # Given a dashboard started without NUVOM_DASHBOARD_TOKEN
    with TestClient(create_app(DashboardConfig())) as client:
        # When an action is posted
        response = client.post(action.format(id=waiting), data={"csrf": "anything"})
        page = client.get("/").text
    # Then it is refused, the job is untouched, and the pages say why actions are off
    assert response.status_code == 403 and "NUVOM_DASHBOARD_TOKEN" in response.text
    assert JobStatus.QUEUED.value in _status(waiting)
    assert 'id="actions-off"' in page and '<form method="post"' not in page


@pytest.mark.parametrize("action", ACTIONS)
def test_read_only_mode_refuses_every_action_even_with_the_token(action: str, waiting: str) -> None:
    with TestClient(create_app(DashboardConfig(token=TOKEN, read_only=True))) as client:
        assert client.post("/login", data={"token": TOKEN}).status_code == 403
        response = client.post(action.format(id=waiting), data={"csrf": "anything"})
    assert response.status_code == 403 and "read-only" in response.text
    assert JobStatus.QUEUED.value in _status(waiting)


def test_a_wrong_token_opens_no_session(client: TestClient, waiting: str) -> None:
    response = client.post("/login", data={"token": "guess"}, follow_redirects=False)
    assert (
        response.status_code == 403
        and "wrong token" in response.text
        and "set-cookie" not in response.headers
    )
    refused = client.post(f"/jobs/{waiting}/cancel", data={"csrf": ""})
    assert refused.status_code == 403 and "log in" in refused.text


def test_a_post_without_the_sessions_csrf_token_is_refused(client: TestClient, waiting: str) -> None:
    # Given a logged-in session
    csrf = login(client)
    # When a form posts without the CSRF token, or with another one
    missing = client.post(f"/jobs/{waiting}/cancel", data={})
    wrong = client.post(f"/jobs/{waiting}/cancel", data={"csrf": csrf[::-1]})
    # Then both are refused and the job still waits
    assert missing.status_code == 403 and wrong.status_code == 403 and "CSRF" in wrong.text
    assert JobStatus.QUEUED.value in _status(waiting)


@pytest.mark.parametrize(
    "headers",
    [{"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}, {"origin": "null"}],
    ids=["foreign-origin", "sec-fetch-cross-site", "opaque-origin"],
)
def test_a_cross_site_post_is_refused_even_with_the_session_cookie(
    client: TestClient, waiting: str, headers: dict[str, str]
) -> None:
    # Given a logged-in session (its cookie would ride along with a forged form)
    csrf = login(client)
    # When a post comes from another site, even carrying a valid CSRF token
    response = client.post(f"/jobs/{waiting}/cancel", data={"csrf": csrf}, headers=headers)
    # Then it is refused; the same post from the dashboard's own origin works
    assert response.status_code == 403 and "cross-site" in response.text
    assert JobStatus.QUEUED.value in _status(waiting)
    same = client.post(
        f"/jobs/{waiting}/cancel", data={"csrf": csrf}, headers={"origin": "http://testserver"}
    )
    assert same.status_code == 200 and JobStatus.CANCELLED.value in _status(waiting)


def test_after_logout_or_expiry_the_session_acts_no_more(client: TestClient, waiting: str) -> None:
    # Given a session that logs out
    csrf = login(client)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 200
    # Then its CSRF token opens nothing any more
    refused = client.post(f"/jobs/{waiting}/cancel", data={"csrf": csrf})
    assert refused.status_code == 403 and "log in" in refused.text
    # And a session past its lifetime is refused too
    with TestClient(create_app(DashboardConfig(token=TOKEN, session_secs=0))) as expiring:
        assert expiring.post("/login", data={"token": TOKEN}, follow_redirects=False).status_code == 303
        expired = expiring.post(f"/jobs/{waiting}/cancel", data={"csrf": csrf})
    assert expired.status_code == 403 and "log in" in expired.text
    assert JobStatus.QUEUED.value in _status(waiting)


def test_actions_are_post_only_and_the_session_cookie_is_strict(client: TestClient, waiting: str) -> None:
    assert client.get(f"/jobs/{waiting}/cancel").status_code == 405
    response = client.post(
        "/login", data={"token": TOKEN, "next": "https://evil.example/"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=28800" in cookie
    assert csrf_of(client.get(f"/jobs/{waiting}").text)


def test_nuvom_dashboard_binds_the_loopback_address_by_default(
    tasks: ModuleType, start_worker: Callable[..., WorkerProcess], isolated_nuvom: Path
) -> None:
    # Given `nuvom dashboard` started with no --host
    port = free_port()
    server = start_worker("--port", str(port), command="dashboard")
    url = f"http://127.0.0.1:{port}/"
    wait_until(lambda: answers(url), timeout=30, what=f"the dashboard at {url}\n{server.output()}")

    # Then it listens on 127.0.0.1 only, and says where
    assert _listening_addresses(port) == {"127.0.0.1"}
    assert f"dashboard at {url}" in server.output()
    assert "actions are off" in server.output()


def _status(job_id: str) -> str:
    from nuvom.job import Job

    return Job(job_id).status().value


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                if len(address) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    found.add(address)
    return found
