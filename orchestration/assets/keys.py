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
