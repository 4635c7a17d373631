"""The repository's `.env`: where `dagster dev`, `dg dev` and `dg launch` find the instance and
data directory of the last `tallyhouse run` or `ui` started in that folder.

Dagster's commands read a `.env` in the folder they start in (dg: the project's root) before
they look for DAGSTER_HOME, so with this file `dagster dev` alone shows the runs of the command
line instead of a temporary instance. Only the lines named in KEYS are rewritten: any other line
of the file is kept as it was.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from orchestration.settings import (
    DATA_DIR_ENV,
    ELECTION_ENV,
    ELECTIONS_DIR_ENV,
    LANDING_ENV,
    Settings,
)

FILE = ".env"
KEYS = ("DAGSTER_HOME", DATA_DIR_ENV, ELECTION_ENV, LANDING_ENV, ELECTIONS_DIR_ENV)
MARK = "# tallyhouse: the instance and settings of the last `tallyhouse run` or `ui` here"


def is_dagster_project(folder: Path) -> bool:
    """Whether `folder` holds a pyproject.toml with a [tool.dagster] or [tool.dg] table: the
    folder Dagster's commands are run in."""
    try:
        tool = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("tool")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return isinstance(tool, dict) and ("dagster" in tool or "dg" in tool)


def wanted_values(settings: Settings) -> dict[str, str | None]:
    """The value of each key for these settings; None: the line goes (the default holds)."""
    landing = str(settings.landing_dir) if settings.landing_dir is not None else None
    elections = str(settings.elections_dir) if settings.elections_dir is not None else None
    return {
        "DAGSTER_HOME": str(settings.dagster_home),
        DATA_DIR_ENV: str(settings.data_dir),
        ELECTION_ENV: settings.election,
        LANDING_ENV: landing,
        ELECTIONS_DIR_ENV: elections,
    }


def render(current: str, values: dict[str, str | None]) -> str | None:
    """`current` (a .env's text) with the lines of `values`' keys replaced, after MARK at the
    end; None when a value cannot be written as a literal (a quote or a line break in a
    path)."""
    if any(v is not None and ("'" in v or "\n" in v or "\r" in v) for v in values.values()):
        return None
    kept = [
        line for line in current.splitlines() if line.strip() != MARK and _key(line) not in values
    ]
    while kept and not kept[-1].strip():
        kept.pop()
    ours = [f"{key}='{value}'" for key, value in values.items() if value is not None]
    return "\n".join([*kept, *([""] if kept else []), MARK, *ours]) + "\n"


def _key(line: str) -> str | None:
    text = line.strip()
    if not text or text.startswith("#") or "=" not in text:
        return None
    name = text.split("=", 1)[0].strip()
    return name.removeprefix("export ").strip()


def write_dotenv(folder: Path, settings: Settings) -> Path | None:
    """Point `folder`'s .env at these settings when `folder` is a Dagster project and the data
    directory lies inside it (a test's or another project's data directory elsewhere leaves
    the file alone); the file written, or None."""
    folder = folder.resolve()
    if not settings.data_dir.is_relative_to(folder) or not is_dagster_project(folder):
        return None
    path = folder / FILE
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError):
        return None
    text = render(current, wanted_values(settings))
    if text is None or text == current:
        return None if text is None else path
    temporary = path.with_name(f".{FILE}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        return None
    return path
