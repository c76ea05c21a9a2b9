"""A real browser against the real service: Chromium, Playwright and uvicorn.

Chromium comes from Debian's packages (``apt-get install chromium``), which
this set-up runs when the browser is missing; Playwright's own browser
download is not used, so a closed network with a package mirror suffices.
The service runs on a free port of 127.0.0.1 against a copy of the trained
slice's store, so the feedback the tests send stays out of other tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stallwatch.settings import Settings
from tests.conftest import REPLAY_MOMENT, REPO
from tests.credentials import add_login

#: Where screenshots of the browser tests are kept (ignored by git).
ARTEFACTS = REPO / "var" / "test-artifacts" / "browser"


def _install_chromium() -> str:
    """Return the path of Chromium, installing Debian's package if needed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.geteuid() != 0:
        pytest.fail("the browser tests need Chromium: run `apt-get install chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
    )
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium but it is not on PATH"
    return found


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable, installed from the package registry if missing."""
    return _install_chromium()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class Served:
    """A running service: its base URL, the URL of its store, a manager's login."""

    base: str
    store: str
    user: str = "browser-manager"
    password: str = "a browser test password"


@pytest.fixture(scope="module")
def served(
    trained: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """Run the service with uvicorn on a free local port."""
    prefix = "sqlite:///"
    assert trained.database_url.startswith(prefix), trained.database_url
    store = tmp_path_factory.mktemp("browser") / "store.db"
    shutil.copy(trained.database_url[len(prefix) :], store)
    add_login(f"{prefix}{store}", Served.user, Served.password, "manager")
    port = _free_port()
    env = {
        **os.environ,
        "STALLWATCH_DATABASE_URL": f"{prefix}{store}",
        "STALLWATCH_MODEL_DIR": str(trained.model_dir),
        "STALLWATCH_NOW": REPLAY_MOMENT,
        "STALLWATCH_LOG_FORMAT": "json",
        "STALLWATCH_SESSION_SECRET_FILE": str(store.parent / "session-secret"),
    }
    log = (tmp_path_factory.mktemp("browser-log") / "uvicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            *("-m", "uvicorn", "--factory", "api.app:create_app"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"uvicorn exited; see {log.name}"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not start in 90 s"
            time.sleep(0.3)
        yield Served(base=base, store=f"{prefix}{store}")
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """A headless Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def artefacts() -> Path:
    """The folder screenshots go to."""
    return ARTEFACTS
