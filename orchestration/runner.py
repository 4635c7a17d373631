"""Running the main job in-process: shared by the CLI, the tests and the benchmarks."""

import dagster as dg

from orchestration.assets.keys import CHECK_FILES_ACCEPTED, PUBLISHED_MARTS, RAW_DELIVERIES
from orchestration.definitions import TALLY_JOB, build_definitions
from orchestration.settings import Settings

PROGRESS = {"loggers": {"console": {}}}
QUIET = {"loggers": {"console": {"config": {"quiet": True}}}}


def run_tally_job(
    settings: Settings,
    instance: dg.DagsterInstance,
    show_progress: bool = True,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize every asset in this process; never raises for a failed step."""
    job = build_definitions(settings).resolve_job_def(TALLY_JOB)
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags=tags,
        run_config=PROGRESS if show_progress else QUIET,
    )


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step: the step and what went wrong, as a user should read it."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "RESOURCE_INIT_FAILURE":  # e.g. the data directory is busy
            error = event.event_specific_data.error
            text = error.message if error is not None else event.message or ""
            messages.append(f"run not started: {text.split(': ', 1)[-1].strip()}")
        if event.is_step_failure:
            data = event.step_failure_data
            user = data.user_failure_data
            error = data.error
            while (
                error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name
            ):
                error = error.cause
            text = user.description if user and user.description else error.message
            messages.append(f"{event.step_key}: {text.strip()}")
    return messages


def rejected_files(result: dg.ExecuteInProcessResult) -> list[str]:
    """The errors of files rejected whole in this run (the rest of the delivery went on)."""
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.check_name == CHECK_FILES_ACCEPTED and not evaluation.passed:
            return list(evaluation.metadata["errors"].value)
    return []


def unmatched_files(result: dg.ExecuteInProcessResult) -> tuple[int, list[str]]:
    """How many landing files no contract matched in this run, and the first of their names
    (escaped, as the ingest step logged them)."""
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization is not None and materialization.asset_key == RAW_DELIVERIES:
            metadata = materialization.metadata
            if "files_unmatched" in metadata:
                count = int(metadata["files_unmatched"].value)
                return count, list(metadata["unmatched_files"].value)
    return 0, []


def published(result: dg.ExecuteInProcessResult) -> bool:
    """Whether the run replaced the published file (a run that changed nothing does not)."""
    return any(
        event.materialization is not None and event.materialization.asset_key == PUBLISHED_MARTS
        for event in result.get_asset_materialization_events()
    )
