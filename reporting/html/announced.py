"""The report's "Announced against tallied" section: each bulletin by its name, and for each of
its candidates, in words, whether the counted tallies and the ones still uncounted can add up to
the announced figure (announced_vs_tallied's votes_needed, uncounted_capacity and possible)."""

import polars as pl

from reporting.html import charts
from reporting.html.blocks import Section, fmt_int, fmt_pct, fmt_text, table


def named_bulletins(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows with `bulletin_name`: the bulletin's configured name (announced.toml), else its
    id (a file published before the marts carried the name)."""
    name = pl.col("bulletin") if "bulletin" in frame.columns else pl.lit(None, pl.String)
    return frame.with_columns(pl.coalesce(name, pl.col("bulletin_id")).alias("bulletin_name"))


def verdict(row: dict) -> str:
    """Whether the announced figure can be the candidate's final total, with the numbers."""
    said, got = row.get("announced_votes"), row.get("tallied_votes")
    if said is None or got is None:
        return "Not comparable: a figure is missing."
    if got > said:
        return (
            f"Cannot be the final total: the counted tallies already give {fmt_int(got - said)} "
            "votes more than announced."
        )
    needed, capacity = row.get("votes_needed") or 0, row.get("uncounted_capacity")
    if needed == 0:
        return "Reached: the counted tallies give exactly the announced votes."
    uncounted = row.get("uncounted_tallies")
    tallies = f"the {fmt_int(uncounted)} uncounted tallies" if uncounted else "uncounted tallies"
    if capacity is None:
        return (
            f"Unknown: needs {fmt_int(needed)} more votes; how many ballots {tallies} could "
            "hold is not known."
        )
    if needed > capacity:
        return (
            f"Cannot be reached: needs {fmt_int(needed)} more votes, but {tallies} hold at most "
            f"{fmt_int(capacity)} ballots."
        )
    return (
        f"Could still be reached: needs {fmt_int(needed)} more votes; {tallies} hold at most "
        f"{fmt_int(capacity)} ballots (it needs {fmt_pct(needed / capacity, 0)} of them)."
    )


# announced_vs_tallied's capacity_basis, in words
BASES = {
    "registered voters of uncounted units": "the registered voters of the units still uncounted",
    "counted turnout": "the ballots of an average counted tally",
}


def _capacity_note(frame: pl.DataFrame) -> str:
    """How the most ballots the uncounted tallies could hold was estimated, in words."""
    if "capacity_basis" not in frame.columns:
        return ""
    bases = sorted({BASES.get(str(b), str(b)) for b in frame["capacity_basis"].drop_nulls()})
    if not bases:
        return ""
    return f" The most ballots the uncounted tallies could hold is taken from {' or '.join(bases)}."


def announced_section(frame: pl.DataFrame | None, contests: bool) -> Section | None:
    """`contests`: a general election's (the contest named in its own column)."""
    if frame is None:
        return None
    frame = named_bulletins(frame)
    frame = frame.with_columns(
        pl.Series("verdict", [verdict(r) for r in frame.iter_rows(named=True)], pl.String)
    )
    columns = [
        ("contest_id", "Contest", fmt_text),
        ("bulletin_name", "Bulletin", fmt_text),
        ("candidate_name", "Candidate", fmt_text),
        ("announced_votes", "Announced", fmt_int),
        ("tallied_votes", "Tallied", fmt_int),
        ("difference", "Announced − tallied", fmt_int),
        ("verdict", "Can the tallies reach the announced figure?", fmt_text),
    ]
    shown = [c for c in columns if c[0] in frame.columns and (c[0] != "contest_id" or contests)]
    return Section(
        "announced",
        "Announced against tallied",
        "Official bulletins set against the tallies counted: could the counted tallies, and those "
        "still uncounted, add up to what was announced for each candidate? A candidate gets at "
        "most one vote per ballot." + _capacity_note(frame),
        [charts.announced_chart(frame)],
        [table(frame, shown)],
    )
