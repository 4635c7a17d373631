"""`tallyhouse docs` and `tallyhouse schema`: the project's generated reference material."""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestration.cli_commands.common import fail

SCHEMA_FILES = {"contract": "contract.schema.json", "election": "election.schema.json"}


@click.command("docs")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the page is stale.")
def docs(check: bool) -> int:
    """Regenerate docs/data-dictionary.md from the mart registry."""
    from warehouse.data_dictionary import PAGE, render, write

    if check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != render():
            return fail(f"{PAGE} is stale: run `tallyhouse docs`.")
        click.echo(f"{PAGE} is up to date.")
        return 0
    click.echo(f"{'wrote' if write() else 'unchanged:'} {PAGE}")
    return 0


@click.command("schema")
@click.option(
    "--out",
    metavar="DIR",
    help=f"Folder to write {' and '.join(SCHEMA_FILES.values())} to "
    "(default: print both as one JSON object).",
)
def schema(out: str | None) -> int:
    """JSON Schemas of the feed contract and of election.toml.

    For editors and validators of the TOML files under elections/.
    """
    try:
        from transforms.contract_models import json_schemas
    except ImportError as error:
        return fail(f"the contract models are not available: {error}")
    schemas = json_schemas()
    if out is None:
        click.echo(_dumps(schemas))
        return 0
    folder = Path(out).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in SCHEMA_FILES.items():
        (folder / name).write_text(_dumps(schemas[key]) + "\n", encoding="utf-8")
        click.echo(f"wrote {folder / name}")
    return 0


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
