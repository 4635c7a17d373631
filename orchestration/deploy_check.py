"""Whether the Postgres server a Dagster instance keeps its runs in can be reached: one line
either way, naming the host, port, user and database, never the password.

The webserver and the daemon fail on a missing or wrong URL with a traceback of dagster's;
`tallyhouse deploy-check` (run by the deploy/ services before they start) and every
`tallyhouse run` and `ui` say instead what is wrong and what to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from orchestration.settings import PG_URL_ENV, instance_postgres
from transforms.text import escaped, one_line

DRIVER_SCHEME = "postgresql+psycopg2"  # the driver installed (psycopg2-binary)
URL_FORM = f"{DRIVER_SCHEME}://USER:PASSWORD@HOST:5432/DATABASE"
DEFAULT_PORT = 5432
DEFAULT_TIMEOUT = 5  # seconds; libpq waits at least 2


class PostgresUnreachable(Exception):
    """The server does not answer, or refuses the login or the database: one line."""


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str | None
    database: str | None
    password: str | None = field(default=None, repr=False)
    options: Mapping[str, str] = field(default_factory=dict)  # ?sslmode=require, ...
    source: str = PG_URL_ENV  # where the URL was read: `$TALLYHOUSE_PG_URL` or the file

    @property
    def where(self) -> str:
        return f"{escaped(self.host, 120)}:{self.port}"


def check_instance(
    dagster_home: Path, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
) -> PostgresTarget | None:
    """The Postgres server the instance in `dagster_home` keeps its runs in, once it has
    answered and taken the login; None when the instance does not use Postgres. A missing or
    malformed URL is a ValueError, a server that does not answer or refuses the login a
    PostgresUnreachable: each one line that says what to do."""
    storage = instance_postgres(dagster_home, env)
    if storage is None:
        return None
    if storage.url is None:
        missing = (
            f"{storage.source[1:]} is not set"
            if storage.source.startswith("$")
            else f"{storage.source} names no complete Postgres URL"
        )
        raise ValueError(
            f"{missing}, and {escaped(dagster_home / 'dagster.yaml', 200)} keeps Dagster's runs "
            f"in Postgres: {_fix(storage.source)} to {URL_FORM} (docs/deploy.md)"
        )
    target = parse_url(storage.url, storage.source)
    connect(target, storage.source, timeout)
    return target


def parse_url(url: str, source: str) -> PostgresTarget:
    """The parts of a Postgres URL; a URL dagster could not use is a ValueError that names
    `source` (`$TALLYHOUSE_PG_URL` or the file) and never shows the password."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(f"{_what(source)} is not a URL of the form {URL_FORM}") from None
    if parts.scheme in ("postgresql", "postgres"):
        raise ValueError(
            f"{_what(source)} starts with {parts.scheme}://: write {DRIVER_SCHEME}:// "
            "(SQLAlchemy reads a bare postgresql:// with psycopg 3, which is not installed; "
            f"the form: {URL_FORM})"
        )
    if parts.scheme != DRIVER_SCHEME:
        raise ValueError(f"{_what(source)} is not a URL of the form {URL_FORM}")
    options = dict(parse_qsl(parts.query))
    host = parts.hostname or options.pop("host", None)
    if not host:
        raise ValueError(f"{_what(source)} names no host (the form: {URL_FORM})")
    options.pop("host", None)
    return PostgresTarget(
        host=host,
        port=port or DEFAULT_PORT,
        user=unquote(parts.username) if parts.username else None,
        database=unquote(parts.path.lstrip("/")) or None,
        password=unquote(parts.password) if parts.password is not None else None,
        options=options,
        source=source,
    )


def connect(target: PostgresTarget, source: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Open and close one connection to `target`, waiting at most `timeout` seconds for the
    server; PostgresUnreachable says why it failed, in one line, without the password."""
    _connection(target, source, timeout).close()


# a Postgres advisory lock's key (any 64-bit number, the same in every process): held while
# an instance's tables are made (make_instance_tables)
TABLES_LOCK = 0x7A11_4057


def ready_instance(dagster_home: Path, timeout: float = DEFAULT_TIMEOUT) -> PostgresTarget | None:
    """check_instance, then Dagster's tables made there (make_instance_tables): what
    `tallyhouse deploy-check` and every `run` and `ui` do before Dagster opens the instance,
    so that no two first uses of a new database (a run started by hand while the services
    start) make them at once. None: the instance does not use Postgres."""
    target = check_instance(dagster_home, timeout)
    if target is not None:
        make_instance_tables(dagster_home, target, timeout)
    return target


def make_instance_tables(
    dagster_home: Path, target: PostgresTarget, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Dagster's tables in the instance's Postgres database, made once. Dagster makes them on
    an instance's first use, and two first uses at once (the daemon and the webserver started
    together on a new database) both try, one failing (`type "secondary_indexes" already
    exists`). Here they are made under an advisory lock: each service's deploy-check
    (ExecStartPre) waits for the other's and finds them made. PostgresUnreachable says in one
    line, without the password, why they could not be."""
    import dagster as dg

    connection = _connection(target, target.source, timeout)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select pg_advisory_lock(%s)", [TABLES_LOCK])
        try:
            with dg.DagsterInstance.from_config(str(dagster_home)):
                pass
        except Exception as error:  # a user that may not create tables, a server gone
            text = str(error).replace(target.password or "\0", "***")
            raise PostgresUnreachable(
                f"Postgres at {target.where} answers, but Dagster's tables could not be made "
                f"there ({one_line(_first_reason(text), 160)})"
            ) from None
    finally:
        connection.close()  # the lock goes with the session


def _connection(target: PostgresTarget, source: str, timeout: float):
    """One connection to `target` (psycopg2), or PostgresUnreachable in one line."""
    import psycopg2

    try:
        return psycopg2.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            dbname=target.database,
            connect_timeout=max(2, round(timeout)),
            **target.options,
        )
    except psycopg2.Error as error:
        raise PostgresUnreachable(_explained(target, source, str(error), timeout)) from None


def _explained(target: PostgresTarget, source: str, text: str, timeout: float) -> str:
    if target.password:
        text = text.replace(target.password, "***")
    user, database = escaped(target.user or "", 60), escaped(target.database or "", 60)
    lowered = text.lower()
    if "authentication failed" in lowered or "no pg_hba.conf entry" in lowered:
        return (
            f"Postgres at {target.where} refused the login of user '{user}': "
            f"check the user and password in {_name(source)}"
        )
    if "role" in lowered and "does not exist" in lowered:
        return (
            f"Postgres at {target.where} has no user '{user}': create it "
            f"(createuser -P {user}) or name another in {_name(source)}"
        )
    if "database" in lowered and "does not exist" in lowered:
        return (
            f"Postgres at {target.where} has no database '{database}': create it "
            f"(createdb -O {user or 'USER'} {database}) or name another in {_name(source)}"
        )
    if "timeout expired" in lowered:
        reason = f"no answer within {max(2, round(timeout))} s"
    else:
        reason = one_line(_first_reason(text), 160)
    return (
        f"cannot reach Postgres at {target.where} ({reason}): start it, or {_fix(source)} "
        "to a server that runs"
    )


def _first_reason(text: str) -> str:
    """libpq's first line without its `connection to server at "h", port p failed:` preface."""
    first = text.strip().splitlines()[0] if text.strip() else "no reason given"
    return first.split(" failed: ", 1)[-1]


def _name(source: str) -> str:
    return source if source.startswith("$") else f"the Postgres URL of {source}"


def _what(source: str) -> str:
    return source[1:] if source.startswith("$") else f"the Postgres URL of {source}"


def _fix(source: str) -> str:
    """What to set: the variable (`set TALLYHOUSE_PG_URL`) or the file's value."""
    if source.startswith("$"):
        return f"set {source[1:]}"
    return f"fix the Postgres URL in {source} (or read it from ${PG_URL_ENV})"
