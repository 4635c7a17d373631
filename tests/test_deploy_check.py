"""Reading a deployment's instance: which Postgres URL its dagster.yaml names, the one-line
errors for a missing, malformed or unreachable URL (never the password), the repository's .env
that points `dagster dev` at the command line's instance, and the files of deploy/."""

import re
import socket
import sys
from pathlib import Path

import pytest

from orchestration.deploy_check import (
    PostgresUnreachable,
    check_instance,
    connect,
    parse_url,
)
from orchestration.dotenv_file import MARK, render, wanted_values, write_dotenv
from orchestration.settings import DAGSTER_YAML, PG_URL_ENV, Settings, instance_postgres

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SECRET = "s3cr3t-Pa55"


def home_with(tmp_path: Path, text: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(text)
    return home


def deployed_home(tmp_path: Path) -> Path:
    return home_with(tmp_path, (DEPLOY / "dagster.yaml").read_text())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_the_deploy_instance_reads_its_url_from_the_environment(tmp_path):
    home = deployed_home(tmp_path)
    url = f"postgresql+psycopg2://th:{SECRET}@db.example:6543/runs"
    storage = instance_postgres(home, {PG_URL_ENV: url})
    assert storage.url == url and storage.source == f"${PG_URL_ENV}"
    assert SECRET not in repr(storage)
    assert instance_postgres(home, {}).url is None


def test_sqlite_or_no_instance_has_nothing_to_check(tmp_path):
    assert instance_postgres(tmp_path / "nowhere", {}) is None
    home = home_with(tmp_path, DAGSTER_YAML)
    assert instance_postgres(home, {}) is None
    assert check_instance(home, env={}) is None


def test_postgres_db_parts_make_the_url_dagster_would(tmp_path):
    home = home_with(
        tmp_path,
        "storage:\n  postgres:\n    postgres_db:\n      username: th\n"
        "      password: {env: PGPASS}\n      hostname: db\n      db_name: runs\n",
    )
    storage = instance_postgres(home, {"PGPASS": "p@ss"})
    assert storage.url == "postgresql://th:p%40ss@db:5432/runs"
    with pytest.raises(ValueError, match="starts with postgresql://: write postgresql"):
        parse_url(storage.url, storage.source)


def test_a_broken_dagster_yaml_is_one_line_naming_it(tmp_path):
    home = home_with(tmp_path, "storage: [unclosed\n")
    with pytest.raises(ValueError, match=r"dagster\.yaml: cannot be read as YAML") as caught:
        instance_postgres(home, {})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (None, "TALLYHOUSE_PG_URL is not set, and .* keeps Dagster's runs in Postgres: set "
         "TALLYHOUSE_PG_URL to postgresql\\+psycopg2://USER:PASSWORD@HOST:5432/DATABASE"),
        (f"postgresql://th:{SECRET}@db:5432/runs", "starts with postgresql://: write "
         "postgresql\\+psycopg2://"),
        (f"postgres://th:{SECRET}@db/runs", "starts with postgres://"),
        (f"mysql://th:{SECRET}@db/runs", "TALLYHOUSE_PG_URL is not a URL of the form"),
        (f"postgresql+psycopg2://th:{SECRET}@db:notaport/runs", "is not a URL of the form"),
        (f"postgresql+psycopg2://th:{SECRET}@/runs", "names no host"),
    ],
)  # fmt: skip
def test_a_missing_or_malformed_url_says_what_to_set(tmp_path, url, says):
    env = {} if url is None else {PG_URL_ENV: url}
    with pytest.raises(ValueError) as caught:
        check_instance(deployed_home(tmp_path), env=env)
    message = str(caught.value)
    assert re.search(says, message), message
    assert SECRET not in message and "\n" not in message


def test_a_server_that_does_not_answer_is_named_by_host_and_port(tmp_path):
    port = closed_port()
    url = f"postgresql+psycopg2://th:{SECRET}@127.0.0.1:{port}/runs"
    with pytest.raises(PostgresUnreachable) as caught:
        check_instance(deployed_home(tmp_path), timeout=2, env={PG_URL_ENV: url})
    message = str(caught.value)
    assert message.startswith(f"cannot reach Postgres at 127.0.0.1:{port} (")
    assert message.endswith("start it, or set TALLYHOUSE_PG_URL to a server that runs")
    assert SECRET not in message and "\n" not in message


def test_the_url_parts_and_options_reach_the_driver():
    target = parse_url(
        "postgresql+psycopg2://th%40x:p%2Fw@db.example:6543/run%20s?sslmode=require", "$X"
    )
    assert (target.host, target.port, target.user, target.database) == (
        "db.example",
        6543,
        "th@x",
        "run s",
    )
    assert target.password == "p/w" and dict(target.options) == {"sslmode": "require"}
    assert "p/w" not in repr(target)
    socket_dir = parse_url("postgresql+psycopg2://th@/runs?host=/run/postgresql", "$X")
    assert (socket_dir.host, socket_dir.port, dict(socket_dir.options)) == (
        "/run/postgresql",
        5432,
        {},
    )


def test_connect_scrubs_a_password_the_driver_echoes(monkeypatch):
    import psycopg2

    def echoing(**kwargs):
        raise psycopg2.OperationalError(f"bad option near {kwargs['password']}\nDETAIL: x")

    monkeypatch.setattr(psycopg2, "connect", echoing)
    target = parse_url(f"postgresql+psycopg2://th:{SECRET}@db:5432/runs", "$TALLYHOUSE_PG_URL")
    with pytest.raises(PostgresUnreachable) as caught:
        connect(target, "$TALLYHOUSE_PG_URL")
    assert str(caught.value) == (
        "cannot reach Postgres at db:5432 (bad option near ***): start it, or set "
        "TALLYHOUSE_PG_URL to a server that runs"
    )


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.dg]\ndirectory_type = "project"\n')
    return tmp_path


def test_the_env_file_points_dagster_at_the_command_lines_instance(tmp_path):
    folder = project(tmp_path)
    (folder / ".env").write_text("# mine\nOTHER=1\nDAGSTER_HOME=/old\n")
    settings = Settings(
        folder / "dc",
        election="mine",
        landing_dir=tmp_path / "feeds",
        elections_dir=tmp_path / "my-elections",
    )
    assert write_dotenv(folder, settings) == folder / ".env"
    lines = (folder / ".env").read_text().splitlines()
    assert lines == [
        "# mine",
        "OTHER=1",
        "",
        MARK,
        f"DAGSTER_HOME='{folder / 'dc' / 'dagster_home'}'",
        f"TALLYHOUSE_DATA_DIR='{folder / 'dc'}'",
        "TALLYHOUSE_ELECTION='mine'",
        f"TALLYHOUSE_LANDING='{tmp_path / 'feeds'}'",
        f"TALLYHOUSE_ELECTIONS_DIR='{tmp_path / 'my-elections'}'",  # `dagster dev` finds `mine`
    ]
    write_dotenv(folder, Settings(folder / "data"))  # the defaults: their lines go
    again = (folder / ".env").read_text()
    assert "TALLYHOUSE_LANDING" not in again and again.count(MARK) == 1
    assert "TALLYHOUSE_ELECTIONS_DIR" not in again
    assert again.startswith("# mine\nOTHER=1\n\n")


def test_the_env_file_is_dotenv_that_dagster_reads(tmp_path):
    from dotenv import dotenv_values

    folder = project(tmp_path)
    settings = Settings(folder / "data $HOME #1")
    write_dotenv(folder, settings)
    values = dotenv_values(folder / ".env")
    assert values["DAGSTER_HOME"] == str(settings.dagster_home)
    assert values["TALLYHOUSE_DATA_DIR"] == str(settings.data_dir)


def test_the_env_file_is_left_alone_outside_a_project_or_its_data(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert write_dotenv(plain, Settings(plain / "data")) is None
    (tmp_path / "repo").mkdir()
    folder = project(tmp_path / "repo")
    assert write_dotenv(folder, Settings(tmp_path / "elsewhere")) is None  # a test's tmp dir
    assert not (plain / ".env").exists() and not (folder / ".env").exists()
    quoted = Settings(folder / "it's")
    assert render("", wanted_values(quoted)) is None and write_dotenv(folder, quoted) is None


def test_the_services_run_this_environments_programs_on_the_definitions():
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert [u.name for u in units] == ["tallyhouse-daemon.service", "tallyhouse-webserver.service"]
    programs = {"dagster-daemon", "dagster-webserver", "tallyhouse"}
    for unit in units:
        text = unit.read_text()
        assert "EnvironmentFile=/etc/tallyhouse/tallyhouse.env" in text
        assert "ExecStartPre=/opt/tallyhouse/.venv/bin/tallyhouse deploy-check" in text
        assert "-m orchestration.definitions" in text
        for command in re.findall(r"^Exec\w+=(\S+)", text, re.MULTILINE):
            assert Path(command).name in programs
            assert (Path(sys.executable).parent / Path(command).name).exists(), command
    env = (DEPLOY / "tallyhouse.env").read_text()
    assert "DAGSTER_HOME=/srv/tallyhouse/data/dagster_home" in env
    assert "TALLYHOUSE_DATA_DIR=/srv/tallyhouse/data" in env
    assert re.search(rf"^{PG_URL_ENV}=postgresql\+psycopg2://", env, re.MULTILINE)
