"""Asset keys mirror the warehouse's schema.table; group names live here once."""

import dagster as dg

RAW_DELIVERIES = dg.AssetKey(["raw", "deliveries"])
STAGED_UNITS = dg.AssetKey(["staged", "units"])
STAGED_TALLIES = dg.AssetKey(["staged", "tallies"])
STAGED_VOTES = dg.AssetKey(["staged", "tally_votes"])
MART_RESULTS = dg.AssetKey(["marts", "results"])
MART_TURNOUT = dg.AssetKey(["marts", "turnout"])
MART_COVERAGE = dg.AssetKey(["marts", "coverage"])
PUBLISHED_MARTS = dg.AssetKey(["published", "marts"])

RAW, STAGED, MARTS, PUBLISHED = "raw", "staged", "marts", "published"

QUALITY_QUARANTINE = dg.AssetKey(["quality", "quarantine"])
QUALITY_ISSUES = dg.AssetKey(["quality", "issues"])
MART_QUALITY_SUMMARY = dg.AssetKey(["marts", "quality_summary"])
MART_QUALITY_ISSUES = dg.AssetKey(["marts", "quality_issues"])
MART_RECONCILIATION = dg.AssetKey(["marts", "reconciliation"])
MART_RECONCILIATION_SUMMARY = dg.AssetKey(["marts", "reconciliation_summary"])
MART_ANNOUNCED = dg.AssetKey(["marts", "announced_vs_tallied"])
MART_AMENDMENTS = dg.AssetKey(["marts", "amendments"])
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

# The marts besides results (written from wide form), by their table in the published file.
MART_TABLES = {
    "turnout": MART_TURNOUT,
    "coverage": MART_COVERAGE,
    "quality_summary": MART_QUALITY_SUMMARY,
    "quality_issues": MART_QUALITY_ISSUES,
    "reconciliation": MART_RECONCILIATION,
    "reconciliation_summary": MART_RECONCILIATION_SUMMARY,
    "announced_vs_tallied": MART_ANNOUNCED,
    "amendments": MART_AMENDMENTS,
}
MART_PROJECTION = dg.AssetKey(["marts", "projection"])
MART_FORENSICS = dg.AssetKey(["marts", "forensics"])
# Marts built after the marts step into the warehouse's marts schema; the publish step adds them
# to the pending file (opening it once) and waits on them.
ADDED_MARTS = (MART_PROJECTION, MART_FORENSICS)
ADDED_TABLES = tuple(key.path[-1] for key in ADDED_MARTS)
ALL_MARTS = (MART_RESULTS, *MART_TABLES.values(), *ADDED_MARTS)
