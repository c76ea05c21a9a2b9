"""Commands that manage access: ``stallwatch keys ...`` and ``stallwatch users ...``.

Also the demo's credentials: an admin key and a ``manager`` login, made on
the first ``stallwatch demo`` and kept in ``var/demo-credentials`` (0600).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from features.access.scopes import ROLES, SCOPES, USER_ROLES, role_scopes
from stallwatch.settings import REPO_ROOT, get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# The store modules import SQLAlchemy and pandas: each command imports them
# when it runs, so that `stallwatch --help` stays quick.

keys_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys.")
users_app = typer.Typer(no_args_is_help=True, help="Add and remove manager logins.")

#: Where ``stallwatch demo`` keeps the key and login it made.
DEMO_CREDENTIALS = REPO_ROOT / "var" / "demo-credentials"
DEMO_USER = "manager"


def _engine() -> Engine:
    from stallwatch.stores import open_store

    return open_store(get_settings().database_url)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=2)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. 'crm'.")],
    role: Annotated[
        str | None, typer.Option(help=f"A preset: {', '.join(ROLES)}.")
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"A scope (repeatable): {', '.join(SCOPES)}."),
    ] = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    if role is None and not scope:
        raise _fail(
            "say what the key may do: give either --role or one or more --scope"
        )
    if role is not None and scope:
        raise _fail("give either --role or one or more --scope, not both")
    from features.access.keys import create_key

    try:
        scopes = sorted(role_scopes(role)) if role else list(scope or [])
        key, token = create_key(_engine(), name=name, scopes=scopes)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"key {key.id} for {key.name!r}, scopes: {' '.join(sorted(key.scopes))}")
    typer.echo("Copy it now; it is not shown again:")
    typer.echo(token)


@keys_app.command("list")
def keys_list() -> None:
    """List keys: id, name, scopes, when made, whether revoked (never the secret)."""
    from features.access.keys import list_keys

    keys = list_keys(_engine())
    if not keys:
        typer.echo(
            "no API keys; create one with `stallwatch keys create NAME --role crm`"
        )
        return
    typer.echo(
        f"{'id':>4}  {'key':<9} {'name':<20} {'created':<20} {'revoked':<20} scopes"
    )
    for k in keys:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M UTC") if k.revoked_at else "-"
        created = k.created_at.strftime("%Y-%m-%d %H:%M UTC")
        scopes = " ".join(sorted(k.scopes))
        typer.echo(
            f"{k.id:>4}  {k.display:<9} {k.name:<20} {created:<20} {revoked:<20} "
            + scopes
        )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key; every worker refuses it within STALLWATCH_ACCESS_CACHE_SECONDS."""
    from features.access.keys import KeyNotFoundError, revoke_key

    try:
        key = revoke_key(_engine(), key_id)
    except KeyNotFoundError as exc:
        raise _fail(str(exc)) from exc
    assert key.revoked_at is not None
    typer.echo(f"key {key.id} ({key.name!r}) revoked at {key.revoked_at.isoformat()}")


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(USER_ROLES)}.")],
) -> None:
    """Add a login; the password is asked for (or read from standard input)."""
    from features.access.users import UserError, add_user

    password = _read_password()
    try:
        user = add_user(_engine(), name=name, password=password, role=role)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"user {user.name!r} added with role {user.role}")


@users_app.command("remove")
def users_remove(name: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Remove a login and end its sessions."""
    from features.access.users import UserError, remove_user

    try:
        remove_user(_engine(), name)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"user {name!r} removed; its sessions are closed")


@users_app.command("list")
def users_list() -> None:
    """List logins and their roles."""
    from features.access.users import list_users

    for user in list_users(_engine()):
        typer.echo(f"{user.name}  {user.role}")


def _read_demo_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {
        k.strip(): v.strip() for k, sep, v in pairs if sep and not k.startswith("#")
    }


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


def demo_credentials(engine: Engine, path: Path = DEMO_CREDENTIALS) -> dict[str, str]:
    """Return the demo's admin key and manager login, made on the first run.

    Kept ones are reused while the store still accepts them; otherwise new
    ones are made and the file is rewritten.
    """
    from features.access.keys import create_key, find_key
    from features.access.users import add_user, check_password, list_users, remove_user

    kept = _read_demo_file(path)
    key = find_key(engine, kept.get("api_key", ""))
    key_ok = key is not None and key.revoked_at is None
    user_ok = check_password(
        engine,
        name=kept.get("manager_user", ""),
        password=kept.get("manager_password", ""),
    )
    if key_ok and user_ok is not None:
        return kept
    fresh = dict(kept)
    if not key_ok:
        _, fresh["api_key"] = create_key(engine, name="demo admin", scopes=["admin"])
    if user_ok is None:
        fresh["manager_user"] = DEMO_USER
        fresh["manager_password"] = secrets.token_urlsafe(12)
        if DEMO_USER in {u.name for u in list_users(engine)}:
            remove_user(engine, DEMO_USER)
        add_user(
            engine, name=DEMO_USER, password=fresh["manager_password"], role="manager"
        )
    lines = [
        "# stallwatch demo credentials: keep private (mode 0600)",
        f"api_key={fresh['api_key']}",
        f"manager_user={fresh['manager_user']}",
        f"manager_password={fresh['manager_password']}",
    ]
    _write_private(path, "\n".join(lines) + "\n")
    return fresh


def describe_demo_credentials(base_url: str, path: Path = DEMO_CREDENTIALS) -> str:
    """Tell how to use the demo's key and login."""
    return (
        f"credentials in {path} (mode 0600):\n"
        f"  the page {base_url}/ : log in as 'manager'; the password (not printed\n"
        f"    here) is in that file: sed -n 's/^manager_password=//p' {path}\n"
        f"  the API: an admin key; e.g.\n"
        f"    KEY=$(sed -n 's/^api_key=//p' {path})\n"
        f'    curl -H "authorization: Bearer $KEY" \\\n'
        f"      '{base_url}/v1/escalations?limit=5'"
    )


def prepare_demo_access(base_url: str) -> str:
    """Make (or reuse) the demo's key and login; return how to use them."""
    demo_credentials(_engine())
    return describe_demo_credentials(base_url)
