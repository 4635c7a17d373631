"""The `tallyhouse` command line itself: every command and option documented, usage and
configuration errors said in one line with exit 2, and a start that imports nothing heavy."""

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest

from orchestration.cli import main, tallyhouse
from orchestration.cli_commands.common import spread_greedy

EXPECTED_COMMANDS = {
    "run",
    "check",
    "generate",
    "quality",
    "query",
    "results",
    "export",
    "docs",
    "report",
    "replay",
    "ui",
    "schema",
    "verify",
    "withdraw",
    "deploy-check",
}
HEAVY = ("dagster", "great_expectations", "polars", "duckdb", "pandas", "pyarrow")


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert set(tallyhouse.commands) == EXPECTED_COMMANDS
    listed = out.split("Commands:", 1)[1]
    for name in EXPECTED_COMMANDS:
        assert f"\n  {name} " in listed, f"{name} missing from --help"
    assert "..." not in listed, "a command's summary is cut short in the listing"


@pytest.mark.parametrize("name", sorted(EXPECTED_COMMANDS))
def test_every_command_and_option_has_help_text(name, capsys):
    command = tallyhouse.commands[name]
    assert (command.help or "").strip(), f"{name} has no help"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{name} {param.opts[0]} has no help"
    assert main([name, "--help"]) == 0
    assert f"Usage: tallyhouse {name}" in capsys.readouterr().out


def test_the_group_options_have_help_text():
    for param in tallyhouse.params:
        assert isinstance(param, click.Option) and (param.help or "").strip(), param.opts


def test_version_comes_from_the_installed_package(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tallyhouse {version('tallyhouse')}"


def _imported_after(code: str) -> list[str]:
    probe = f"""
import sys
{code}
print("MODULES", " ".join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("MODULES")]
    assert line, done.stderr
    return line[-1].split()[1:]


def test_importing_the_cli_imports_neither_dagster_nor_the_data_stack():
    assert _imported_after("import orchestration.cli") == []


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_nothing_heavy(flag):
    code = f"from orchestration.cli import main\nassert main([{flag!r}]) == 0"
    assert _imported_after(code) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "No such command 'nosuch'"),
        (["run", "--bogus"], "No such option '--bogus'"),
        (["quality", "--severity", "fatal"], "'fatal' is not one of 'error', 'warn'"),
        (["quality", "--limit", "many"], "'many' is not a valid integer"),
        (["export", "--format", "csv"], "Missing option '--out'"),
        (["export", "--out", "x", "--tables"], "'--tables' requires an argument"),
        (["replay"], "Missing option '--from'"),
        (["results"], "Missing option '--level'"),
        (["query"], "Missing argument 'SQL'"),
        (["run", "--quarantine-threshold", "5"], "5.0 is not in the range 0<=x<=1"),
    ],
)
def test_a_usage_error_is_one_line_on_stderr_and_exits_2(argv, message, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("Error: ") and message in err, err
    assert "--help" in err, "it says where to read more"


def test_no_command_shows_the_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "Commands:" in capsys.readouterr().err


@pytest.mark.e2e  # the console entry point in a process of its own
@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["generate", "--tables", "0"], {}, "tables must be at least 1"),
        (["generate", "--tables", "10", "--faults", "X9=0.1"], {}, "unknown rule 'X9'"),
        (["quality"], {"TALLYHOUSE_QUARANTINE_THRESHOLD": "lots"}, "is not a number"),
        (["run", "--election", "nosuch"], {}, "no election 'nosuch'"),
    ],
)
def test_bad_configuration_is_one_line_with_exit_2(argv, env, message, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *argv, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**_clean_env(), **env},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TALLYHOUSE_")}


def test_export_tables_takes_one_or_more_marts_as_before():
    export = tallyhouse.commands["export"]
    argv = ["--tables", "results", "turnout", "--out", "x", "--format", "csv"]
    with export.make_context("export", argv) as ctx:
        assert ctx.params["tables"] == ("results", "turnout")
        assert ctx.params["out"] == "x" and ctx.params["file_format"] == "csv"
    with export.make_context("export", ["--out", "x"]) as ctx:
        assert ctx.params["tables"] == ()


def test_spreading_greedy_values_stops_at_the_next_option_and_at_the_double_dash():
    greedy = frozenset({"--tables"})
    assert spread_greedy(["--tables", "a", "b", "--out", "c"], greedy) == [
        "--tables",
        "a",
        "--tables",
        "b",
        "--out",
        "c",
    ]
    assert spread_greedy(["--tables=a", "b"], greedy) == ["--tables=a", "b"]
    assert spread_greedy(["--tables", "a", "--", "b"], greedy) == ["--tables", "a", "--", "b"]


def test_the_old_spellings_still_parse():
    cases = {
        "replay": (["--from", "gen", "--pace", "0.5"], {"source": "gen", "pace": 0.5}),
        "run": (["--full", "--quarantine-threshold", "0.2"], {"full": True}),
        "quality": (["--rule", "E2", "--severity", "warn"], {"rule": "E2", "severity": "warn"}),
        "generate": ([], {"tables": 30_000, "seed": 2024, "drops": 4, "reporting": 1.0}),
        "ui": (["--port", "3100"], {"port": 3100}),
        "docs": (["--check"], {"check": True}),
        "query": (["select 1", "--max-rows", "3"], {"sql": "select 1", "max_rows": 3}),
    }
    for name, (argv, expected) in cases.items():
        with tallyhouse.commands[name].make_context(name, argv) as ctx:
            assert {k: ctx.params[k] for k in expected} == expected, name


def test_schema_prints_both_schemas_as_one_object(capsys):
    models = pytest.importorskip(
        "transforms.contract_models",
        reason="transforms.contract_models (json_schemas) comes with the contract-models branch",
    )
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(models.json_schemas()))
    assert set(printed) == {"contract", "election"}


def test_schema_writes_one_file_per_schema(tmp_path: Path, capsys):
    models = pytest.importorskip(
        "transforms.contract_models",
        reason="transforms.contract_models (json_schemas) comes with the contract-models branch",
    )
    out = tmp_path / "schemas"
    assert main(["schema", "--out", str(out)]) == 0
    expected = json.loads(json.dumps(models.json_schemas()))
    assert sorted(p.name for p in out.iterdir()) == [
        "contract.schema.json",
        "election.schema.json",
    ]
    for key in ("contract", "election"):
        assert json.loads((out / f"{key}.schema.json").read_text()) == expected[key]
