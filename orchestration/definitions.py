"""Dagster definitions: assets, jobs and resources — nothing else.

Settings are read when Dagster loads the definitions, not when this module is imported.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.ingest import raw_deliveries
from orchestration.assets.marts import marts
from orchestration.assets.publish import published_marts
from orchestration.assets.quality import quality_gate
from orchestration.assets.staging import staged_tallies
from orchestration.progress import progress_logger
from orchestration.resources import build_resources
from orchestration.settings import Settings, load_settings

TALLY_JOB = "tally_job"

ASSETS = [raw_deliveries, staged_tallies, quality_gate, marts, published_marts]


def build_definitions(settings: Settings) -> dg.Definitions:
    tally_job = dg.define_asset_job(
        TALLY_JOB,
        selection=dg.AssetSelection.all(),
        description="Load new landing files, stage, roll up and publish the marts.",
    )
    return dg.Definitions(
        assets=ASSETS,
        jobs=[tally_job],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
        loggers={"console": progress_logger},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(load_settings())
