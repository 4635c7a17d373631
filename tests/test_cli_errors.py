"""Errors a user can act on: an unknown election, a broken election.toml or a broken contract,
through `run`, `check` and `quality`, each said in one line naming the file and key, exit 2, no
traceback, nothing written.

The command lines run in this process (the `tallyhouse` fixture calls the console script's entry
point); one runs the installed console script in a process of its own, as a user does."""

from pathlib import Path

import pytest

from tests.conftest import tallyhouse_process
from tests.test_contracts import CONTRACT_TOML, ELECTION_TOML

pytestmark = pytest.mark.e2e  # the CLI

BROKEN = {
    "unknown election": (None, None, "no election 'nosuch'"),
    "broken election.toml": (
        ELECTION_TOML.replace('levels = ["region", "station"]', 'levels = "region"'),
        None,
        "mini/election.toml: levels:",
    ),
    "election.toml not TOML": (
        ELECTION_TOML + "\nlevels = [\n",
        None,
        "mini/election.toml: not valid TOML",
    ),
    "broken contract": (
        None,
        CONTRACT_TOML.replace("skip_lines = 2", 'skip_lines = "abc"'),
        "mini/contracts/observers.toml: file.skip_lines: expected a whole number, got 'abc'",
    ),
    "contract with an unknown level": (
        None,
        CONTRACT_TOML.replace("[codes.region]", "[codes.province]"),
        "mini/contracts/observers.toml: codes",
    ),
}


def _elections(tmp_path: Path, election: str | None, contract: str | None) -> Path:
    root = tmp_path / "elections"
    (root / "mini" / "contracts").mkdir(parents=True)
    (root / "mini" / "election.toml").write_text(election or ELECTION_TOML)
    (root / "mini" / "contracts" / "observers.toml").write_text(contract or CONTRACT_TOML)
    return root


def _arguments(tmp_path: Path, command: str, case: str) -> list[str]:
    """The command line for `command` on the broken case's elections folder and an empty
    landing folder (tmp_path/landing), its data directory tmp_path/data."""
    name = "nosuch" if case == "unknown election" else "mini"
    args = [command, "--election", name]
    if command == "check":
        args += ["--landing", str(tmp_path / "landing")]
    else:
        args += ["--data-dir", str(tmp_path / "data")]
        if command == "run":
            args += ["--landing", str(tmp_path / "landing")]
    return args


@pytest.mark.parametrize("command", ["run", "check", "quality"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_configuration_errors_are_one_line_naming_file_and_key(command, case, tmp_path, tallyhouse):
    election, contract, message = BROKEN[case]
    root = _elections(tmp_path, election, contract)
    landing = tmp_path / "landing"
    landing.mkdir()
    data = tmp_path / "data"
    args = _arguments(tmp_path, command, case)
    done = tallyhouse(*args, env={"TALLYHOUSE_ELECTIONS_DIR": str(root)})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "dagster" not in done.stderr.lower()
    assert not data.exists(), "a configuration error wrote the data directory"
    assert list(landing.iterdir()) == []


def test_the_console_script_says_a_configuration_error_in_one_line_without_traceback(tmp_path):
    """The installed `tallyhouse` in a process of its own: what a user sees is the one line."""
    election, contract, message = BROKEN["broken contract"]
    root = _elections(tmp_path, election, contract)
    (tmp_path / "landing").mkdir()
    done = tallyhouse_process(
        *_arguments(tmp_path, "check", "broken contract"),
        env={"TALLYHOUSE_ELECTIONS_DIR": str(root)},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "dagster" not in done.stderr.lower()
    assert list((tmp_path / "landing").iterdir()) == []


def test_check_takes_the_elections_folder_as_an_option(tmp_path, tallyhouse):
    root = _elections(tmp_path, None, CONTRACT_TOML.replace("skip_lines = 2", "skip_lines = -1"))
    done = tallyhouse(
        "check",
        "--election",
        "mini",
        "--landing",
        str(tmp_path),
        "--elections-dir",
        str(root),
    )
    assert done.returncode == 2 and "mini/contracts/observers.toml: file.skip_lines" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--landing", "/nonexistent/landing"], "--landing: /nonexistent/landing is not a folder"),
        (["--rows", "0"], "0 is not in the range x>=1"),
        (
            ["--elections-dir", "/nonexistent/el"],
            "--elections-dir: /nonexistent/el is not a folder",
        ),
    ],
)
def test_check_argument_errors_exit_2(args, message, tallyhouse):
    done = tallyhouse("check", *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["run", "ui"])
def test_an_elections_folder_that_is_not_there_is_one_line_and_nothing_written(
    command, tmp_path, tallyhouse
):
    data = tmp_path / "data"
    done = tallyhouse(command, "--elections-dir", "/nonexistent/el", "--data-dir", str(data))
    assert done.returncode == 2, done.stderr
    assert done.stderr == "Error: --elections-dir: /nonexistent/el is not a folder\n"
    assert not data.exists(), "an argument error wrote the data directory"


def test_quality_refuses_a_data_directory_of_another_election(tmp_path, tallyhouse):
    import duckdb

    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("create schema raw")
        con.execute("create table raw.election as select 'sample' as election_id")
    root = _elections(tmp_path, None, None)
    done = tallyhouse(
        "quality",
        "--election",
        "mini",
        "--data-dir",
        str(data),
        env={"TALLYHOUSE_ELECTIONS_DIR": str(root)},
    )
    assert done.returncode == 2, done.stderr
    assert "holds election 'sample', not 'mini'" in done.stderr


def test_run_refuses_a_missing_landing_folder_and_a_file_two_contracts_claim(tmp_path, tallyhouse):
    data = tmp_path / "data"
    done = tallyhouse("run", "--landing", str(tmp_path / "nowhere"), "--data-dir", str(data))
    assert done.returncode == 2 and "--landing:" in done.stderr and "is not a folder" in done.stderr
    assert not data.exists()
    root = _elections(tmp_path, None, None)
    again = CONTRACT_TOML.replace('id = "observers"', 'id = "again"', 1)
    (root / "mini" / "contracts" / "again.toml").write_text(again)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "obs_1.txt").write_text("Code;Region\n")
    for command in (["run", "--data-dir", str(data)], ["check"]):
        done = tallyhouse(
            *command,
            "--election",
            "mini",
            "--landing",
            str(landing),
            env={"TALLYHOUSE_ELECTIONS_DIR": str(root)},
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1
        assert "obs_1.txt matches both contract 'again' and 'observers'" in done.stderr
    assert not data.exists()


def test_quality_refuses_an_unknown_rule_naming_the_rules(tmp_path, tallyhouse):
    from expectations.rules import RULES

    done = tallyhouse("quality", "--rule", "X9", "--data-dir", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    rules = ", ".join(r.id for r in RULES)
    assert done.stderr == f"unknown rule 'X9'; the rules are: {rules}\n", done.stderr


def test_a_data_directory_that_is_a_file_is_one_line(tmp_path, tallyhouse):
    afile = tmp_path / "data"
    afile.write_text("not a folder")
    done = tallyhouse("run", "--data-dir", str(afile))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"cannot prepare the data directory {afile}: File exists" in done.stderr


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1e3", "999999"])
def test_a_bad_sensor_interval_is_one_line(tmp_path, tallyhouse, value):
    done = tallyhouse(
        "query", "select 1", "--data-dir", str(tmp_path), env={"TALLYHOUSE_SENSOR_INTERVAL": value}
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "is not a whole number of seconds from 1 to 86400" in done.stderr
