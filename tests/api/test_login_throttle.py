"""The login form under password guessing: 429 with Retry-After, on both stores.

The service runs for real (TestClient, real store); the failures are counted
in the store, so two apps on one store stand for two service workers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from stallwatch.settings import Settings, describe_settings_error
from tests.credentials import add_login, form_token

PASSWORD = "correct horse battery"
PAUSED = "Too many failed logins for this name, so it is paused"
#: Long enough for six logins on a busy two-core machine (each ~0.2 s).
SHORT_WINDOW = 8.0

AppFactory = Callable[..., TestClient]


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store with the manager login ``mia``."""
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    add_login(url, "mia", PASSWORD, "manager")
    return url


@pytest.fixture
def app_on(store: str, tmp_path: Path) -> Iterator[AppFactory]:
    """Start a service (a worker) on the store; settings may be overridden."""
    from api.app import create_app

    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        settings = Settings(
            database_url=store,
            model_dir=tmp_path / "no-model",
            alert_rules=None,
            session_secret_file=tmp_path / "session-secret",
            access_cache_seconds=0,
            now=datetime(2016, 3, 16, 9, 0, tzinfo=UTC),
            **overrides,
        )
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _log_in(client: TestClient, name: str, password: str) -> httpx.Response:
    """Fill in and send the login form as a browser would."""
    form = client.get("/login", params={"next": "/reports"})
    assert form.status_code == 200
    return client.post(
        "/login",
        data={
            "name": name,
            "password": password,
            "csrf": form_token(form.text),
            "next": "/reports",
        },
        follow_redirects=False,
    )


def _fail(client: TestClient, name: str, times: int) -> None:
    for n in range(times):
        answer = _log_in(client, name, f"wrong password {n}")
        assert answer.status_code == 401, (n, answer.text)
        assert "Wrong name or password." in answer.text


def _alert(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    assert found, "the login form shows no message"
    return found.group(1)


def test_login_after_five_wrong_passwords_answers_429_until_the_window_passes(
    app_on: AppFactory,
) -> None:
    client = app_on(login_window_seconds=SHORT_WINDOW)
    started = time.monotonic()
    _fail(client, "mia", 5)

    paused = _log_in(client, "mia", PASSWORD)
    if time.monotonic() - started >= SHORT_WINDOW:
        pytest.fail("six logins took longer than the window: the machine is too busy")
    assert paused.status_code == 429
    wait = int(paused.headers["retry-after"])
    assert 1 <= wait <= SHORT_WINDOW
    assert _alert(paused.text) == f"{PAUSED}: try again in {wait} seconds."
    assert 'value="mia"' in paused.text  # the form is shown again, name kept
    assert "stallwatch_session" not in client.cookies

    # once the oldest failure has left the window, the right password works
    time.sleep(wait)
    answer = _log_in(client, "mia", PASSWORD)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/reports"
    assert client.get("/reports").status_code == 200


def test_login_throttles_an_unknown_name_exactly_like_a_known_one(
    app_on: AppFactory,
) -> None:
    client = app_on()
    pages = {}
    for name in ("mia", "nobody"):
        _fail(client, name, 5)
        answer = _log_in(client, name, PASSWORD)
        assert answer.status_code == 429
        # the default window is 15 minutes, and the six tries took seconds
        assert 880 <= int(answer.headers["retry-after"]) <= 900
        assert _alert(answer.text) == f"{PAUSED}: try again in 15 minutes."
        # the page differs only in the name typed and the form's token
        pages[name] = re.sub(r'value="[0-9a-f]{64}"', "", answer.text).replace(
            f'value="{name}"', ""
        )
    assert pages["mia"] == pages["nobody"]


def test_login_failures_add_up_across_workers(app_on: AppFactory) -> None:
    first, second = app_on(), app_on()
    _fail(first, "mia", 3)
    _fail(second, "mia", 2)
    assert _log_in(first, "mia", PASSWORD).status_code == 429
    assert _log_in(second, "mia", PASSWORD).status_code == 429
    # another name is not held back
    assert _log_in(second, "ben", "wrong password").status_code == 401


def test_login_success_starts_the_count_again(app_on: AppFactory) -> None:
    client = app_on(login_max_failures=3)
    _fail(client, "mia", 2)
    assert _log_in(client, "mia", PASSWORD).status_code == 303
    # the two earlier failures are forgotten: three more are checked
    _fail(client, "mia", 3)
    assert _log_in(client, "mia", PASSWORD).status_code == 429


def test_login_limit_settings_refuse_bad_values() -> None:
    with pytest.raises(ValidationError, match="login_max_failures") as bad:
        Settings(login_max_failures=0, login_window_seconds=-1)
    assert describe_settings_error(bad.value) == [
        "bad setting STALLWATCH_LOGIN_MAX_FAILURES=0: "
        "Input should be greater than or equal to 1",
        "bad setting STALLWATCH_LOGIN_WINDOW_SECONDS=-1: "
        "Input should be greater than 0",
    ]
