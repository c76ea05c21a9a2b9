"""The login form in headless Chromium once a name has too many failed logins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import Served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def _submit(page: Page, name: str, password: str) -> tuple[int, dict[str, str]]:
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_response(
        lambda r: r.url.endswith("/login") and r.request.method == "POST"
    ) as answer:
        page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status, answer.value.headers


def test_login_form_says_the_name_is_paused_after_five_failures(
    page: Page, served: Served, artefacts: Path
) -> None:
    # a name nobody has: the browser's other tests keep their own login
    page.goto(f"{served.base}/login")
    for n in range(5):
        status, _ = _submit(page, "guessed-name", f"wrong password {n}")
        assert status == 401
        assert page.text_content("[role=alert]") == "Wrong name or password."

    status, headers = _submit(page, "guessed-name", "another guess")
    page.screenshot(path=artefacts / "login-paused.png")
    assert status == 429
    assert 890 <= int(headers["retry-after"]) <= 900
    assert page.text_content("[role=alert]") == (
        "Too many failed logins for this name, so it is paused: "
        "try again in 15 minutes."
    )
    # the form stays usable, with the name kept
    assert page.input_value("input[name=name]") == "guessed-name"
    assert page.is_visible("form[action='/login'] button[type=submit]")
