"""The values a broken rule shows (`observed`, quality.issues and the alerts): a vote-for-N
contest's ballots are its marks / N, a float; a whole one reads `votes_cast=286`, never
`286.0`, and a fraction stays as it is (it is the evidence: marks that do not divide evenly)."""

import polars as pl

from expectations.quarantine import _observed
from expectations.rules import RULES


def test_whole_floats_read_as_integers_and_fractions_stay():
    rule = next(r for r in RULES if r.observed == ("votes_cast", "registered"))
    evidence = pl.DataFrame(
        {"votes_cast": [286.0, 143.5, None, float("nan")], "registered": [250, 100, 90, 80]}
    )
    shown = evidence.select(_observed(rule, evidence.schema).alias("o"))["o"].to_list()
    assert shown == [
        "votes_cast=286, registered=250",
        "votes_cast=143.5, registered=100",
        "votes_cast=∅, registered=90",
        "votes_cast=NaN, registered=80",
    ]
