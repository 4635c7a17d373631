"""The forensic mart's WARN checks and the alerts they raise.

One non-blocking WARN check per forensic check (F1-F3): it fails when the check flags anything,
with counts and a sample of flagged keys in its metadata. A failing WARN check never stops a run.
"""

import dagster as dg
import polars as pl

from orchestration.assets.keys import MART_FORENSICS
from orchestration.checks import SAMPLE, alert_failed_checks
from transforms.model import NATIONAL

FORENSIC_CHECKS = {
    "F1": "forensic_f1_last_digits_uniform",
    "F2": "forensic_f2_tables_within_their_centre",
    "F3": "forensic_f3_fingerprint_corner",
}
DESCRIPTIONS = {
    "F1": "Last digits of candidate counts are uniform per state (chi-square, Bonferroni): "
    "a warning, never proof.",
    "F2": "No table's turnout or main candidate's share sits far outside the other tables of "
    "its centre: a warning, never proof.",
    "F3": "At most 1 % of tallies sit at turnout >= 95 % with one candidate >= 95 %, nationally "
    "and per state: a warning, never proof.",
}

FORENSIC_CHECK_SPECS = [
    dg.AssetCheckSpec(
        name, asset=MART_FORENSICS, blocking=False, description=DESCRIPTIONS[check_id]
    )
    for check_id, name in FORENSIC_CHECKS.items()
]


def forensic_check_results(frame: pl.DataFrame, tally_level: str):
    for check_id, name in FORENSIC_CHECKS.items():
        rows = frame.filter(check_id=check_id)
        if check_id == "F2":  # tables examined, from the national summary; flagged tables
            examined = int(rows.filter(level=NATIONAL)["n"].sum())
            flagged = rows.filter(pl.col("level") == tally_level)
        else:  # tests run; units flagged
            examined = rows.filter(pl.col("statistic").is_not_null()).height
            flagged = rows.filter("flagged")
        yield dg.AssetCheckResult(
            asset_key=MART_FORENSICS,
            check_name=name,
            passed=flagged.is_empty(),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "check": check_id,
                "examined": examined,
                "flagged": flagged.height,
                "sample_keys": dg.MetadataValue.json(_keys(flagged)),
            },
        )


def _keys(flagged: pl.DataFrame) -> list[str]:
    return [
        ":".join(p for p in row if p is not None)
        for row in flagged.select("source_id", "level", "unit_code", "candidate_id")
        .head(SAMPLE)
        .iter_rows()
    ]


def raise_forensic_alerts(con, alerts, log, checks, run_id) -> None:
    """A warn alert per forensic check that flagged something."""
    alert_failed_checks(
        con,
        alerts,
        log,
        checks,
        run_id,
        lambda _name, meta: f"forensic check {meta['check']} flagged {meta['flagged']} unit(s)",
    )
