"""The deployment of deploy/: Dagster's runs, event logs and sensor state in Postgres, the daemon
with the landing sensor on, two drops landed one after the other. Both runs succeed and publish,
and `tallyhouse deploy-check` says in one line what is wrong with a bad URL.

It starts a private PostgreSQL server (initdb and pg_ctl from Debian's postgresql package, which
.ci/run installs) in a temporary folder on a free port, as the postgres user when run as root,
and stops it afterwards. Where the server's programs are absent or it cannot start, the tests
skip, saying why."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from landing.files import write_synthetic
from orchestration.settings import ELECTION_ENV, LANDING_ENV, PG_URL_ENV
from transforms.synthetic.election import generate
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # runs the daemon, its runs and the CLI

REPO = Path(__file__).resolve().parents[1]
DEPLOY_YAML = REPO / "deploy" / "dagster.yaml"
BIN = Path(sys.executable).parent
RUN_WAIT = 300  # seconds for one run, from landing its file to its end (a cold run process
# imports Dagster, DuckDB and GX: ~15 s on a quiet machine, a minute on a loaded one)


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    password: str


def _server_programs() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    folders = [f for f in folders if (f / "initdb").exists() and (f / "pg_ctl").exists()]
    return folders[-1] if folders else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return " | ".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def postgres() -> Iterator[Server]:
    programs = _server_programs()
    if programs is None:
        pytest.skip(
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
            "apt-get install postgresql (.ci/run does)"
        )
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no postgres user to run the server as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root, and runuser is missing to start postgres as its user")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="tallyhouse-pg-"))
    password = secrets.token_urlsafe(12)
    (folder / "password").write_text(password)
    if owner is not None:
        for path in (folder, folder / "password"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    db, log = folder / "db", folder / "server.log"
    try:
        made = subprocess.run(
            [*as_user, str(programs / "initdb"), "-D", str(db), "-U", "tallyhouse",
             "--auth=scram-sha-256", f"--pwfile={folder / 'password'}", "-E", "UTF8",
             "--no-sync"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {' | '.join(made.stderr.strip().splitlines()[-3:])}")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run(
            [*as_user, str(programs / "pg_ctl"), "-D", str(db), "-l", str(log), "-w",
             "-t", "60", "-o", options, "start"],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        if started.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {_tail(log)}")
        url = f"postgresql+psycopg2://tallyhouse:{password}@127.0.0.1:{port}/tallyhouse"
        _create_database(port, password)
        yield Server(url, port, password)
    finally:
        if (db / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, str(programs / "pg_ctl"), "-D", str(db), "-m", "immediate", "-w",
                 "-t", "30", "stop"],
                capture_output=True, timeout=60,
            )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _create_database(port: int, password: str, name: str = "tallyhouse") -> None:
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1", port=port, user="tallyhouse", password=password, dbname="postgres",
        connect_timeout=10,
    )  # fmt: skip
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"create database {name}")  # a constant of these tests
    connection.close()


# The daemon's queue takes the runs the sensor asks for every 5 s by default: every second here
# (the deployment's settings are kept, this is added), a few seconds less waiting for each run.
DEQUEUE_EVERY_SECOND = "\nrun_queue:\n  dequeue_interval_seconds: 1\n"


def _data_dir(root: Path) -> Path:
    """A data directory whose Dagster instance is deploy/dagster.yaml, as docs/deploy.md says
    (its queue polled every second)."""
    home = root / "data" / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(DEPLOY_YAML.read_text() + DEQUEUE_EVERY_SECOND)
    (root / "data" / "landing").mkdir()
    return root / "data"


def _environment(data: Path, url: str | None) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("TALLYHOUSE_", "DAGSTER_"))
    }  # fmt: skip
    env = {**clean, "DAGSTER_HOME": str(data / "dagster_home"), "TALLYHOUSE_DATA_DIR": str(data)}
    if url is not None:
        env[PG_URL_ENV] = url
    return env


def _deploy_check(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "tallyhouse"), "deploy-check", "--timeout", "3"],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
    )  # fmt: skip


def test_deploy_check_says_in_one_line_what_is_wrong(postgres, tmp_path):
    data = _data_dir(tmp_path)
    ready = _deploy_check(_environment(data, postgres.url), tmp_path)
    assert ready.returncode == 0, ready.stderr
    assert f"Postgres at 127.0.0.1:{postgres.port} answers" in ready.stdout

    wrong = postgres.url.replace(postgres.password, "not-the-password")
    refused = _deploy_check(_environment(data, wrong), tmp_path)
    closed_port = _free_port()
    down = _deploy_check(
        _environment(data, postgres.url.replace(f":{postgres.port}/", f":{closed_port}/")),
        tmp_path,
    )
    unset = _deploy_check(_environment(data, None), tmp_path)
    bare = _deploy_check(_environment(data, wrong.replace("+psycopg2", "")), tmp_path)
    assert (refused.returncode, down.returncode, unset.returncode, bare.returncode) == (1, 1, 2, 2)
    assert "refused the login of user 'tallyhouse'" in refused.stderr
    assert f"cannot reach Postgres at 127.0.0.1:{closed_port}" in down.stderr
    assert "TALLYHOUSE_PG_URL is not set" in unset.stderr
    assert "write postgresql+psycopg2://" in bare.stderr
    for done in (refused, down, unset, bare):
        assert done.stderr.count("\n") == 1 and done.stdout == "", done.stderr
        assert postgres.password not in done.stderr and "not-the-password" not in done.stderr


def _has_runs_table(server: Server, database: str) -> bool:
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1", port=server.port, user="tallyhouse", password=server.password,
        dbname=database, connect_timeout=10,
    )  # fmt: skip
    with connection, connection.cursor() as cursor:
        cursor.execute("select count(*) from information_schema.tables where table_name = 'runs'")
        found = cursor.fetchone() == (1,)
    connection.close()
    return found


def test_two_services_starting_at_once_on_a_new_database_both_find_the_tables(postgres, tmp_path):
    """Each service runs deploy-check before it starts (ExecStartPre): two at once on a new
    database make Dagster's tables once, under an advisory lock, where two first uses of the
    instance at once failed (`type "secondary_indexes" already exists`)."""
    _create_database(postgres.port, postgres.password, "fresh")
    env = _environment(_data_dir(tmp_path), postgres.url.rsplit("/", 1)[0] + "/fresh")
    checks = [
        subprocess.Popen(
            [str(BIN / "tallyhouse"), "deploy-check", "--timeout", "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )  # fmt: skip
        for _ in range(2)
    ]
    said = [check.communicate(timeout=120) for check in checks]
    assert [check.returncode for check in checks] == [0, 0], said
    assert all("Dagster's tables are there" in out for out, _ in said), said
    assert _has_runs_table(postgres, "fresh")


def test_a_run_started_by_hand_makes_the_tables_under_the_services_lock(
    postgres, tmp_path, monkeypatch
):
    """`tallyhouse run` and `ui` ready the instance as deploy-check does before Dagster opens it
    (orchestration.cli_commands.common.activate): on a new database the tables are made there,
    under the lock, so a run started by hand while the services start cannot race them."""
    from orchestration.cli_commands.common import activate, settings_from

    _create_database(postgres.port, postgres.password, "by_hand")
    data = _data_dir(tmp_path)
    for name, value in _environment(data, postgres.url.rsplit("/", 1)[0] + "/by_hand").items():
        monkeypatch.setenv(name, value)
    for name in (ELECTION_ENV, LANDING_ENV):  # activate sets them: put back afterwards
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # activate writes its .env here
    assert not _has_runs_table(postgres, "by_hand")
    activate(settings_from(str(data)))
    assert _has_runs_table(postgres, "by_hand")


def test_the_daemon_runs_each_landed_drop_and_publishes_it(postgres, tmp_path, monkeypatch):
    import dagster as dg

    data = _data_dir(tmp_path)
    incoming = tmp_path / "incoming"
    election = generate(600, seed=11, drops=2)
    write_synthetic(election, incoming)
    env = {**_environment(data, postgres.url), "TALLYHOUSE_SENSOR_INTERVAL": "1"}
    for key, value in env.items():  # this process reads the same instance
        monkeypatch.setenv(key, value)
    # the first drop is there before the sensor is on: its first tick asks for the run,
    # while the daemon is still starting (no tick waited for); the second lands after
    _land(incoming / "tallies_001.csv", data / "landing")
    log = tmp_path / "daemon.log"
    modules = ["-m", "orchestration.definitions"]
    # as the services do before they start (ExecStartPre): the tables made once
    assert _deploy_check(env, tmp_path).returncode == 0
    # the sensor is stopped by default: turn it on, as an operator does (docs/deploy.md)
    sensor_on = subprocess.Popen(
        [str(BIN / "dagster"), "sensor", "start", "landing_sensor", *modules],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", *modules],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and runs die with it
        )  # fmt: skip
    try:
        said, _ = sensor_on.communicate(timeout=180)
        assert sensor_on.returncode == 0, said[-2000:]
        with dg.DagsterInstance.get() as instance:
            runs = []
            runs.append(_wait_for_run(instance, "tallies_001.csv", daemon, log))
            _land(incoming / "tallies_002.csv", data / "landing")
            runs.append(_wait_for_run(instance, "tallies_002.csv", daemon, log))
            statuses = [run.status for run in runs]
    finally:
        _stop(daemon)
        if sensor_on.poll() is None:
            sensor_on.kill()
            sensor_on.wait(timeout=10)
    assert statuses == [dg.DagsterRunStatus.SUCCESS] * 2, _tail(log, 20)
    with connect(data / "marts.duckdb", read_only=True) as con:
        published_by = con.sql("select run_id from publication").fetchall()
        national = con.sql(
            "select candidate_id, votes from results where level = 'national'"
        ).fetchall()
    assert published_by == [(runs[1].run_id,)], "the second drop's run published last"
    expected = json.loads((incoming / "truth.json").read_text())["national"]["candidates"]
    assert dict(national) == expected, "both drops, every tally, reach the published marts"


def _land(source: Path, landing: Path) -> None:
    """Land a feed file whole: written under a name the sensor ignores, then renamed."""
    part = landing / f".{source.name}.part"
    shutil.copy(source, part)
    os.replace(part, landing / source.name)


def _wait_for_run(instance, file_name: str, daemon: subprocess.Popen, log: Path):
    """The sensor's run for `file_name` once it has ended; fails when the daemon dies or the
    run has not ended within RUN_WAIT seconds."""
    import dagster as dg

    from orchestration.sensors import FILE_TAG

    ended = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
             dg.DagsterRunStatus.CANCELED}  # fmt: skip
    deadline = time.monotonic() + RUN_WAIT
    while time.monotonic() < deadline:
        assert daemon.poll() is None, f"the daemon stopped: {_tail(log, 20)}"
        found = instance.get_runs(filters=dg.RunsFilter(tags={FILE_TAG: file_name}))
        if found and found[0].status in ended:
            return found[0]
        time.sleep(0.25)
    raise AssertionError(f"no run for {file_name} ended within {RUN_WAIT} s: {_tail(log, 20)}")


def _stop(process: subprocess.Popen) -> None:
    """Stop a process started in a session of its own and everything it started: asked
    first, then killed with what is left of its group."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
