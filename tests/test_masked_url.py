"""Database URLs are printed with every password hidden, however it is written."""

from __future__ import annotations

import pytest

from stallwatch.settings import masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://postgres:s3cret@127.0.0.1:5999/nope",
            "postgresql+psycopg://postgres:***@127.0.0.1:5999/nope",
        ),
        # an unescaped "@" inside the password: URL parsers take it for the host
        (
            "postgresql+psycopg://postgres:s3@cret@db.local:5432/x",
            "postgresql+psycopg://postgres:***@db.local:5432/x",
        ),
        (
            "postgresql+psycopg://u@h/db?password=s3cret&sslmode=require",
            "postgresql+psycopg://u@h/db?password=***&sslmode=require",
        ),
        (
            "postgresql://h/db?user=u&Password=x",
            "postgresql://h/db?user=u&Password=***",
        ),
        # nothing to hide
        ("sqlite:///var/stallwatch.db", "sqlite:///var/stallwatch.db"),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dx",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dx",
        ),
    ],
)
def test_masked_url_hides_every_password(url: str, shown: str) -> None:
    assert masked_url(url) == shown
    assert "s3" not in masked_url(url) and "cret" not in masked_url(url)
