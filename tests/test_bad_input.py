"""A bad feed file is rejected whole, the run fails naming it, published marts stay as they were."""

from orchestration.runner import failure_messages
from tests.conftest import published, run
from warehouse.db import connect
from warehouse.landing import sha256_file


def _rewrite(path, transform):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(transform(lines)) + "\n")


def _published_sha(settings):
    return sha256_file(settings.published)


def test_file_lacking_a_column_is_rejected_whole(settings, sample):
    assert run(settings).success
    before = _published_sha(settings)
    bad = settings.landing / "tallies_004.csv"
    good = settings.landing / "tallies_001.csv"
    bad.write_text(good.read_text().replace("null_votes", "nulls", 1))
    result = run(settings)
    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert "tallies_004.csv" in messages and "null_votes" in messages
    assert _published_sha(settings) == before
    with connect(settings.warehouse, read_only=True) as con:
        loaded = con.sql("select count(*) from raw.deliveries where file_name = 'tallies_004.csv'")
        rejected = con.sql("select file_name, error from raw.rejected_files").fetchall()
        assert loaded.fetchall()[0][0] == 0
    assert rejected[0][0] == "tallies_004.csv"


def test_unreadable_count_quarantines_its_tally_naming_file_row_and_field(settings, sample):
    path = settings.landing / "tallies_002.csv"

    def break_row_3(lines):
        cells = lines[3].split(",")
        cells[-1] = "Ilegible"
        lines[3] = ",".join(cells)
        return lines

    _rewrite(path, break_row_3)
    tally = path.read_text().splitlines()[3].split(",")[4]
    assert run(settings).success, "one bad cell holds back its tally, not the whole file"
    issues = published(settings, "select * from quality_issues")
    assert issues.height == 1
    issue = issues.row(0, named=True)
    assert (issue["rule_id"], issue["tally_code"]) == ("E8", tally)
    assert (issue["file_name"], issue["source_row"]) == ("tallies_002.csv", 3)
    assert issue["observed"] == "missing_or_unparsable=c10='Ilegible'"
    in_marts = published(settings, "select count(*) from results where unit_code = ?", [tally])
    assert in_marts.item() == 0


def test_ragged_file_is_rejected_with_the_row(settings, sample):
    path = settings.landing / "tallies_003.csv"
    _rewrite(path, lambda lines: lines[:5] + [lines[5] + ",7"] + lines[6:])
    result = run(settings)
    assert not result.success
    messages = "\n".join(failure_messages(result))
    assert (
        "tallies_003.csv: cannot be parsed: row 5 has 21 fields where the header has 20" in messages
    )


def test_fixing_the_file_lets_the_next_run_through(settings, sample):
    path = settings.landing / "tallies_001.csv"
    original = path.read_text()
    path.write_text(original.replace("registered", "registred", 1))
    assert not run(settings).success
    path.write_text(original)
    assert run(settings).success
    with connect(settings.warehouse, read_only=True) as con:
        delivered = con.sql("select file_name from raw.deliveries where kind = 'feed'").fetchall()
        history = con.sql("select file_name from raw.rejected_files").fetchall()
    assert ("tallies_001.csv",) in delivered
    assert history == [("tallies_001.csv",)], "the rejection stays on record"
