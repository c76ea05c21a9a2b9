"""Set-up mistakes end a command with one line naming the setting, exit code 2.

An unreachable or missing database, a short session secret, a SQLite folder
that is not there, a deeply nested case file, a key with nothing to do: each
is reported in words, never as a traceback.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.store import create_schema, make_engine
from stallwatch.access import demo_credentials, describe_demo_credentials
from stallwatch.settings import get_settings
from tests.conftest import REPO
from tests.processes import free_port

SHARED_CASES = REPO.parent / "shared" / "sla-cases"


def _stallwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the real program in a fresh process with only ``env`` configured."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STALLWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "stallwatch.cli", *args],
        cwd=REPO,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings read anew from the variables this test sets."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    from stallwatch.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


# 1. A database that cannot be reached.


@pytest.mark.parametrize(
    "command",
    [("keys", "list"), ("serve", "--port", "{port}"), ("demo", "--no-serve")],
    ids=["keys-list", "serve", "demo"],
)
def test_cli_closed_database_port_exits_2_with_one_masked_line(
    command: tuple[str, ...],
) -> None:
    closed = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{closed}/nope"
    args = [a.format(port=free_port()) for a in command]

    done = _stallwatch(*args, env={"STALLWATCH_DATABASE_URL": url})

    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        "cannot open the event store STALLWATCH_DATABASE_URL="
        f"postgresql+psycopg://postgres:***@127.0.0.1:{closed}/nope: "
    )
    assert "Connection refused" in lines[0]
    assert "s3cret" not in done.stdout + done.stderr


def test_cli_missing_postgresql_database_names_it() -> None:
    name = f"sw_absent_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    done = _stallwatch("users", "list", env={"STALLWATCH_DATABASE_URL": url})

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"cannot open the event store STALLWATCH_DATABASE_URL={url}: connection "
        'failed: connection to server at "127.0.0.1", port 5432 failed: FATAL: '
        f'database "{name}" does not exist'
    )


def test_cli_unreachable_database_url_option_is_named(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'ok.db'}")
    url = f"postgresql+psycopg://crm:hunter22@127.0.0.1:{free_port()}/x"

    code, output = _run("score", "--database-url", url)

    assert code == 2
    assert "cannot open the event store --database-url=" in output
    assert "crm:***@" in output and "hunter22" not in output
    assert "Traceback" not in output


# 2. The session secret.


def test_cli_short_session_secret_exits_2_before_serving() -> None:
    done = _stallwatch(
        "serve", "--port", str(free_port()), env={"STALLWATCH_SESSION_SECRET": "short"}
    )

    assert done.returncode == 2
    assert done.stderr.strip().startswith(
        "bad setting STALLWATCH_SESSION_SECRET='***': expected at least 32 random "
        "characters (got 5)"
    )
    assert "short" not in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_session_secret_of_32_characters_is_accepted(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    environ.setenv("STALLWATCH_SESSION_SECRET", "x" * 31)
    short = _run("keys", "list")
    get_settings.cache_clear()
    environ.setenv("STALLWATCH_SESSION_SECRET", "x" * 32)
    enough = _run("keys", "list")

    assert short[0] == 2 and "(got 31)" in short[1]
    assert enough == (
        0,
        "no API keys; create one with `stallwatch keys create NAME --role crm`\n",
    )


# 3. A SQLite store whose folder is not there.


def test_cli_sqlite_folder_missing_exits_2_and_makes_nothing(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "typo" / "dir"
    environ.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{folder / 'x.db'}")

    code, output = _run("keys", "list")

    assert code == 2
    assert output.startswith(
        f"bad setting STALLWATCH_DATABASE_URL='sqlite:///{folder / 'x.db'}': "
        f"the folder {folder} does not exist"
    )
    assert not (tmp_path / "typo").exists()


def test_cli_sqlite_folder_missing_in_option_is_named(
    environ: pytest.MonkeyPatch, tmp_path: Path, uci_head: Path
) -> None:
    environ.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'ok.db'}")
    folder = tmp_path / "nowhere"

    code, output = _run(
        "import", "uci", str(uci_head), "--database-url", f"sqlite:///{folder}/x.db"
    )

    assert code == 2
    assert output.startswith(
        f"cannot open the event store --database-url=sqlite:///{folder}/x.db: "
        f"the folder {folder} does not exist"
    )
    assert not folder.exists()


def test_make_engine_makes_a_sqlite_folder_only_when_asked(tmp_path: Path) -> None:
    asked = tmp_path / "made" / "here"

    with pytest.raises(FileNotFoundError, match=r"folder of the SQLite store .*x\.db"):
        make_engine(f"sqlite:///{tmp_path / 'absent' / 'x.db'}")
    create_schema(make_engine(f"sqlite:///{asked / 'x.db'}", create_folder=True))

    assert not (tmp_path / "absent").exists()
    assert (asked / "x.db").is_file()


def test_a_new_sqlite_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: new files readable by everyone
    try:
        create_schema(make_engine(f"sqlite:///{tmp_path / 'new.db'}"))
        (tmp_path / "kept.db").touch(mode=0o640)
        create_schema(make_engine(f"sqlite:///{tmp_path / 'kept.db'}"))
    finally:
        os.umask(old)

    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o600
    # A store that exists keeps the permissions its owner gave it.
    assert stat.S_IMODE((tmp_path / "kept.db").stat().st_mode) == 0o640


# 5. A case file nested deeper than the JSON parser goes.


def test_sla_check_deeply_nested_file_is_reported_and_the_rest_run(
    tmp_path: Path,
) -> None:
    good = sorted(SHARED_CASES.glob("*.json"))[0]
    shutil.copy(good, tmp_path / good.name)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)

    code, output = _run("sla-check", str(tmp_path))

    assert code == 1
    assert "Traceback" not in output and "RecursionError" not in output
    assert f"invalid case file {tmp_path / 'deep.json'}" in output
    assert "expected readable JSON (maximum recursion depth exceeded" in output
    # The good file still ran: both files are counted, some fields compared.
    assert "FAILED: 2 case files, " in output
    assert ", 0/0 fields" not in output


# 6. Wording: a key with nothing to do; the demo's password line.


def test_keys_create_without_role_or_scope_says_what_is_missing(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ.setenv("STALLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")

    neither = _run("keys", "create", "y")
    both = _run("keys", "create", "y", "--role", "crm", "--scope", "lists:read")

    assert neither == (
        2,
        "say what the key may do: give either --role or one or more --scope\n",
    )
    assert both == (2, "give either --role or one or more --scope, not both\n")


def test_demo_credentials_text_points_to_the_password_without_printing_it(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    create_schema(engine)
    kept = demo_credentials(engine, tmp_path / "creds")

    text = describe_demo_credentials("http://127.0.0.1:8013", tmp_path / "creds")

    assert "password manager_password" not in text
    assert f"sed -n 's/^manager_password=//p' {tmp_path / 'creds'}" in text
    assert kept["manager_password"] not in text
    assert kept["api_key"] not in text


# 7. A busy port: the message says how to move `make run` too.


def test_demo_busy_port_names_make_run_and_the_variable() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _stallwatch("demo", env={"STALLWATCH_PORT": str(port)})

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"cannot serve on 127.0.0.1:{port}: Address already in use; stop what "
        "listens there, or choose another port: `STALLWATCH_PORT=8013 make run`, "
        "or --port 8013 with `stallwatch serve` or `stallwatch demo`"
    )
