"""Accepted tallies → marts/forensics: forensic warnings (F1-F3), added to the pending marts.

Never blocking: each check is a WARN asset check and raises a warn alert when it flags anything.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.alerting import Alerter
from orchestration.assets.keys import MART_FORENSICS, MART_RESULTS, MART_TABLES, MARTS
from orchestration.forensic_checks import CHECK_SPECS, check_results, raise_alerts
from orchestration.resources import TallyhouseDirs
from transforms.forensics import forensics
from warehouse.publish import add_to_pending
from warehouse.tables import read_table, read_votes_wide


@dg.asset(
    key=MART_FORENSICS,
    deps=[MART_RESULTS, *MART_TABLES.values()],
    group_name=MARTS,
    check_specs=CHECK_SPECS,
    description="Forensic warnings on the accepted tallies: last-digit uniformity per state "
    "(F1), tables far outside their centre (F2), the turnout x vote-share fingerprint (F3). "
    "Warnings, never proof: see docs/forensics.md.",
)
def forensics_mart(
    context: dg.AssetExecutionContext,
    dirs: TallyhouseDirs,
    duckdb: DuckDBResource,
    alerts: dg.ResourceParam[Alerter],
):
    election = dirs.election_config().election
    with duckdb.get_connection() as con:
        tallies = read_table(con, "staged", "tallies")
        votes = read_votes_wide(con, election.candidate_ids)
        units = read_table(con, "staged", "units")
        quarantine = read_table(con, "quality", "quarantine")
    accepted = tallies.join(quarantine.select("tally_id"), on="tally_id", how="anti")
    frame = forensics(accepted, votes, units, election)
    add_to_pending(dirs.settings.published, {"forensics": frame})
    checks = list(check_results(frame, election.tally_level))
    with duckdb.get_connection() as con:
        raise_alerts(con, alerts, context.log, checks, context.run.run_id)
    context.log.info(
        f"forensics: {frame.height:,} rows from {accepted.height:,} accepted tallies, "
        f"{sum(c.metadata['flagged'].value for c in checks)} flagged"
    )
    yield dg.MaterializeResult(
        metadata={
            "rows": frame.height,
            **{c.check_name: c.metadata["flagged"].value for c in checks},
        }
    )
    yield from checks
