"""A bad feed file is rejected whole, named and alerted; the rest of the delivery goes on."""

import polars as pl
import pytest

from orchestration.runner import rejected_files
from tests.conftest import published, run
from warehouse.db import connect

pytestmark = pytest.mark.e2e  # every test here runs the job or the CLI


def _rewrite(path, transform):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(transform(lines)) + "\n")


def _warehouse(settings, sql):
    with connect(settings.warehouse, read_only=True) as con:
        return con.sql(sql).pl()


def test_file_whose_columns_drifted_is_rejected_whole_and_the_rest_proceeds(settings, sample):
    bad = settings.landing / "tallies_003.csv"
    bad.write_text(bad.read_text().replace("null_votes", "nulls", 1))
    result = run(settings)
    assert result.success
    errors = rejected_files(result)
    assert errors == [
        "tallies_003.csv: columns no longer match the contract: missing column(s) null_votes; "
        "unexpected column(s) nulls"
    ]
    loaded = _warehouse(settings, "select file_name from raw.deliveries where kind = 'feed'")
    assert sorted(loaded["file_name"]) == ["tallies_001.csv", "tallies_002.csv"]
    rest = pl.concat(sample.drops[:2])
    national = published(
        settings, "select candidate_id, votes from results where level = 'national'"
    )
    assert dict(national.iter_rows()) == {c: rest[c].sum() for c in sample.election.candidate_ids}
    alerts = _warehouse(settings, "select rule, sample_keys from quality.alerts")
    assert alerts.rows() == [("rejected_file", '["tallies_003.csv"]')]
    assert run(settings).success
    again = _warehouse(settings, "select count(*) n from quality.alerts")
    assert again["n"].item() == 1, "one alert per rejected file, not one per run"


def test_an_extra_candidate_column_is_drift_too(settings, sample):
    path = settings.landing / "tallies_002.csv"
    _rewrite(path, lambda lines: [lines[0] + ",c11"] + [line + ",0" for line in lines[1:]])
    errors = rejected_files(run(settings))
    assert errors == [
        "tallies_002.csv: columns no longer match the contract: unexpected column(s) c11"
    ]


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
    errors = rejected_files(run(settings))
    assert errors == [
        "tallies_003.csv: cannot be parsed: row 5 has 21 fields where the header has 20"
    ]


def test_fixing_the_file_lets_the_next_run_through(settings, sample):
    path = settings.landing / "tallies_001.csv"
    original = path.read_text()
    path.write_text(original.replace("registered", "registred", 1))
    assert rejected_files(run(settings))
    path.write_text(original)
    result = run(settings)
    assert result.success and not rejected_files(result)
    delivered = _warehouse(settings, "select file_name from raw.deliveries where kind = 'feed'")
    history = _warehouse(settings, "select file_name from raw.rejected_files")
    assert "tallies_001.csv" in delivered["file_name"].to_list()
    assert history["file_name"].to_list() == ["tallies_001.csv"], "the rejection stays on record"


def test_any_failure_loading_one_file_rejects_it_and_the_rest_publishes(
    settings, sample, monkeypatch
):
    """An unexpected failure while reading or mapping one file (here an engine error with a
    long, multi-line message) rejects that file whole in one capped line; the rest publishes."""
    import landing.files as files  # where loading maps a file by its contract

    real = files.apply_contract

    def engine_error_on_the_second_drop(frame, contract, election):
        if frame.height and frame["table_code"][0] == sample.drops[1]["table_code"][0]:
            raise RuntimeError("polars engine panicked\n\x1b[31mbacktrace:\n" + "frame " * 400)
        return real(frame, contract, election)

    monkeypatch.setattr(files, "apply_contract", engine_error_on_the_second_drop)
    result = run(settings)
    assert result.success
    (error,) = rejected_files(result)
    assert error.startswith(
        "tallies_002.csv: could not be loaded (RuntimeError: polars engine panicked)"
    )
    assert len(error) <= 500 and "\n" not in error and "\x1b" not in error
    stored = _warehouse(settings, "select file_name, error from raw.rejected_files")
    assert stored.rows() == [("tallies_002.csv", error)]
    alerts = _warehouse(settings, "select rule, sample_keys, title from quality.alerts")
    assert alerts["sample_keys"].to_list() == ['["tallies_002.csv"]']
    assert len(alerts["title"][0]) <= 600 and error in alerts["title"][0]
    loaded = _warehouse(settings, "select file_name from raw.deliveries where kind = 'feed'")
    assert sorted(loaded["file_name"]) == ["tallies_001.csv", "tallies_003.csv"]
    rest = pl.concat([sample.drops[0], sample.drops[2]])
    national = published(
        settings, "select candidate_id, votes from results where level = 'national'"
    )
    assert dict(national.iter_rows()) == {c: rest[c].sum() for c in sample.election.candidate_ids}


def test_landing_files_no_contract_matches_are_named_by_the_run(settings, sample):
    from orchestration.runner import unmatched_files

    (settings.landing / "notes\x1b[2J.txt").write_text("not a feed")
    result = run(settings)
    assert result.success
    count, names = unmatched_files(result)
    # truth.json is named by the sample's `ignore`: the generator's answer key, not a feed
    assert count == 1 and names == ["notes\\x1b[2J.txt"]


def test_blank_lines_are_skipped_and_counted_never_tallies(settings, sample):
    """A blank line, a whitespace-only one and trailing blank lines: no code-less tally to
    quarantine (it used to hold publication), every line accounted for."""
    path = settings.landing / "tallies_002.csv"
    _rewrite(path, lambda lines: [*lines[:3], "", " , ,", *lines[3:], "", ""])
    result = run(settings)
    assert result.success and rejected_files(result) == []
    row = _warehouse(
        settings,
        "select rows_read, rows_used, rows_excluded, rows_blank, row_count from raw.deliveries "
        "where file_name = 'tallies_002.csv'",
    ).row(0, named=True)
    tallies = sample.drops[1].height
    assert row == {
        "rows_read": tallies + 4,
        "rows_used": tallies,
        "rows_excluded": 0,
        "rows_blank": 4,
        "row_count": tallies,
    }
    assert _warehouse(settings, "select count(*) n from quality.quarantine")["n"].item() == 0
    every = pl.concat(sample.drops)
    national = published(
        settings, "select candidate_id, votes from results where level = 'national'"
    )
    assert dict(national.iter_rows()) == {c: every[c].sum() for c in sample.election.candidate_ids}


def test_a_file_cut_short_is_rejected_until_it_arrives_whole(settings, sample):
    path = settings.landing / "tallies_003.csv"
    whole = path.read_bytes()
    cut = whole[: whole.rindex(b",", 0, len(whole) - 1)]  # a copy stopped mid-row
    path.write_bytes(cut)
    result = run(settings)
    assert result.success
    [error] = rejected_files(result)
    assert error.startswith("tallies_003.csv: the last row has ") and "cut short" in error
    path.write_bytes(whole)
    assert run(settings).success
    every = pl.concat(sample.drops)
    national = published(
        settings, "select candidate_id, votes from results where level = 'national'"
    )
    assert dict(national.iter_rows()) == {c: every[c].sum() for c in sample.election.candidate_ids}
    assert _warehouse(settings, "select count(*) n from quality.quarantine")["n"].item() == 0


def test_a_symlink_in_the_landing_folder_is_refused_unread(settings, sample, tmp_path):
    """Landing is a boundary: a link named like a feed, pointing outside, is never opened; its
    target's bytes reach no table, log or alert."""
    outside = tmp_path / "secret.csv"
    feed = (settings.landing / "tallies_003.csv").read_text()
    outside.write_text(feed.replace("valid_votes", "TOKEN-s3cr3t", 1))
    (settings.landing / "tallies_003.csv").unlink()
    (settings.landing / "tallies_003.csv").symlink_to(outside)
    result = run(settings)
    assert result.success and rejected_files(result) == []
    loaded = _warehouse(settings, "select file_name from raw.deliveries where kind = 'feed'")
    assert sorted(loaded["file_name"]) == ["tallies_001.csv", "tallies_002.csv"]
    alerts = _warehouse(settings, "select rule, title, sample_keys from quality.alerts")
    assert alerts.rows() == [
        (
            "refused_file",
            "landing entry refused unread: not a regular file of the landing folder",
            '["tallies_003.csv"]',
        )
    ]
    stored = _warehouse(settings, "select * from raw.rejected_files")
    assert stored.is_empty(), "refused, not read: nothing of it is stored"
    assert run(settings).success
    assert _warehouse(settings, "select count(*) n from quality.alerts")["n"].item() == 1


def test_compressed_random_and_vanishing_files_are_each_one_file_named(
    settings, sample, monkeypatch
):
    """A gzip named .csv (its contract reads plain text), random bytes, and a file that
    vanishes when its turn comes: each is named, the rest of the delivery publishes."""
    import gzip

    import warehouse.raw_load as raw_load

    first = settings.landing / "tallies_001.csv"
    first.write_bytes(gzip.compress(first.read_bytes()))
    (settings.landing / "tallies_004.csv").write_bytes(bytes(range(256)) * 40)
    real = raw_load.stat_and_hash

    def vanish_the_third(path):
        if path.name == "tallies_003.csv":
            raise FileNotFoundError(2, "No such file or directory")
        return real(path)

    monkeypatch.setattr(raw_load, "stat_and_hash", vanish_the_third)
    result = run(settings)
    assert result.success
    errors = rejected_files(result)
    assert errors[0] == (
        "tallies_001.csv: is gzip-compressed; its contract reads plain text "
        '(file.compression = "gzip" reads gzip files)'
    )
    assert errors[1].startswith("tallies_004.csv: ") and len(errors) == 2
    loaded = _warehouse(settings, "select file_name from raw.deliveries where kind = 'feed'")
    assert loaded["file_name"].to_list() == ["tallies_002.csv"]
    monkeypatch.setattr(raw_load, "stat_and_hash", real)
    assert run(settings).success, "the file that was unreadable loads on the next run"
    loaded = _warehouse(settings, "select file_name from raw.deliveries where kind = 'feed'")
    assert sorted(loaded["file_name"]) == ["tallies_002.csv", "tallies_003.csv"]


def read_feed_plain(tmp_path, contract):
    from landing.files import read_feed
    from tests.test_contracts import FEED

    plain = tmp_path / "obs_plain.txt"
    plain.write_bytes(FEED.encode("latin-1"))
    return read_feed(plain, contract)


def test_a_gzip_feed_loads_where_its_contract_says_so(tmp_path):
    import gzip

    from landing.files import FileRejected, read_feed
    from tests.test_contracts import CONTRACT_TOML, FEED, contract

    path = tmp_path / "obs_1.txt"
    path.write_bytes(gzip.compress(FEED.encode("latin-1")))
    plain = contract()
    zipped = contract(CONTRACT_TOML.replace("[file]", '[file]\ncompression = "gzip"', 1))
    with pytest.raises(FileRejected, match="is gzip-compressed; its contract reads plain text"):
        read_feed(path, plain)
    assert read_feed(path, zipped).equals(read_feed_plain(tmp_path, plain))
    path.write_bytes(FEED.encode("latin-1"))
    with pytest.raises(FileRejected, match="is not gzip-compressed, as its contract says"):
        read_feed(path, zipped)
