"""The landing sensor: a run for each new or changed file, never twice for the same bytes.

It asks for nothing for a file whose bytes the raw layer already holds (the command line loaded
it): it reads raw.deliveries read-only, under a shared hold of the writer lock that never makes
a run wait more than that moment; while a run holds the lock it skips the tick, saying so, and
looks at the same files again at the next one. A sensor run that failed because a run held the
data directory (WriterBusy) is asked for again, under a new run key (the sha256 and an attempt
number: Dagster ignores a run key it has seen), unless its bytes have been delivered since.

The registry gets no run of its own until a feed has been delivered: every run loads the landed
registry, so the first feed's run takes it (a run with a registry and no feed would fail: there
is nothing to count yet); once feeds are in, a changed registry gets its run.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from landing.files import matching_files, registry_path
from landing.watch import Ready, WatchCursor, look
from orchestration.settings import Settings
from orchestration.writer_lock import WriterBusy, reading
from warehouse.configs import load_election
from warehouse.db import connect
from warehouse.verify_files import delivered_among, feeds_delivered

LANDING_SENSOR = "landing_sensor"
FILE_TAG, SHA_TAG = "tallyhouse/file", "tallyhouse/sha256"  # what a sensor run is for
FULL_TAG = "tallyhouse/full"  # "true": rebuild every layer from the raw layer
SENSOR_NAME_TAG = "dagster/sensor_name"  # Dagster's tag on the runs a sensor asked for
FAILURES_LOOKED_AT = 50  # the sensor's latest failed runs considered for a retry at each tick


def make_landing_sensor(job_name: str, settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name=LANDING_SENSOR,
        job_name=job_name,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Watches the landing folder; starts a run per new or changed feed file "
        "(keyed by its sha256) once its size has stopped changing, none for bytes already "
        "delivered; asks again for a run that failed on the writer lock.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext):
        config = load_election(settings.election, settings.elections_dir)
        landing = settings.landing
        if not landing.is_dir():
            return dg.SkipReason(f"the landing folder {landing} does not exist")
        paths = [path for path, _ in matching_files(landing, config.contracts)]
        registry = registry_path(landing, config.election)
        if registry is not None:
            paths.append(registry)
        ready, cursor = look(paths, WatchCursor.from_json(context.cursor))
        retries, judged = _lock_failures(context.instance, cursor.judged)
        if ready or retries:
            wanted = [item.sha256 for item in ready] + [run.tags[SHA_TAG] for run in retries]
            try:
                delivered, feeds_in = _delivered(settings, wanted)
            except WriterBusy as busy:  # the cursor stays: the same files, next tick
                return dg.SkipReason(f"{busy}; the sensor looks again at the next tick")
            ready = [item for item in ready if item.sha256 not in delivered]
            retries = [run for run in retries if run.tags[SHA_TAG] not in delivered]
            ready = _registry_run_if_needed(ready, registry, feeds_in)
        cursor.judged = judged
        context.update_cursor(cursor.to_json())
        requests = [_request(item) for item in ready] + [
            _retry(context.instance, run) for run in retries
        ]
        return requests or dg.SkipReason("no new or changed file ready")

    return landing_sensor


def _request(item: Ready) -> dg.RunRequest:
    return dg.RunRequest(run_key=item.sha256, tags={FILE_TAG: item.path.name, SHA_TAG: item.sha256})


def _retry(instance: dg.DagsterInstance, failed: dg.DagsterRun) -> dg.RunRequest:
    sha = failed.tags[SHA_TAG]
    attempt = instance.get_runs_count(dg.RunsFilter(tags={SHA_TAG: sha})) + 1
    return dg.RunRequest(
        run_key=f"{sha}:{attempt}", tags={FILE_TAG: failed.tags[FILE_TAG], SHA_TAG: sha}
    )


def _registry_run_if_needed(ready: list[Ready], registry, feeds_in: bool) -> list[Ready]:
    """Leave the registry out when a feed run of this tick loads it anyway, or when no feed has
    been delivered yet (the first feed's run loads it)."""
    feeds_now = any(item.path != registry for item in ready)
    if feeds_now or not feeds_in:
        return [item for item in ready if item.path != registry]
    return ready


def _delivered(settings: Settings, shas: list[str]) -> tuple[set[str], bool]:
    """The sha256 among `shas` the raw layer holds, and whether it holds any feed delivery;
    WriterBusy while a run writes."""
    if not settings.warehouse.exists():
        return set(), False
    with reading(settings.data_dir):
        try:
            with connect(settings.warehouse, read_only=True) as con:
                return delivered_among(con, shas), feeds_delivered(con)
        except duckdb.IOException:  # held by a command outside the lock (withdraw)
            raise WriterBusy(
                f"the warehouse {settings.warehouse.name} is open for writing by another process"
            ) from None


def _lock_failures(
    instance: dg.DagsterInstance, judged: set[str]
) -> tuple[list[dg.DagsterRun], set[str]]:
    """The sensor's failed runs not looked at yet that failed on the writer lock and are the
    latest run for their file's bytes; and the failed runs looked at (kept in the cursor, only
    those still among the latest FAILURES_LOOKED_AT)."""
    failed = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE], tags={SENSOR_NAME_TAG: LANDING_SENSOR}
        ),
        limit=FAILURES_LOOKED_AT,
    )
    retries = []
    for run in failed:
        if run.run_id in judged or SHA_TAG not in run.tags or FILE_TAG not in run.tags:
            continue
        latest = instance.get_runs(
            filters=dg.RunsFilter(tags={SHA_TAG: run.tags[SHA_TAG]}), limit=1
        )
        if latest and latest[0].run_id == run.run_id and failed_on_writer_lock(instance, run):
            retries.append(run)
    return retries, {run.run_id for run in failed}


def failed_on_writer_lock(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Whether the run failed because another run held the data directory (WriterBusy)."""
    failures = {
        dg.DagsterEventType.RESOURCE_INIT_FAILURE,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.RUN_FAILURE,
    }
    for record in instance.all_logs(run.run_id, of_type=failures):
        event = record.dagster_event
        if event is None:
            continue
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            if error.cls_name == WriterBusy.__name__:
                return True
            error = error.cause or error.context
    return False
