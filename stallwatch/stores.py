"""Open the event store for a command, or stop the command with one line.

A command finds its store through ``--database-url`` or
STALLWATCH_DATABASE_URL. A server that does not answer, a database that does
not exist or a SQLite folder that is missing ends the command with exit code
2 and one line: where the URL came from, the URL with its password masked,
and the cause. No traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from stallwatch.settings import (
    DEFAULT_STORE_FOLDER,
    masked_url,
    missing_store_folder,
    sqlite_folder,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    # Typer runs on its own copy of click; its groups are invoked with that Context.
    from typer._click.core import Context

DATABASE_VARIABLE = "STALLWATCH_DATABASE_URL"
#: The store this process opened last, as "SOURCE=URL" with the password masked.
_opened: list[str] = []


class StoreUnavailableError(RuntimeError):
    """The store a command names cannot be opened."""

    def __init__(self, *, source: str, url: str, cause: str) -> None:
        super().__init__(
            f"cannot open the event store {source}={masked_url(url)}: {cause}"
        )


def driver_cause(exc: BaseException) -> str:
    """Return the driver's own words for a database error, on one line."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _is_connection_error(exc: BaseException) -> bool:
    """Tell a store that cannot be reached from an error in a statement."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError) and exc.statement is None:
        return True  # raised while connecting, before any SQL was sent
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def open_store(url: str, *, source: str = DATABASE_VARIABLE) -> Engine:
    """Return an engine on the store at ``url``, connected once and migrated.

    ``source`` names where the URL came from, for the message. Only the
    default store's folder (``var/``) is made when missing.

    Raises
    ------
    StoreUnavailableError
        When the folder, the server or the database is not there.
    """
    from sqlalchemy.exc import DBAPIError

    from features.store import create_schema, make_engine

    if (problem := missing_store_folder(url)) is not None:
        raise StoreUnavailableError(source=source, url=url, cause=problem)
    folder = sqlite_folder(url)
    default = folder is not None and folder.resolve() == DEFAULT_STORE_FOLDER.resolve()
    engine = make_engine(url, create_folder=default)
    try:
        create_schema(engine)
    except DBAPIError as exc:
        engine.dispose()
        if not _is_connection_error(exc):
            raise
        raise StoreUnavailableError(
            source=source, url=url, cause=driver_cause(exc)
        ) from exc
    _opened[:] = [f"{source}={masked_url(url)}"]
    return engine


def command_store(database_url: str | None, default_url: str) -> Engine:
    """Open the store of a command's ``--database-url``, else the setting's."""
    if database_url:
        return open_store(database_url, source="--database-url")
    return open_store(default_url)


class StoreAwareGroup(TyperGroup):
    """The command group: a store that cannot be reached ends it in one line."""

    def invoke(self, ctx: Context) -> Any:
        """Run the command; turn a lost store into one line and exit code 2."""
        try:
            return super().invoke(ctx)
        except StoreUnavailableError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(code=2) from exc
        except Exception as exc:
            # The store answered when the command opened it, then stopped.
            if not _is_connection_error(exc):
                raise
            store = _opened[0] if _opened else DATABASE_VARIABLE
            typer.echo(f"lost the event store {store}: {driver_cause(exc)}", err=True)
            raise typer.Exit(code=2) from exc
