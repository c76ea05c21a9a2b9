"""Credentials for tests: API keys stored in a test's own store, and logins."""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi.testclient import TestClient

from features.access.keys import create_key
from features.access.users import add_user
from features.store import create_schema, make_engine
from stallwatch.settings import Settings


def _url(store: Settings | str) -> str:
    return store if isinstance(store, str) else store.database_url


def key_headers(
    store: Settings | str, scopes: Iterable[str] = ("admin",), *, name: str = "test"
) -> dict[str, str]:
    """Store a new key with ``scopes`` in the store; return its request header."""
    engine = make_engine(_url(store))
    create_schema(engine)
    _, token = create_key(engine, name=name, scopes=list(scopes))
    engine.dispose()
    return {"authorization": f"Bearer {token}"}


def admin_headers(store: Settings | str) -> dict[str, str]:
    """Store a new admin key; return its request header."""
    return key_headers(store, ("admin",), name="test-admin")


def add_login(store: Settings | str, name: str, password: str, role: str) -> None:
    """Store a login ``name`` with ``password`` and ``role``."""
    engine = make_engine(_url(store))
    create_schema(engine)
    add_user(engine, name=name, password=password, role=role)
    engine.dispose()


def form_token(html: str) -> str:
    """Return the CSRF token a page or the login form carries."""
    found = re.search(r'name="csrf(?:-token)?" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def log_in(client: TestClient, name: str, password: str, next_path: str = "/") -> str:
    """Log in through the real form; return the session's CSRF token."""
    form = client.get("/login", params={"next": next_path})
    answer = client.post(
        "/login",
        data={
            "name": name,
            "password": password,
            "csrf": form_token(form.text),
            "next": next_path,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/")
    assert page.status_code == 200, page.text
    return form_token(page.text)
