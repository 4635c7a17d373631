"""fuzz_feeds.py's mode for a LONG general-election feed: the real DC 2016 general election.

    .venv/bin/python benchmarks/fuzz_feeds.py --election us_dc2016 --mutations 300 --batch 50

A long feed is one row per unit × contest × line (a candidate, or a count such as over votes),
and its path is not the wide feeds': its rows are loaded as they are, then gathered into one
tally per file, unit and contest (warehouse/long_gather.py, transforms/long_rows.py) whose
ballot is planned from every row (transforms/contests.py). So besides fuzz_feeds' byte-level
mutations (on the DC files' own bare-CR line ends), it breaks the layout itself: an office or a
candidate cell emptied, a votes cell that is no count or is negative, a row given twice, the
rows of one precinct × office split across two files, a district code missing, an office never
seen before, line ends mixed.

Each mutation slices one of the three feeds in `../shared/data/us_dc2016/` (read only; header
and 20-120 consecutive rows) and lands under its contract's pattern widened to `<stem>.m*.csv`.
After each `tallyhouse run` of a batch (a child process, fresh data directory, the gate's
threshold 1):
  * it exits 0, or 1 naming rejected files; no traceback, no failed step;
  * every file is delivered or rejected with a one-line reason (at most 500 characters) that
    names it, the rejected ones named on stderr too;
  * per delivered file: rows read = used + excluded + blank, and (read, blank) is what Python's
    csv module reads from the same bytes; the raw table holds exactly `used` rows of the file,
    at distinct source rows, whose votes cells are those Python reads at those rows (outer
    spaces aside: the contract's mapping trims them);
  * every used row is in exactly one tally version: the file's rows, grouped as a tally is (the
    file, the unit's codes, the contest), are as many as its versions' copies; each version is
    current (then staged once, and accepted or quarantined) or superseded by a later delivery of
    its unit;
  * votes are conserved: per current tally, its staged votes (the candidate lines' in
    staged.tally_votes, plus the null, blank and other votes) equal the votes cells of its rows
    that are counts (Python's reading: digits, outer spaces aside), a line its rows give twice
    with one value counted once (a long feed's count repeated); a tally whose cells are not all
    counts must be quarantined;
  * the rows of a unit × office split across two files are not accepted as a whole tally from
    the later file's part while the earlier's is superseded (its lines would be lost unseen);
  * no tally is quarantined for lacking a line of no name (a row's empty candidate cell made a
    line of its contest's ballot, so every other unit lacked it);
  * no stored evidence or alert text is longer than fuzz_feeds.TEXT_LIMIT;
  * a following run, with one clean file more, publishes (exit 0 or 1 naming only files rejected
    before, `published` in its log) and quarantines none of the clean file's tallies but those
    whose ballot a mutant's line widened (counted apart: see `widened`).
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import re
import shutil
from collections import defaultdict
from pathlib import Path

import fuzz_feeds
from fuzz_feeds import (
    ROOT,
    TEXT_LIMIT,
    Mutant,
    Session,
    expected_records,
    land,
    landed,
    quarantine_figures,
    records,
    rejection_problems,
    run_tallyhouse,
)

FEEDS = ROOT.parent / "shared" / "data" / "us_dc2016"
ELECTION = "us_dc2016"
ENCODING = "utf-8"  # the contracts' (the default)
# the feed files and their sources (contracts)
SOURCES = {
    "20161108__dc__general__precinct.csv": "precinct",
    "20161108__dc__general__ward.csv": "ward",
    "20161108__dc__general__district.csv": "city",
}
WEIGHTS = (6, 3, 1)  # precinct, ward, city-wide: as their sizes go
CODES = ("ward", "precinct")
KINDS = (
    *fuzz_feeds.KINDS[:5],  # truncate (anywhere, at a line), byte flips, blank lines (trailing)
    "line_break_in_row",
    "mixed_line_ends",
    "stray_quote",
    "huge_field",
    "utf16",
    "gzip",
    "nul_byte",
    "formula_code",
    "header_again",
    "office_empty",
    "candidate_empty",
    "votes_not_a_count",
    "votes_negative",
    "row_twice",
    "split_across_files",
    "district_code_missing",
    "new_office",
)
NOT_COUNTS = (
    "",
    " ",
    "n/a",
    "12a",
    "1,234",
    "1e3",
    "3.5",
    "0x10",
    "+7",
    "١٢",
    "99999999999999999999",
)


class Sources:
    """The real feeds' lines (bytes, without their line ends), read once."""

    def __init__(self, folder: Path):
        self.lines = {}
        for name in SOURCES:
            self.lines[name] = (folder / name).read_bytes().splitlines()

    def slice(self, rng: random.Random, name: str) -> tuple[bytes, list[bytes]]:
        lines = self.lines[name]
        count = min(rng.randint(20, 120), len(lines) - 2)
        start = rng.randint(1, len(lines) - count)
        return lines[0], lines[start : start + count]

    def groups(self, name: str) -> list[tuple[int, int]]:
        """(start, end) line ranges of each unit × office in the file, header excluded."""
        header = _cells(self.lines[name][0])
        keyed = [c for c in header if c not in ("party", "candidate", "votes")]
        found, key, start = [], None, 1
        for at, line in enumerate(self.lines[name][1:], 1):
            row = dict(zip(header, _cells(line), strict=False))
            this = tuple(row.get(c) for c in keyed)
            if this != key:
                if key is not None:
                    found.append((start, at))
                key, start = this, at
        found.append((start, len(self.lines[name])))
        return found


def _cells(line: bytes) -> list[str]:
    """One line's cells, as Python's csv module reads them."""
    text = line.decode(ENCODING, errors="replace")
    return next(csv.reader(io.StringIO(text, newline="")), [])


def _line(cells: list[str]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue().encode(ENCODING)


def _joined(header: bytes, body: list[bytes]) -> bytes:
    """A file of these lines with the DC files' own line ends (bare CR)."""
    return b"\r".join([header, *body])


def _set_cell(header: bytes, line: bytes, column: str, value: str) -> bytes:
    names = _cells(header)
    if column not in names:
        return line
    cells = _cells(line)
    cells += [""] * (len(names) - len(cells))
    cells[names.index(column)] = value
    return _line(cells)


def _inside_a_row(rng: random.Random, header: bytes, body: list[bytes]) -> int:
    """A byte offset inside a data row of `_joined(header, body)` (not at its line end)."""
    row = rng.randrange(len(body))
    start = len(header) + 1 + sum(len(b) + 1 for b in body[:row])
    return rng.randint(start, start + max(len(body[row]) - 1, 0))


def mutate(rng: random.Random, kind: str, header: bytes, body: list[bytes]) -> list[bytes]:
    """The slice broken one way: one file's bytes (two for split_across_files)."""
    data = _joined(header, body)
    if kind == "truncate":
        return [data[: rng.randint(1, len(data) - 1)]]
    if kind == "truncate_at_line":
        return [_joined(header, body[: rng.randrange(len(body))]) + b"\r"]
    if kind == "byte_flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return [bytes(out)]
    if kind in ("blank_lines", "trailing_blank"):
        body = list(body)
        for _ in range(rng.randint(1, 3)):
            at = len(body) if kind == "trailing_blank" else rng.randint(0, len(body))
            body.insert(at, rng.choice([b"", b"   ", b"\t", b" , ,", b",,,,,"]))
        return [_joined(header, body) + rng.choice([b"", b"\r"])]
    if kind == "mixed_line_ends":  # some rows end CRLF or LF: then CR alone is no line end
        out = header
        for line in body:
            out += rng.choice([b"\r", b"\r", b"\r\n", b"\n"]) + line
        return [out]
    if kind in ("line_break_in_row", "stray_quote", "nul_byte", "huge_field"):
        at = _inside_a_row(rng, header, body)
        insert = {
            "line_break_in_row": b"\r",
            "stray_quote": b'"',
            "nul_byte": b"\x00",
            "huge_field": b"9" * rng.randint(1 << 20, 4 << 20),
        }[kind]
        return [data[:at] + insert + data[at:]]
    if kind == "utf16":
        return [data.decode(ENCODING).encode("utf-16")]
    if kind == "gzip":
        return [gzip.compress(data)]
    if kind == "header_again":
        body = list(body)
        body.insert(rng.randint(0, len(body)), header)
        return [_joined(header, body)]
    return _layout_mutation(rng, kind, header, list(body))


def _layout_mutation(rng, kind: str, header: bytes, body: list[bytes]) -> list[bytes]:
    """The mutations of the long layout itself (cells of one row, or of one unit × office)."""
    names = _cells(header)
    at = rng.randrange(len(body))
    if kind == "formula_code":
        code = rng.choice([c for c in CODES if c in names] or ["office"])
        body[at] = _set_cell(
            header, body[at], code, rng.choice(['=HYPERLINK("http://x")', "@SUM(A1)"])
        )
    elif kind == "office_empty":
        body[at] = _set_cell(header, body[at], "office", rng.choice(["", "  "]))
    elif kind == "candidate_empty":
        body[at] = _set_cell(header, body[at], "candidate", rng.choice(["", "  "]))
    elif kind == "votes_not_a_count":
        body[at] = _set_cell(header, body[at], "votes", rng.choice(NOT_COUNTS))
    elif kind == "votes_negative":
        body[at] = _set_cell(header, body[at], "votes", f"-{rng.randint(1, 500)}")
    elif kind == "row_twice":
        to = rng.choice([at + 1, rng.randint(0, len(body))])
        body.insert(to, body[at])
    elif kind == "district_code_missing":
        body = _without_district_code(rng, header, body)
    elif kind == "new_office":
        office = rng.choice(
            [
                "MAYOR OF NOWHERE",
                "WARD NINE MEMBER OF THE COUNCIL",
                "ANC - 9Z99 SINGLE MEMBER DISTRICT",
            ]
        )
        for i in _group_of(header, body, at):
            body[i] = _set_cell(header, body[i], "office", office)
    elif kind == "split_across_files":
        group = _group_of(header, body, at)
        if len(group) < 2:
            return [_joined(header, body)]
        cut = rng.randint(1, len(group) - 1)
        moved = set(rng.choice([group[cut:], group[:cut]]))  # its last rows, or its first
        later = [line for i, line in enumerate(body) if i in moved]
        kept = [line for i, line in enumerate(body) if i not in moved]
        return [_joined(header, kept), _joined(header, later)]
    else:
        raise ValueError(kind)
    return [_joined(header, body)]


def _group_of(header: bytes, body: list[bytes], at: int) -> list[int]:
    """The body rows of row `at`'s unit × office (all of them in the slice, together or not)."""
    names = _cells(header)
    keyed = [names.index(c) for c in names if c not in ("party", "candidate", "votes")]

    def key(line: bytes) -> tuple:
        cells = _cells(line)
        return tuple(cells[i] if i < len(cells) else None for i in keyed)

    mine = key(body[at])
    return [i for i, line in enumerate(body) if key(line) == mine]


def _without_district_code(rng, header: bytes, body: list[bytes]) -> list[bytes]:
    """A contest elected in a district loses its district's code: a ward member's row its ward
    cell, or an ANC single-member district's office its code; else any row its ward cell."""
    names = _cells(header)
    office = names.index("office") if "office" in names else None
    for i in rng.sample(range(len(body)), len(body)):
        cells = _cells(body[i])
        label = cells[office] if office is not None and office < len(cells) else ""
        if label.startswith("ANC - "):
            body[i] = _set_cell(header, body[i], "office", re.sub(r"^ANC - \w+ ", "ANC - ", label))
            return body
        if label.startswith("WARD ") and "ward" in names:
            body[i] = _set_cell(header, body[i], "ward", "")
            return body
    if "ward" in names:
        at = rng.randrange(len(body))
        body[at] = _set_cell(header, body[at], "ward", "")
    return body


def make_mutants(rng: random.Random, sources: Sources, count: int, first: int) -> list[Mutant]:
    out = []
    for number in range(first, first + count):
        name = rng.choices(sorted(SOURCES, key=list(SOURCES).index), WEIGHTS)[0]
        kind = KINDS[number % len(KINDS)]
        header, body = sources.slice(rng, name)
        stem = name.removesuffix(".csv")
        for part, data in enumerate(mutate(rng, kind, header, body)):
            suffix = "" if part == 0 else "b"
            out.append(Mutant(f"{stem}.m{number:04d}{suffix}.csv", kind, name, data))
    return out


def clean_file(rng: random.Random, sources: Sources, number: int) -> Mutant:
    """Whole units × offices of the precinct file, unbroken: what the run after a batch gets."""
    name = "20161108__dc__general__precinct.csv"
    groups = sources.groups(name)
    first = rng.randrange(len(groups) - 20)
    start, end = groups[first][0], groups[first + rng.randint(5, 20)][1]
    lines = sources.lines[name]
    return Mutant(
        f"20161108__dc__general__precinct.m{number:04d}.csv",
        "clean",
        name,
        _joined(lines[0], lines[start:end]),
    )


def widened_elections(into: Path) -> Path:
    return fuzz_feeds.widened_elections(into, ELECTION)


def run_batch(mutants: list[Mutant], session: Session, batch: int) -> None:
    """The batch's run and its checks, then the following run's with a clean file more."""
    data = landed(mutants, session, batch)
    done = run_tallyhouse(data, session, ELECTION)
    figures = session.figures
    violations = len(figures.violations)
    rejected = check_batch(mutants, data, done, figures, batch)
    if rejected is not None:
        clean = clean_file(session.rng, session.sources, CLEAN_NUMBERS + batch)
        check_following_run(clean, rejected, data, session, batch)
    if len(figures.violations) == violations and not session.keep:
        shutil.rmtree(data)


CLEAN_NUMBERS = 9_000  # the clean files' numbers (m9000, …): after any mutant's


def _violation(figures, batch: int, text: str) -> None:
    figures.violations.append(f"batch {batch}: {text}")
    print(f"VIOLATION batch {batch}: {text}", flush=True)


def _failed(done) -> bool:
    output = done.stdout + done.stderr
    return "Traceback" in output or " FAILED" in output or done.returncode not in (0, 1)


def check_batch(mutants, data: Path, done, figures, batch: int) -> set[str] | None:
    """The batch's invariants; the files rejected (None when the run itself failed)."""
    if _failed(done):
        tail = " | ".join(done.stderr.strip().splitlines()[-6:])
        _violation(figures, batch, f"run exited {done.returncode}: {tail[:1500]}")
        return None
    found = Warehouse(data / "warehouse.duckdb")
    if done.returncode == 1 and not found.rejected:
        _violation(figures, batch, "exit 1 with no file rejected")
    for m in mutants:
        for text in check_file(m, found, done, figures):
            _violation(figures, batch, f"{m.name} ({m.kind}): {text}")
    for first, later in _split_pairs(mutants):
        if first.name in found.delivered and later.name in found.delivered:
            dropped = found.accepted_over_part(
                found.delivered[first.name][0], found.delivered[later.name][0]
            )
            if dropped:
                _violation(
                    figures,
                    batch,
                    f"{later.name} (split_across_files): {dropped} tally accepted whole from "
                    f"part of its rows, the rest ({first.name}) superseded",
                )
    unnamed = found.unnamed_lines()
    if unnamed:
        _violation(figures, batch, f"{unnamed} tallies quarantined for lacking a line of no name")
    quarantined, longest = quarantine_figures(data)
    figures.rows["quarantined tallies"] += quarantined
    figures.longest_text = max(figures.longest_text, longest)
    if longest > TEXT_LIMIT:
        _violation(figures, batch, f"a text of {longest:,} characters stored in quality or alerts")
    return set(found.rejected)


def _split_pairs(mutants: list[Mutant]) -> list[tuple[Mutant, Mutant]]:
    """(the file, the file with the rest of one of its unit × office) of each split mutant."""
    named = {m.name: m for m in mutants}
    return [
        (named[m.name.replace("b.csv", ".csv")], m)
        for m in mutants
        if m.kind == "split_across_files" and m.name.endswith("b.csv")
    ]


def check_file(m: Mutant, found: Warehouse, done, figures) -> list[str]:
    """What is wrong with one mutated file's fate (nothing: an empty list)."""
    tally = figures.by_kind[m.kind]
    tally["files"] += 1
    expected = expected_records(m.data, ENCODING)
    if m.name in found.rejected:
        tally["rejected"] += 1
        reason = found.rejected[m.name]
        problems = rejection_problems(m.name, reason, done.stderr)
        if "could not be loaded (" in reason:  # a failure no rule of the reader foresaw
            figures.rows["files rejected for an unforeseen failure"] += 1
        figures.rows["in rejected files"] += expected[0] if expected else 0
        return problems
    if m.name not in found.delivered:
        return ["neither delivered nor rejected"]
    tally["loaded"] += 1
    sha, read, used, excluded, blank = found.delivered[m.name]
    for key, value in (("read", read), ("used", used), ("excluded", excluded), ("blank", blank)):
        figures.rows[key] += value
    problems = []
    if read != used + excluded + blank:
        problems.append(f"read {read} != {used} used + {excluded} excluded + {blank} blank")
    if expected is None:
        return [*problems, f"loaded ({read} rows), but Python's csv cannot read it"]
    if (read, blank) != expected:
        problems.append(
            f"{read} rows read ({blank} blank), Python's csv reads {expected[0]} "
            f"({expected[1]} blank)"
        )
    problems += found.check_rows(sha, used, records(m.data, ENCODING), figures)
    return problems


def check_following_run(clean: Mutant, rejected: set[str], data: Path, session, batch: int):
    """A clean file more, and the run after the batch's must publish and accept it."""
    land(data / "landing", [clean])
    done = run_tallyhouse(data, session, ELECTION)
    figures = session.figures
    if _failed(done):
        tail = " | ".join(done.stderr.strip().splitlines()[-6:])
        _violation(figures, batch, f"the following run exited {done.returncode}: {tail[:1500]}")
        return
    if "published" not in done.stdout:
        said = [line for line in done.stdout.splitlines() if "publish" in line.lower()]
        tail = " | ".join([*said, *done.stdout.strip().splitlines()[-3:]])
        _violation(figures, batch, f"the following run did not publish: {tail[:1500]}")
    found = Warehouse(data / "warehouse.duckdb")
    if set(found.rejected) != rejected:
        _violation(figures, batch, f"the following run rejected {set(found.rejected) - rejected}")
    if clean.name not in found.delivered:
        _violation(figures, batch, "the following run did not deliver the clean file")
        return
    sha = found.delivered[clean.name][0]
    problems = found.check_rows(
        sha, found.delivered[clean.name][2], records(clean.data, ENCODING), figures
    )
    for text in problems:
        _violation(figures, batch, f"clean {clean.name}: {text}")
    held, widened = found.clean_quarantined(sha)
    figures.tallies["clean tallies quarantined: ballot widened by a mutant"] += widened
    if held:
        _violation(
            figures, batch, f"clean {clean.name}: {held} tallies quarantined, e.g. {found.example}"
        )


# each version of a file: whether it is staged (current) and quarantined, and its staged votes
VERSIONS = (
    "select v.tally_id, v.source_row, v.copies, v.status, t.tally_id is not null, "
    "q.tally_id is not null, t.null_votes, t.blank_votes, t.other_votes, "
    "(select sum(votes) from staged.tally_votes w where w.tally_id = v.tally_id) "
    "from staged.tally_versions v left join staged.tallies t using (tally_id) "
    "left join (select distinct tally_id from quality.quarantine) q using (tally_id) "
    "where v.file_sha256 = ?"
)


def _check_votes(tally: str, group: list[tuple], quarantined: bool, counts, figures) -> list[str]:
    """A current tally's staged votes (null, blank, other, its lines') against its rows'."""
    given, all_counts = _votes(group)
    null, blank, _other, _lines = counts
    held = sum(v or 0 for v in counts)
    if quarantined:
        figures.tallies["quarantined, votes not all staged"] += given != held
        return []
    if null is None or blank is None:
        figures.tallies["accepted without over or under votes"] += 1
    problems = [] if all_counts else [f"{tally}: a cell that is no count, accepted"]
    if given != held:
        problems.append(f"{tally} accepted with {held} votes, its rows give {given}")
    return problems


class Warehouse:
    """What a run left in the warehouse, read once."""

    def __init__(self, path: Path):
        from warehouse.db import connect

        self.path = path
        self.example = ""
        with connect(path, read_only=True) as con:
            self.delivered = {
                r[0]: r[1:]
                for r in con.sql(
                    "select file_name, file_sha256, rows_read, rows_used, rows_excluded, "
                    "rows_blank from raw.deliveries where kind = 'feed'"
                ).fetchall()
            }
            self.rejected = dict(
                con.sql("select file_name, error from raw.rejected_files").fetchall()
            )
            self.sources = [
                r[0]
                for r in con.sql(
                    "select distinct source_id from raw.deliveries where kind = 'feed'"
                ).fetchall()
            ]

    def _sql(self, query: str, params=None):
        from warehouse.db import connect

        with connect(self.path, read_only=True) as con:
            return con.execute(query, params or []).fetchall()

    def raw_rows(self, sha: str) -> list[tuple]:
        """The raw rows of one file: source_row, ward, precinct, contest, candidate, count
        field, votes."""
        from warehouse.db import qualified
        from warehouse.raw_load import raw_table

        out = []
        for source in self.sources:
            out += self._sql(
                "select source_row, ward_code, precinct_code, contest_id, candidate, "  # noqa: S608
                f"count_field, votes from {qualified('raw', raw_table(source))} "
                "where file_sha256 = ? order by source_row",
                [sha],
            )
        return out

    def check_rows(self, sha: str, used: int, python: list[list[str]], figures) -> list[str]:
        """The file's raw rows against Python's records, its versions, and its votes."""
        rows = self.raw_rows(sha)
        problems = []
        if len(rows) != used:
            return [f"{used} rows used, {len(rows)} in the raw table"]
        numbers = [r[0] for r in rows]
        if len(set(numbers)) != len(numbers):
            problems.append("two raw rows share a source_row")
        header, body = python[0], python[1:]
        at = {name: i for i, name in enumerate(header)}
        for r in rows:
            cells = body[r[0] - 1] if 0 < r[0] <= len(body) else None
            given = None if cells is None or at["votes"] >= len(cells) else cells[at["votes"]]
            if cells is None or (given or "").strip() != (r[6] or "").strip():
                problems.append(f"raw row {r[0]} votes {r[6]!r}, Python reads {given!r} there")
                break
        problems += self._check_versions(sha, rows, figures)
        return problems

    def _check_versions(self, sha: str, rows: list[tuple], figures) -> list[str]:
        """Each version of the file starts one tally's rows (the file's rows grouped as gather
        groups them: the unit's codes as loaded and the contest), their copies add up to those
        tallies, and a current one is staged, its votes those of its rows."""
        groups: dict[tuple, list[tuple]] = defaultdict(list)
        for r in rows:
            groups[(r[1], r[2], r[3])].append(r)
        versions = self._sql(VERSIONS, [sha])
        problems = []
        copies = sum(v[2] for v in versions)
        if copies != len(groups):
            problems.append(f"{len(rows)} rows in {len(groups)} tallies, versions' copies {copies}")
        first_rows = {min(r[0] for r in g): g for g in groups.values()}
        for tally_id, source_row, _, status, staged, quarantined, *counts in versions:
            current = status == "current"
            fate = "quarantined" if quarantined else "accepted" if current else "superseded"
            figures.tallies[fate] += 1
            group = first_rows.get(source_row)
            if current and not staged:
                problems.append(f"current version {tally_id} is not staged")
            elif group is None:
                problems.append(f"version {tally_id} at row {source_row} starts no tally's rows")
            elif current:
                problems += _check_votes(f"tally {tally_id} (row {source_row})", group, quarantined,
                                         counts, figures)  # fmt: skip
        return problems

    def accepted_over_part(self, first: str, later: str) -> int:
        """Tallies of the `later` file accepted whose unit and contest the `first` file gave
        too (then superseded): the rows of one unit × office split across the two files."""
        [(count,)] = self._sql(
            "select count(*) from staged.tally_versions v "
            "where v.file_sha256 = ? and v.status = 'current' "
            "and v.tally_id not in (select tally_id from quality.quarantine) "
            "and exists (select 1 from staged.tally_versions e where e.file_sha256 = ? "
            "and e.source_id = v.source_id and e.contest_id is not distinct from v.contest_id "
            "and e.tally_code is not distinct from v.tally_code)",
            [later, first],
        )
        return count

    def unnamed_lines(self) -> int:
        """Tallies quarantined for lacking a ballot line whose name is empty (`=''` alone): a
        row without a candidate made its label a line of every unit's ballot."""
        [(count,)] = self._sql(
            "select count(distinct tally_id) from quality.quarantine "
            "where regexp_matches(observed, ?)",
            [r"(missing_or_unparsable=|; )=''"],
        )
        return count

    def clean_quarantined(self, sha: str) -> tuple[int, int]:
        """The clean file's quarantined tallies: (those for another reason, those whose only
        evidence is ballot lines missing, a line some mutant's unit gave)."""
        found = self._sql(
            "select q.rule_ids, q.observed from quality.quarantine q where q.file_sha256 = ?", [sha]
        )
        widened = [f for f in found if _only_missing_lines(f[1])]
        others = [f for f in found if not _only_missing_lines(f[1])]
        if others:
            self.example = f"{others[0][0]}: {others[0][1][:200]}"
        return len(others), len(widened)


def _only_missing_lines(observed: str | None) -> bool:
    """Evidence that says only that lines of the ballot are missing (`name=''`)."""
    text = observed or ""
    pieces = re.findall(r"[^;]+", text.split("missing_or_unparsable=", 1)[-1])
    return bool(pieces) and all(p.strip().endswith("=''") for p in pieces if "=" in p)


def _votes(group: list[tuple]) -> tuple[int, bool]:
    """A tally's votes as Python reads its raw rows (each line's distinct values: one that is a
    count counts once), and whether every cell is a count."""
    lines: dict[tuple, set[str]] = defaultdict(set)
    for r in group:
        lines[(r[4], r[5])].add((r[6] or "").strip())
    total, all_counts = 0, True
    for values in lines.values():
        if len(values) == 1 and re.fullmatch(r"[0-9]+", value := next(iter(values))):
            total += int(value)
        else:
            all_counts = False
    return total, all_counts
