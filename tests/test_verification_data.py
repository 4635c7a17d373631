"""A small announced-totals case shared by tests."""

import polars as pl

from transforms.model import Candidate, Election


class AnnouncedCase:
    election = Election(
        id="tiny",
        name="Tiny",
        levels=("table",),
        candidates=(Candidate("A", "Ana"), Candidate("B", "Beto")),
    )

    @classmethod
    def args(cls):
        announced = {
            "bulletin": [
                {"id": "b1", "votes": {"A": 50, "B": 40}},
                {"id": "b2", "valid_votes": 100, "votes": {"A": 60, "B": 30}},
            ]
        }
        results = pl.DataFrame(
            {"source_id": ["s", "s"], "candidate_id": ["A", "B"], "votes": [30, 40]}
        )
        coverage = pl.DataFrame({"source_id": ["s"], "expected": [10], "counted": [7]})
        ballots = pl.DataFrame({"source_id": ["s"], "total_votes": [70]})
        return announced, results, coverage, ballots, cls.election, None
