"""Landing files → raw: each file read with its feed contract and loaded once, keyed by sha256.

A file that cannot be read, whose columns no longer match its contract, or whose load fails for
any other reason is rejected whole and alerted; the rest of the delivery proceeds. Files no
contract matches are logged by name and listed in the materialization's metadata.
"""

import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from expectations.alerts import Alert
from landing.files import (
    matching_files,
    refused_files,
    registry_path,
    sha256_file,
    unmatched_files,
    unsettled,
)
from orchestration.alerting import Alerter
from orchestration.assets.keys import CHECK_FILES_ACCEPTED, RAW, RAW_DELIVERIES
from orchestration.catalog import ROW_COUNT
from orchestration.resources import TallyhouseDirs, Warehouse
from orchestration.sensors import FILE_TAG, FULL_TAG, SHA_TAG
from transforms.text import escaped
from warehouse.alerts import alerted_subjects
from warehouse.db import row_counts
from warehouse.raw_load import (
    LOADED,
    REJECTED,
    SKIPPED,
    UNREADABLE,
    bind_election,
    load_feed_files,
    load_registry,
)
from warehouse.schema import ensure_schema


@dg.asset(
    key=RAW_DELIVERIES,
    group_name=RAW,
    description="Landing files loaded as delivered through their feed contracts, one "
    "transactional load per file, idempotent by file sha256.",
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_FILES_ACCEPTED,
            asset=RAW_DELIVERIES,
            description="Every landed file could be read and matches its contract.",
        )
    ],
)
def raw_deliveries(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: Warehouse,
    alerts: dg.ResourceParam[Alerter],
):
    config = dirs.election_config()
    landing = dirs.settings.landing
    if not landing.is_dir():
        raise dg.Failure(description=f"The landing folder {landing} does not exist.")
    unmatched = unmatched_files(landing, config.contracts, config.election)
    _log_unmatched(context, unmatched)
    refused = refused_files(landing)
    with duckdb.get_connection() as con:
        outcomes = _load_landed(context, con, config, landing, dirs.settle_seconds)
        _refuse(context, con, alerts, refused)
        rejected = [o for o in outcomes if o.status == REJECTED]
        _alert_new_rejections(context, con, alerts, rejected)
        deliveries, rows = con.execute(
            "select count(*), coalesce(sum(row_count), 0) from raw.deliveries where kind = 'feed'"
        ).fetchall()[0]
        in_table = row_counts(con, "raw", ["deliveries"])["deliveries"]
    if not deliveries:
        raise dg.Failure(description=_why_nothing_delivered(config, landing, rejected))
    yield _materialization(outcomes, rejected, deliveries, rows, unmatched, in_table)
    yield _files_accepted(rejected)


def _load_landed(
    context: dg.AssetExecutionContext, con, config, landing: Path, settle: float = 0
) -> list:
    """Load the registry (if landed) and every landed feed file this run loads (_to_load),
    each through its contract; log each file's outcome, those already delivered counted in
    one line (on election night, every earlier file of the night: a line each would be an
    event each, stored in the run's log, about 0.1 s of a drop's run for 100 files)."""
    election = config.election
    run_id = context.run.run_id
    ensure_schema(con)
    bind_election(con, election.id)
    outcomes = []
    full = context.run.tags.get(FULL_TAG) == "true"  # a full run hashes every landed file
    registry = registry_path(landing, election)
    if registry is not None:
        outcomes.append(load_registry(con, registry, election, run_id))
    files = _to_load(context, matching_files(landing, config.contracts), settle)
    skipped = 0
    for path, contract, outcome in load_feed_files(con, files, election, run_id, rehash=full):
        outcomes.append(outcome)
        if outcome.status == SKIPPED:
            skipped += 1
            continue
        used = outcome.read - outcome.excluded - outcome.blank
        blank = f" + {outcome.blank:,} blank" if outcome.blank else ""
        verb = {
            LOADED: f"loaded {outcome.rows:,} tallies with contract {contract.id} "
            f"({outcome.read:,} rows read = {used:,} used + {outcome.excluded:,} left out by "
            f"the contract{blank})",
            UNREADABLE: f"{outcome.error}: left for the next run",
            REJECTED: f"REJECTED: {outcome.error}",
        }[outcome.status]
        context.log.info(f"{path.name}: {verb}")
    if skipped:
        context.log.info(f"{skipped:,} landed file(s) already delivered, skipped")
    return outcomes


UNMATCHED_SHOWN = 20  # file names a log line or the metadata lists; the rest are counted


def _log_unmatched(context: dg.AssetExecutionContext, unmatched: list[str]) -> None:
    if not unmatched:
        return
    shown = ", ".join(escaped(name) for name in unmatched[:UNMATCHED_SHOWN])
    more = (
        f" and {len(unmatched) - UNMATCHED_SHOWN} more" if len(unmatched) > UNMATCHED_SHOWN else ""
    )
    context.log.warning(
        f"{len(unmatched)} landing file(s) match no contract and were not loaded: {shown}{more}"
    )


def _refuse(context: dg.AssetExecutionContext, con, alerts: Alerter, refused: list[str]) -> None:
    """Landing entries that are not regular files (symlinks, devices, pipes): never opened,
    logged on every run, alerted once each."""
    if not refused:
        return
    shown = ", ".join(escaped(name) for name in refused[:UNMATCHED_SHOWN])
    more = f" and {len(refused) - UNMATCHED_SHOWN} more" if len(refused) > UNMATCHED_SHOWN else ""
    context.log.warning(
        f"{len(refused)} landing entr(y/ies) refused unread: not a regular file of the landing "
        f"folder (a symlink, a device or a pipe): {shown}{more}"
    )
    already = alerted_subjects(con, "refused")
    for name in refused:
        subject = f"refused:{escaped(name, 200)}"
        if subject in already:
            continue
        alert = Alert(
            datetime.now(UTC).replace(tzinfo=None),
            "error",
            "refused_file",
            "landing entry refused unread: not a regular file of the landing folder",
            {"files": 1},
            context.run.run_id,
            (escaped(name),),
            subject=subject,
        )
        alerts.send(con, alert, context.log)


def _alert_new_rejections(context: dg.AssetExecutionContext, con, alerts: Alerter, rejected):
    """One error alert per rejected file, the first time it is rejected."""
    already = alerted_subjects(con, "rejected")
    for outcome in rejected:
        if outcome.file_sha256 in already:
            continue
        alert = Alert(
            datetime.now(UTC).replace(tzinfo=None),
            "error",
            "rejected_file",
            f"file rejected whole: {outcome.error}",
            {"files": 1},
            context.run.run_id,
            (outcome.file_name,),
            subject=outcome.file_sha256,
        )
        alerts.send(con, alert, context.log)


def _why_nothing_delivered(config, landing: Path, rejected: list) -> str:
    why = (
        "every landed file was rejected:\n" + "\n".join(f"- {o.error}" for o in rejected)
        if rejected
        else f"no file in {landing} matches the contracts of election {config.election.id!r} "
        f"({', '.join(c.pattern for c in config.contracts)})"
    )
    return f"No feed has been delivered yet: {why}"


def _materialization(
    outcomes: list, rejected: list, deliveries: int, rows: int, unmatched, in_table: int
):
    loaded = [o for o in outcomes if o.status == LOADED]
    return dg.MaterializeResult(
        metadata={
            ROW_COUNT: in_table,
            "files_loaded": len(loaded),
            "rows_loaded": sum(o.rows for o in loaded),
            "rows_left_out": sum(o.excluded for o in loaded),
            "rows_blank": sum(o.blank for o in loaded),
            "files_skipped": sum(o.status == SKIPPED for o in outcomes),
            "files_rejected": len(rejected),
            "deliveries_total": int(deliveries),
            "rows_total": int(rows),
            "files_unmatched": len(unmatched),
            "unmatched_files": dg.MetadataValue.json(
                [escaped(name) for name in unmatched[:UNMATCHED_SHOWN]]
            ),
        }
    )


def _files_accepted(rejected: list) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=CHECK_FILES_ACCEPTED,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rejected": len(rejected),
            "errors": dg.MetadataValue.json([o.error for o in rejected]),
            "sample_keys": dg.MetadataValue.json([o.file_name for o in rejected]),
        },
    )


def _settled(context: dg.AssetExecutionContext, files: list, settle_seconds: float) -> list:
    """The files that have not changed for settle_seconds. A run waits for a file that changed
    more recently to settle (at most settle_seconds); one that changes again meanwhile may
    still be being copied in and is left for the next run (the sensor waits the same way).
    A file whose time is in the future (copied with its times kept from a machine whose clock
    is ahead) never ages: it has settled when it did not change over the wait."""
    kept = []
    for path, contract in files:
        age = unsettled(path, settle_seconds)
        if age is not None:
            seen = _stamp(path)
            time.sleep(min(settle_seconds - age, settle_seconds))
            now = _stamp(path)
            ahead = now is not None and now == seen and now[0] > time.time_ns()
            age = None if ahead else unsettled(path, settle_seconds)
        if age is None:
            kept.append((path, contract))
        else:
            context.log.warning(
                f"{escaped(path.name)}: still changing ({age:.1f} s ago), may still be being "
                "written: left for the next run"
            )
    return kept


def _stamp(path: Path) -> tuple[int, int] | None:
    """The file's modification time (ns) and size; None when it is gone."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


def _to_load(context: dg.AssetExecutionContext, files: list, settle_seconds: float = 0) -> list:
    """A run the landing sensor started loads the file it was started for, and only while that
    file still holds the bytes the sensor saw; any other run loads every landed file."""
    name = context.run.tags.get(FILE_TAG)
    if name is None:
        return _settled(context, files, settle_seconds)
    wanted = context.run.tags.get(SHA_TAG)
    chosen = [(p, c) for p, c in files if p.name == name and sha256_file(p) == wanted]
    if not chosen:
        context.log.info(
            f"{name} changed or left since the sensor saw it; the sensor will "
            "start another run for its new content"
        )
    return chosen
