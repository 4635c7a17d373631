"""The projection lines of `tallyhouse run`'s summary, read from the published marts."""

from warehouse.db import rows


def print_projection(con, source: str) -> None:
    found = rows(
        con,
        "select candidate_name, counted_votes, projected_votes, lower_95, upper_95, "
        "projected_share, share_lower_95, share_upper_95, worst_case_min, worst_case_max, "
        "tallies_counted, tallies_expected, method from projection where source_id = ? "
        "order by projected_votes desc nulls last, counted_votes desc, candidate_id",
        [source],
    )
    if not found:
        return
    counted, expected, method = found[0][10], found[0][11], found[0][12]
    if found[0][2] is None:
        print(f"  projection: none ({method})")
        return
    if expected is not None and counted >= expected:
        print("  projection: every expected tally is counted, the result above is final")
        return
    print(
        f"  projection of the final result ({counted:,} of {expected:,} tallies counted; "
        f"95 % intervals; {method}):"
    )
    print(
        f"     {'candidate':<28} {'votes':>12} {'95 % interval':>25} {'share':>8} "
        f"{'95 % interval':>17}  worst case (min - max)"
    )
    for name, _, votes, lo, hi, share, s_lo, s_hi, w_min, w_max, *_ in found:
        print(
            f"     {name:<28} {votes:>12,.0f} {lo:>12,.0f} - {hi:>10,.0f} {share * 100:7.2f} % "
            f"{s_lo * 100:6.2f} - {s_hi * 100:6.2f} %  {w_min:,} - {w_max:,}"
        )
