"""Asset keys mirror the warehouse's schema.table; group names live here once."""

import dagster as dg

from warehouse.mart_registry import MARTS as REGISTERED_MARTS
from warehouse.mart_registry import Step, built_by, built_into_warehouse

RAW_DELIVERIES = dg.AssetKey(["raw", "deliveries"])
STAGED_UNITS = dg.AssetKey(["staged", "units"])
STAGED_TALLIES = dg.AssetKey(["staged", "tallies"])
STAGED_VOTES = dg.AssetKey(["staged", "tally_votes"])
PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])

RAW, STAGED, MARTS, PUBLISHED = "raw", "staged", "marts", "published"

QUALITY_QUARANTINE = dg.AssetKey(["quality", "quarantine"])
QUALITY_ISSUES = dg.AssetKey(["quality", "issues"])
STAGED_VERSIONS = dg.AssetKey(["staged", "tally_versions"])
QUALITY = "quality"

CHECK_FILES_ACCEPTED = "landed_files_accepted"
CHECK_ACCEPTED_CLEAN = "accepted_tallies_break_no_error_rule"
CHECK_QUARANTINE_SHARE = "quarantine_share_per_delivery"
WARN_CHECKS = {
    "W1": "w1_high_turnout",
    "W2": "w2_one_candidate_takes_all",
    "W3": "w3_total_fell_between_deliveries",
}


def mart_key(name: str) -> dg.AssetKey:
    """A mart's asset key: its table in the published file, under `marts`."""
    return dg.AssetKey([MARTS, name])


# Every mart a step builds as an asset (those the publish step adds are part of its file).
MART_KEYS = {m.name: mart_key(m.name) for m in REGISTERED_MARTS if m.step != Step.PUBLISH}
MART_RESULTS = MART_KEYS["results"]
# The marts step's marts besides results (written from wide form), by their published table.
MART_TABLES = {m.name: MART_KEYS[m.name] for m in built_by(Step.MARTS) if m.name != "results"}
MART_PROJECTION = MART_KEYS["projection"]
MART_FORENSICS = MART_KEYS["forensics"]
# Marts built after the marts step into the warehouse's marts schema; the publish step adds them
# to the pending file (opening it once) and waits on them.
ADDED_MARTS = tuple(MART_KEYS[m.name] for m in built_into_warehouse())
ALL_MARTS = tuple(MART_KEYS.values())
