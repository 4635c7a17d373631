"""The forensic warnings in what `tallyhouse run` prints, read from the published marts."""

from transforms.text import escaped
from warehouse.db import rows

SHOWN = 3  # flagged rows printed per source and check


def print_forensics(con) -> None:
    """Per source and check: how many units (F2: tallies) were flagged, and a few, with why."""
    counts = rows(
        con,
        "select source_id, check_id, any_value(check_name), case when check_id = 'F2' "
        "then max(statistic) filter (where level = 'national') "
        "else count(*) filter (where flagged) end "
        "from forensics group by source_id, check_id order by 1, 2",
    )
    print("Forensic warnings (never proof: see docs/forensics.md)")
    if not any(count for *_, count in counts):
        print("  none flagged\n")
        return
    for source, check, name, count in counts:
        if not count:
            continue
        unit = "tallies" if check == "F2" else "unit(s)"
        print(f"  {source} {check} {name}: {int(count)} {unit} flagged")
        for level, unit_name, candidate, detail in rows(
            con,
            "select level, coalesce(unit_name, unit_code), candidate_id, detail from forensics "
            "where source_id = ? and check_id = ? and flagged and level <> 'national' "
            "order by level, unit_code, candidate_id nulls first limit ?",
            [source, check, SHOWN],
        ):
            who = f" {escaped(candidate)}" if candidate else ""
            print(f"    {level} {escaped(unit_name)}{who}: {escaped(detail, 300)}")
    print()
