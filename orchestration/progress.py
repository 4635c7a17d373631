"""A concise console logger: what each step did, not Dagster's full event stream."""

from __future__ import annotations

import logging
import sys

import dagster as dg
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR


class ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, LOG_RECORD_METADATA_ATTR, None)
        if meta is None:
            return
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        if event is None:
            line = f"  {step}: {meta['orig_message']}"
        elif event.event_type_value == "STEP_SUCCESS":
            line = f"✓ {step} done"
        elif event.event_type_value == "STEP_FAILURE":
            line = f"✗ {step} FAILED"
        else:
            return
        print(line, file=sys.stdout, flush=True)


@dg.logger(
    {"quiet": dg.Field(bool, default_value=False, description="print nothing")},
    description="Prints step progress and asset messages, one line each.",
)
def progress_logger(init_context) -> logging.Logger:
    logger = logging.Logger("tallyhouse.progress", level=logging.DEBUG)
    if not init_context.logger_config["quiet"]:
        logger.addHandler(ProgressHandler())
    return logger
