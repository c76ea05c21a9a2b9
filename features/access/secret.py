"""The secret that signs CSRF tokens: configured, or made once and kept on disk."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_MIN_LENGTH = 32


def session_secret(configured: str | None, path: Path) -> bytes:
    """Return the configured secret, else the one in ``path`` (made if missing).

    A made secret is 256 random bits written with permissions 0600, created
    exclusively so that workers starting together agree on one. Several hosts
    must share ``STALLWATCH_SESSION_SECRET`` instead.
    """
    if configured is not None:
        if len(configured) < _MIN_LENGTH:
            raise ValueError(
                f"STALLWATCH_SESSION_SECRET is {len(configured)} characters long; "
                f"expected at least {_MIN_LENGTH} random characters"
            )
        return configured.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Write a whole file aside, then link it in place: the link fails if
        # another worker got there first, and nobody ever reads half a secret.
        aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    text = path.read_text().strip()
    if len(text) < _MIN_LENGTH:
        raise ValueError(
            f"{path}: the session secret is shorter than {_MIN_LENGTH} characters; "
            "delete the file to make a new one or set STALLWATCH_SESSION_SECRET"
        )
    return text.encode()
