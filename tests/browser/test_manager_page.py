"""The manager's page in headless Chromium, checked against the store itself.

The expected figures come from ``tests/api/reference.py``: plain SQL on the
served store and a hand-written replay of each ticket, not the report code.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from features.store import make_engine
from tests.api.reference import AS_OF, DONE, Ticket, open_before, replay
from tests.browser.conftest import Served
from tests.conftest import REPLAY_MOMENT


@pytest.fixture(scope="module")
def page(browser: Browser, served: Served) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    # Without a session the list sends the browser to the login form.
    tab.goto(f"{served.base}/reports")
    assert tab.url == f"{served.base}/login?next=%2Freports"
    tab.fill("input[name=name]", served.user)
    tab.fill("input[name=password]", served.password)
    tab.click("form[action='/login'] button[type=submit]")
    tab.wait_for_url(f"{served.base}/reports")
    yield tab
    context.close()


@pytest.fixture(scope="module")
def reference(served: Served) -> dict[str, Ticket]:
    assert datetime.fromisoformat(REPLAY_MOMENT) == AS_OF
    return replay(served.store)


def _open(reference: dict[str, Ticket]) -> dict[str, Ticket]:
    return {
        tid: t
        for tid, t in reference.items()
        if t.states[-1].status not in DONE and not t.states[-1].merged
    }


#: True once the list's script has fetched and drawn the rows.
LOADED = "Number(document.getElementById('stall-list').dataset.loaded) >= 1"


def _load_list(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(
        "() => Number(document.getElementById('stall-list').dataset.loaded) >= 1"
    )


def _shown_tickets(page: Page) -> list[str]:
    rows = page.locator("#stall-list tbody tr")
    tickets: list[str] = rows.evaluate_all("rs => rs.map(r => r.dataset.ticket)")
    return tickets


def test_list_shows_the_open_tickets_ranked(
    page: Page, served: Served, reference: dict[str, Ticket], artefacts: Path
) -> None:
    _load_list(page, f"{served.base}/?limit=40")
    page.screenshot(path=artefacts / "list.png")

    open_now = _open(reference)
    assert int(page.text_content("#total") or 0) == len(open_now)
    shown = _shown_tickets(page)
    assert len(shown) == 40 and set(shown) <= set(open_now)
    ranks = page.locator("#stall-list td.rank").all_text_contents()
    assert [int(r) for r in ranks] == list(range(1, 41))
    first = page.locator("#stall-list tbody tr").first
    assert first.get_attribute("data-flag") == "red"
    assert (first.locator(".countdown").text_content() or "").startswith("breached")
    assert first.locator(".why li").count() >= 1


def test_list_filters_by_group_and_sorts_by_risk(
    page: Page, served: Served, reference: dict[str, Ticket], artefacts: Path
) -> None:
    groups = Counter(t.states[-1].group for t in _open(reference).values())
    group, count = next((g, n) for g, n in groups.most_common() if g)
    _load_list(page, f"{served.base}/?limit=60")

    page.select_option("select[name=group]", group)
    page.click("#filters button[type=submit]")
    page.wait_for_url(f"**group={group.replace(' ', '+')}**")
    page.wait_for_function(
        "() => Number(document.getElementById('stall-list').dataset.loaded) >= 1"
    )
    page.click("th[data-sort=probability]")
    page.screenshot(path=artefacts / "list-filtered.png")

    assert int(page.text_content("#total") or 0) == count
    cells = page.locator("#stall-list td.group").all_text_contents()
    assert cells and set(cells) == {group}
    risks = [
        float(text.split("%")[0])
        for text in page.locator("#stall-list td.probability").all_text_contents()
    ]
    assert all(a >= b for a, b in itertools.pairwise(risks))
    assert "sort=probability" in page.url


def test_ticket_story_shows_its_events_and_clocks(
    page: Page, served: Served, artefacts: Path
) -> None:
    _load_list(page, f"{served.base}/?limit=5")
    link = page.locator("#stall-list a.ticket").first
    ticket = link.text_content() or ""

    link.click()
    page.wait_for_selector("#ticket-title")
    page.screenshot(path=artefacts / "story.png", full_page=True)

    engine = make_engine(served.store)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT occurred_at FROM events WHERE ticket_id = :t"),
            {"t": ticket},
        ).all()
    engine.dispose()
    known = sum(
        datetime.fromisoformat(str(r[0])).replace(tzinfo=UTC) <= AS_OF for r in stored
    )
    assert page.text_content("#ticket-title") == ticket
    assert page.locator("#events tbody tr").count() == known
    assert page.locator("#later-events tbody tr").count() == len(stored) - known
    targets = page.locator("#clocks tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.target)"
    )
    assert targets == ["first_response", "next_response", "resolution"]
    assert page.locator("#scores tbody tr").count() >= 1


def test_snooze_takes_a_ticket_off_the_list_and_is_stored(
    page: Page, served: Served, artefacts: Path
) -> None:
    _load_list(page, f"{served.base}/?limit=20")
    total = int(page.text_content("#total") or 0)
    row = page.locator("#stall-list tbody tr").nth(1)
    ticket = row.get_attribute("data-ticket") or ""

    row.locator("button[data-action=snooze]").click()
    page.wait_for_selector(f'tr[data-ticket="{ticket}"]', state="detached")
    page.screenshot(path=artefacts / "list-after-snooze.png")

    assert "recorded" in (page.text_content("#feedback-status") or "")
    assert int(page.text_content("#total") or 0) == total - 1
    assert ticket not in _shown_tickets(page)
    engine = make_engine(served.store)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text('SELECT action, until, "by" FROM feedback WHERE ticket_id = :t'),
            {"t": ticket},
        ).all()
    engine.dispose()
    assert len(stored) == 1
    action, until, by = stored[0]
    # The author is the logged-in manager.
    assert (action, by) == ("snooze", f"user:{served.user}")
    until_at = datetime.fromisoformat(str(until)).replace(tzinfo=UTC)
    assert until_at == AS_OF + timedelta(days=1)


def test_each_report_page_draws_its_figures(
    page: Page, served: Served, reference: dict[str, Ticket], artefacts: Path
) -> None:
    page.goto(f"{served.base}/reports")
    slugs = [
        (a.get_attribute("id") or "").removeprefix("report-")
        for a in page.locator(".report-index a").all()
    ]
    assert len(slugs) == 7

    for slug in slugs:
        page.click(f"#report-{slug}")
        page.wait_for_selector("svg.chart")
        page.screenshot(path=artefacts / f"report-{slug}.png", full_page=True)
        assert page.locator("#figures tbody tr").count() >= 1, slug
        if slug == "backlog":
            drawn = page.locator("svg.chart circle.point").evaluate_all(
                "cs => cs.map(c => [c.dataset.label, Number(c.dataset.value)])"
            )
            # The default period: the 28 days before the replay moment.
            days = [
                AS_OF.replace(hour=0) - timedelta(days=n) for n in range(28, -1, -1)
            ]
            expected = [
                [
                    d.date().isoformat(),
                    len(open_before(reference, min(d + timedelta(days=1), AS_OF))),
                ]
                for d in days
            ]
            assert drawn == expected
        page.go_back()
