"""`tallyhouse deploy-check`: can the Dagster instance of the data directory reach its
Postgres server? Run by the deploy/ services before the webserver and the daemon start."""

from __future__ import annotations

import click

from orchestration.cli_commands.common import ConfigError, data_dir_option, settings_from


@click.command("deploy-check")
@data_dir_option
@click.option(
    "--timeout",
    type=click.IntRange(2, 60),
    default=5,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the Postgres server to answer.",
)
def deploy_check(data_dir: str | None, timeout: int) -> int:
    """Try the Postgres server of the Dagster instance.

    When the data directory's dagster_home/dagster.yaml keeps runs in Postgres
    (deploy/dagster.yaml), try one connection with the URL it names ($TALLYHOUSE_PG_URL).
    Exit 0 ready (or SQLite: nothing to check), 1 the server does not answer or refuses the
    login, 2 no dagster.yaml or a missing or malformed URL. The password is never printed.
    """
    from orchestration.deploy_check import PostgresUnreachable, ready_instance
    from transforms.text import escaped

    settings = settings_from(data_dir)
    config = settings.dagster_home / "dagster.yaml"
    if not config.is_file():
        raise ConfigError(
            f"no Dagster instance at {escaped(settings.dagster_home, 300)}: copy "
            "deploy/dagster.yaml to its dagster.yaml for Postgres, or run `tallyhouse run` "
            "once for the SQLite default (docs/deploy.md)"
        )
    try:
        target = ready_instance(settings.dagster_home, timeout)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    except PostgresUnreachable as error:
        raise click.ClickException(str(error)) from None
    if target is None:
        click.echo(f"{escaped(config, 300)} keeps runs in SQLite beside it: nothing to check.")
        return 0
    click.echo(
        f"Postgres at {target.where} answers: database '{escaped(target.database or '', 60)}', "
        f"user '{escaped(target.user or '', 60)}' ({escaped(config, 300)}); Dagster's tables "
        "are there."
    )
    return 0
