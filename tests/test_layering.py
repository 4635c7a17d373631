"""The design card's layering, enforced: import-linter's contracts in pyproject.toml.

Only orchestration/ imports dagster; transforms/ and expectations/ never import duckdb;
transforms/ imports no I/O layer; nothing below orchestration imports it.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names = {c["name"] for c in config["contracts"]}
    assert "Only orchestration imports dagster" in names
    assert "transforms and expectations stay off DuckDB" in names


def lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    """In a subprocess: import-linter reconfigures logging (dictConfig), which would silence
    the loggers other tests capture."""
    pytest.importorskip("importlinter", reason="import-linter is a dev dependency")
    code = (
        "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(sys.argv[1]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(config)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_hold():
    done = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout[-3000:]


def test_a_broken_contract_is_caught(tmp_path):
    """The check can fail: a transforms module importing duckdb breaks its contract."""
    package = tmp_path / "transforms"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "leaky.py").write_text("import duckdb\n")
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["transforms"]\ninclude_external_packages = true\n'
        '[[tool.importlinter.contracts]]\nname = "pure"\ntype = "forbidden"\n'
        'source_modules = ["transforms"]\nforbidden_modules = ["duckdb"]\n'
    )
    done = lint_imports(tmp_path, config)
    assert done.returncode != 0
    assert "transforms.leaky" in done.stdout
