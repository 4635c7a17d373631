"""What `tallyhouse run` tells an analyst to type next works when pasted into a shell as printed,
and `results` reads as plain words (no word said twice in a row) at every level."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # every test here runs the pipeline through the CLI

QUERY_HINT = re.compile(r"^  query them with: (tallyhouse .+)$", re.M)
RACES_HINT = re.compile(r"^  every race: (tallyhouse query .+), or (tallyhouse report.*)$", re.M)
TWICE = re.compile(r"\b([^\W\d_]+)\s+\1\b", re.I)  # a word, then the same word again
TABLES = "240"


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """`command` as a user pastes it into a POSIX shell: the installed console script on PATH,
    no TALLYHOUSE_ variable set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLYHOUSE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def words_twice(text: str) -> list[str]:
    return [m.group(0) for m in TWICE.finditer(text)]


def levels_of(tallyhouse, *data_dir: str) -> list[str]:
    done = tallyhouse(
        "query", *data_dir, "select distinct level from results order by 1", "--format", "csv"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[1:]


def test_the_query_hint_works_as_printed_from_another_folder(tmp_path, tallyhouse):
    data = tmp_path / "election night's data"  # a space and a quote: the flag must be quoted
    assert tallyhouse("generate", "--tables", TABLES, "--data-dir", str(data)).returncode == 0
    done = tallyhouse("run", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    hint = QUERY_HINT.search(done.stdout).group(1)
    assert "--data-dir" in hint, "the data directory is not the default: the hint names it"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pasted = shell(hint, elsewhere)
    assert pasted.returncode == 0, pasted.stderr
    state_rows = re.compile(r"^sample +sample +state +[0-9]{2} +Estado", re.M)
    assert state_rows.search(pasted.stdout), pasted.stdout
    # without the flag the same query looks in ./data, which has nothing: the flag is needed
    words = shlex.split(hint)
    at = words.index("--data-dir")
    assert words[at + 1] == str(data), "the shell reads the folder back whole"
    bare = shell(shlex.join(words[:at] + words[at + 2 :]), elsewhere)
    assert bare.returncode == 1 and "No published marts" in bare.stderr
    assert not words_twice(done.stdout), "the run summary"


def test_results_never_says_a_word_twice_at_any_level(tmp_path, tallyhouse):
    data = str(tmp_path / "data")
    assert tallyhouse("generate", "--tables", TABLES, "--data-dir", data).returncode == 0
    assert tallyhouse("run", "--data-dir", data).returncode == 0
    levels = levels_of(tallyhouse, "--data-dir", data)
    assert levels[:2] == ["centre", "municipality"] and "national" in levels
    for level in levels:
        done = tallyhouse("results", "--data-dir", data, "--level", level, "--max-units", "5")
        assert done.returncode == 0, done.stderr
        assert not words_twice(done.stdout), (level, words_twice(done.stdout))
        assert "null" not in done.stdout, "an empty cell reads as a dash"
    national = tallyhouse("results", "--data-dir", data, "--level", "national").stdout
    assert national.startswith("[sample] national Republic of Tallyland"), national


def test_a_general_election_s_hints_work_as_printed_in_the_default_data_dir(
    tmp_path, tallyhouse, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # ./data: the default, so the hints leave --data-dir out
    generated = tallyhouse("generate", "--tables", TABLES, "--contests", "3")
    assert generated.returncode == 0, generated.stderr
    done = tallyhouse("run", "--election", "general")
    assert done.returncode == 0, done.stderr
    assert "--data-dir" not in done.stdout
    commands = [QUERY_HINT.search(done.stdout).group(1), *RACES_HINT.search(done.stdout).groups()]
    assert commands[2].endswith("--election general"), "the report features the run's contests"
    for command in commands:
        pasted = shell(command, tmp_path)
        assert pasted.returncode == 0, (command, pasted.stderr)
    assert (tmp_path / "data" / "report.html").is_file(), "the printed report command wrote it"
    assert not words_twice(done.stdout)
    for level in levels_of(tallyhouse):
        printed = tallyhouse("results", "--level", level, "--max-units", "8").stdout
        assert printed and not words_twice(printed), (level, words_twice(printed))
