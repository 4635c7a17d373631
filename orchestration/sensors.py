"""The landing sensor: a run for each new or changed file, never twice for the same bytes."""

import dagster as dg

from landing.files import matching_files, registry_path
from landing.watch import WatchCursor, look
from orchestration.settings import Settings
from warehouse.configs import load_election

LANDING_SENSOR = "landing_sensor"
FILE_TAG, SHA_TAG = "tallyhouse/file", "tallyhouse/sha256"  # what a sensor run is for
FULL_TAG = "tallyhouse/full"  # "true": rebuild every layer from the raw layer


def make_landing_sensor(job_name: str, settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name=LANDING_SENSOR,
        job_name=job_name,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Watches the landing folder; starts a run per new or changed feed file "
        "(keyed by its sha256), once its size has stopped changing.",
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
        context.update_cursor(cursor.to_json())
        if not ready:
            return dg.SkipReason("no new or changed file ready")
        return [
            dg.RunRequest(
                run_key=item.sha256,
                tags={FILE_TAG: item.path.name, SHA_TAG: item.sha256},
            )
            for item in ready
        ]

    return landing_sensor
