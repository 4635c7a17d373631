"""The design card's layering, enforced: import-linter's contracts in pyproject.toml.

Only orchestration/ imports dagster; transforms/ and expectations/ never import duckdb;
transforms/ imports no I/O layer; nothing below orchestration imports it.
"""

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


def test_import_contracts_hold(monkeypatch):
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is a dev dependency")
    monkeypatch.chdir(ROOT)
    assert cli.lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0, (
        "an import breaks the layering: run `uv run lint-imports` to see which"
    )


def test_a_broken_contract_is_caught(tmp_path, monkeypatch):
    """The check can fail: a transforms module importing duckdb breaks its contract."""
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is a dev dependency")
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
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] == "transforms"]:
        monkeypatch.delitem(sys.modules, name)
    assert cli.lint_imports(config_filename=str(config)) != 0
