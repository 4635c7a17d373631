"""Dagster definitions: assets, checks, the job, its schedule and sensor, resources.

Settings are read when Dagster loads the definitions, not when this module is imported.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.forensics import forensics_mart
from orchestration.assets.ingest import raw_deliveries
from orchestration.assets.marts import marts
from orchestration.assets.projection import projection
from orchestration.assets.publish import published_marts
from orchestration.assets.quality import quality_gate
from orchestration.assets.staging import staged_tallies
from orchestration.catalog import catalogued
from orchestration.progress import progress_logger
from orchestration.resources import build_resources
from orchestration.sensors import FULL_TAG, make_landing_sensor
from orchestration.settings import Settings, load_settings

TALLY_JOB = "tally_job"
REBUILD_SCHEDULE = "full_rebuild"

ASSETS = [
    raw_deliveries,
    staged_tallies,
    quality_gate,
    marts,
    projection,
    forensics_mart,
    published_marts,
]


def build_definitions(settings: Settings) -> dg.Definitions:
    tally_job = dg.define_asset_job(
        TALLY_JOB,
        selection=dg.AssetSelection.all(),
        description="Load new landing files, stage, roll up and publish the marts.",
    )
    rebuild = dg.ScheduleDefinition(
        name=REBUILD_SCHEDULE,
        job=tally_job,
        cron_schedule=settings.rebuild_cron,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        tags={FULL_TAG: "true"},
        description="Rebuilds every layer from the raw layer on a schedule (nightly by default; "
        "TALLYHOUSE_REBUILD_CRON), whatever the incremental runs did in between.",
    )
    return dg.Definitions(
        assets=catalogued(ASSETS, settings.owner),
        jobs=[tally_job],
        schedules=[rebuild],
        sensors=[make_landing_sensor(TALLY_JOB, settings)],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
        loggers={"console": progress_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
