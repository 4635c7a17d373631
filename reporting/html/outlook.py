"""Whether each candidate can still win, in words, from the projection's worst-case bounds.

worst_case_min is what a candidate already has (none of the uncounted ballots); worst_case_max
what they would have with every ballot the uncounted tallies could hold. One candidate's best
case is every other candidate's worst, so for a single seat the comparison is exact: a candidate
has won when no other's maximum reaches their minimum, and can no longer win when their maximum
is below the leader's minimum. With several seats the same comparisons are made against the
candidate holding the last seat; "wins" is then said only when it is certain."""

from reporting.html.blocks import fmt_int


def _seat_word(seats: int) -> str:
    return "win" if seats == 1 else "win a seat"


def outlook(rows: list[dict], seats: int = 1) -> dict[str, str]:
    """candidate_id → a sentence: wins, leads, could still win or cannot win, with the numbers.
    rows: the projection's rows of one contest (candidate_id, candidate_name, worst_case_min,
    worst_case_max)."""
    return {row["candidate_id"]: _one(row, rows, seats) for row in rows}


def _one(row: dict, rows: list[dict], seats: int) -> str:
    others = [r for r in rows if r["candidate_id"] != row["candidate_id"]]
    low, high = row["worst_case_min"], row["worst_case_max"]
    if low is None or high is None or any(r["worst_case_max"] is None for r in others):
        return "Unknown: the uncounted ballots have no bound."
    ahead = sorted(others, key=lambda r: r["worst_case_min"], reverse=True)
    # the candidate this one must pass: the one holding the last seat without it, so far
    holder = ahead[seats - 1] if len(ahead) >= seats else None
    word = _seat_word(seats)
    if holder is not None and high < holder["worst_case_min"]:
        return (
            f"Cannot {word}: at most {fmt_int(high)} votes even with every uncounted ballot, "
            f"fewer than the {fmt_int(holder['worst_case_min'])} {holder['candidate_name']} "
            "already has."
        )
    rivals = sorted(
        (r for r in others if r["worst_case_max"] >= low),
        key=lambda r: r["worst_case_max"],
        reverse=True,
    )
    if len(rivals) < seats:
        best = max((r["worst_case_max"] for r in others), default=0)
        return (
            f"Wins whatever the uncounted tallies hold: {fmt_int(low)} votes already, more than "
            f"any other candidate could reach ({fmt_int(best)} at most)."
        )
    if seats == 1 and holder is not None and low >= holder["worst_case_min"]:
        return (
            f"Leads, not yet decided: {fmt_int(low)} votes so far; {rivals[0]['candidate_name']} "
            f"could still reach {fmt_int(rivals[0]['worst_case_max'])}."
        )
    against = (
        f", against the {fmt_int(holder['worst_case_min'])} {holder['candidate_name']} has so far"
        if holder is not None
        else ""
    )
    return (
        f"Could still {word}: up to {fmt_int(high)} votes if every uncounted ballot went to "
        f"{row['candidate_name']}{against}."
    )
