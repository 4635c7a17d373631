"""Hostile feed files: real Venezuelan feeds mutated M times, and every row still accounted for.

    .venv/bin/python benchmarks/fuzz_feeds.py                      # 1,000 mutations
    .venv/bin/python benchmarks/fuzz_feeds.py --mutations 100 --seed 3 --batch 50
    .venv/bin/python benchmarks/fuzz_feeds.py --election us_dc2016 --mutations 300 --batch 50

The second is a LONG general-election feed (the real DC 2016 files): its mutations, invariants
and checks are benchmarks/fuzz_long_feeds.py's. What follows is the Venezuelan (wide) mode.

Each mutation takes a slice of a real feed (`../shared/data/ve2024/`, read only: the header and
20-120 consecutive rows of one of its five files, in that file's own encoding and line ends) and
breaks it one way: a truncation (anywhere, or on a line boundary), byte flips, blank or
whitespace lines inserted (the end included), a bare CR or a stray quote inside a row, a huge
field (1-4 MB), the text re-encoded (latin-1, UTF-16, UTF-8 for a latin-1 contract), gzip bytes
under the .csv name, a NUL byte, a formula in a code column, a duplicated header row.

Mutations are batched: `--batch` mutated files (default 100) land together under their
contracts' names and go through one `tallyhouse run` (a child process: the whole CLI, raw load,
staging, the quality gate, marts and publication are the code under test) in a fresh data
directory. The shipped ve2024 election is copied with each contract's pattern widened from its
one file name to `<stem>.m*.csv`, nothing else changed. The gate's threshold is 1 (a batch of
broken files is meant to be quarantined, not to hold publication).

After each run:
  * the run exits 0, or 1 naming rejected files; no traceback, no failed step;
  * every mutated file is either in raw.deliveries or in raw.rejected_files, and a rejection's
    reason is one line naming the file;
  * for each delivered file: rows read = used + left out by the contract + blank; the rows used
    are the raw table's rows of that file, each of them a staged tally version or quarantined;
    and rows read equals the records Python's csv module reads from the same bytes (decoded
    with the contract's encoding), blank lines counted apart: nothing lost or invented.
Prints the figures per mutation kind and exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FEEDS = ROOT.parent / "shared" / "data" / "ve2024"
ELECTION = "ve2024"
# the feed files and their encodings (as their contracts declare them)
SOURCES = {
    "RESULTADOS_2024_CSV_V1.csv": "utf-8-sig",
    "RESULTADOS_2024_CSV_V2.csv": "latin-1",
    "actas_long_headers.csv": "utf-8",
    "qr_decoded_actas.csv": "utf-8",
    "qr_decoded_actas_with_totals.csv": "utf-8",
}
KINDS = (
    "truncate",
    "truncate_at_line",
    "byte_flip",
    "blank_lines",
    "trailing_blank",
    "bare_cr",
    "stray_quote",
    "huge_field",
    "latin1",
    "utf16",
    "utf8_for_latin1",
    "gzip",
    "nul_byte",
    "formula_code",
    "header_again",
)


@dataclass
class Mutant:
    name: str
    kind: str
    source: str
    data: bytes


@dataclass
class Figures:
    by_kind: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    rows: Counter = field(default_factory=Counter)
    runs: int = 0
    exit_codes: Counter = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    longest_text: int = 0  # the longest evidence or alert text stored
    tallies: Counter = field(default_factory=Counter)  # tally versions by fate (long feeds)


class Sources:
    """The real feeds' lines (bytes, line ends kept), read once."""

    def __init__(self, folder: Path):
        self.lines = {}
        for name in SOURCES:
            data = (folder / name).read_bytes()
            self.lines[name] = data.splitlines(keepends=True)

    def slice(self, rng: random.Random, name: str) -> bytes:
        lines = self.lines[name]
        count = rng.randint(20, 120)
        start = rng.randint(1, len(lines) - count - 1)
        body = lines[start : start + count]
        ending = b"\r\n" if lines[0].endswith(b"\r\n") else b"\n"
        body = [line if line.endswith((b"\n", b"\r")) else line + ending for line in body]
        return lines[0] + b"".join(body)


def _line_starts(data: bytes) -> list[int]:
    return [0, *[m.end() for m in re.finditer(rb"\n", data)][:-1]]


def _inside_a_row(rng: random.Random, data: bytes) -> int:
    """A byte offset inside a data row (not its line end), after the header."""
    starts = _line_starts(data)[1:]
    start = rng.choice(starts)
    end = data.index(b"\n", start) if b"\n" in data[start:] else len(data)
    end -= 1 if data[start:end].endswith(b"\r") else 0
    return rng.randint(start, max(start, end - 1))


def mutate(rng: random.Random, kind: str, data: bytes, encoding: str) -> bytes:
    if kind == "truncate":
        return data[: rng.randint(1, len(data) - 1)]
    if kind == "truncate_at_line":
        return data[: rng.choice(_line_starts(data)[1:])]
    if kind == "byte_flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind in ("blank_lines", "trailing_blank"):
        lines = data.splitlines(keepends=True)
        ending = b"\r\n" if lines[0].endswith(b"\r\n") else b"\n"
        for _ in range(rng.randint(1, 3)):
            blank = rng.choice([b"", b"   ", b"\t", b" , ,"]) + ending
            at = len(lines) if kind == "trailing_blank" else rng.randint(1, len(lines))
            lines.insert(at, blank)
        return b"".join(lines)
    if kind in ("bare_cr", "stray_quote", "nul_byte"):
        at = _inside_a_row(rng, data)
        insert = {"bare_cr": b"\r", "stray_quote": b'"', "nul_byte": b"\x00"}[kind]
        return data[:at] + insert + data[at:]
    if kind == "huge_field":
        at = _inside_a_row(rng, data)
        return data[:at] + b"9" * rng.randint(1 << 20, 4 << 20) + data[at:]
    text = data.decode(encoding)
    if kind == "latin1":
        return text.encode("latin-1", errors="replace")
    if kind == "utf16":
        return text.encode("utf-16")
    if kind == "utf8_for_latin1":
        return text.encode("utf-8")
    if kind == "gzip":
        return gzip.compress(data)
    if kind == "formula_code":
        lines = text.splitlines(keepends=True)
        row = rng.randrange(1, len(lines))
        fields = lines[row].split(",")
        header = [h.strip().lstrip("\ufeff") for h in lines[0].split(",")]
        code = next(c for c in ("CENTRO", "Acta", "codigo") if c in header)
        fields[header.index(code)] = '=HYPERLINK("http://x")'
        lines[row] = ",".join(fields)
        return "".join(lines).encode(encoding, errors="replace")
    if kind == "header_again":
        lines = data.splitlines(keepends=True)
        lines.insert(rng.randint(1, len(lines)), lines[0].removeprefix(b"\xef\xbb\xbf"))
        return b"".join(lines)
    raise ValueError(kind)


def make_mutants(rng: random.Random, sources: Sources, count: int, first: int) -> list[Mutant]:
    out = []
    for number in range(first, first + count):
        name = rng.choice(sorted(SOURCES))
        kind = KINDS[number % len(KINDS)]
        data = mutate(rng, kind, sources.slice(rng, name), SOURCES[name])
        stem = name.removesuffix(".csv")
        out.append(Mutant(f"{stem}.m{number:04d}.csv", kind, name, data))
    return out


def widened_elections(into: Path, election: str = ELECTION) -> Path:
    """The shipped election with each contract's pattern `<pattern>.m*.csv` (the mutants' names)."""
    target = into / "elections"
    shutil.copytree(ROOT / "elections" / election, target / election)
    for contract in (target / election / "contracts").glob("*.toml"):
        text = contract.read_text(encoding="utf-8")
        text, count = re.subn(
            r'^pattern = "([^"]+)\.csv"', r'pattern = "\1.m*.csv"', text, flags=re.M
        )
        assert count == 1, contract
        contract.write_text(text, encoding="utf-8")
    return target


def records(data: bytes, encoding: str, skip_lines: int = 0) -> list[list[str]] | None:
    """The records Python's csv module reads (the header first), or None when the bytes are
    not text of that encoding or not CSV at all (the file must then be rejected)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    # as the feed reader reads them: lines end with LF or CRLF (or, in a file without any LF,
    # a bare CR); a bare CR elsewhere is a character of its field
    text = text.replace("\r", "\n") if "\n" not in text else re.sub(r"\r(?!\n)", "\x01", text)
    lines = text.splitlines(keepends=True)[skip_lines:]
    try:
        return list(csv.reader(io.StringIO("".join(lines), newline=""), strict=True))
    except csv.Error:
        return None


def expected_records(data: bytes, encoding: str, skip_lines: int = 0) -> tuple[int, int] | None:
    """(records, blank records) Python's csv module reads after the header, or None (records)."""
    rows = records(data, encoding, skip_lines)
    if rows is None:
        return None
    body = rows[1:]
    blank = sum(1 for row in body if not "".join(row).strip())
    return len(body), blank


@dataclass
class Session:
    """What every batch of one fuzz run shares."""

    root: Path  # the batches' data directories are made here
    elections: Path  # the widened election
    figures: Figures
    rng: random.Random
    sources: object  # the mode's Sources
    keep: bool  # keep every batch's data directory


def land(landing: Path, mutants: list) -> None:
    """The mutants into the landing folder, settled (modified two minutes ago)."""
    old = time.time() - 120
    for m in mutants:
        (landing / m.name).write_bytes(m.data)
        os.utime(landing / m.name, (old, old))


def run_tallyhouse(data: Path, session: Session, election: str) -> subprocess.CompletedProcess:
    """One `tallyhouse run` of the data directory (a child process), counted in the figures."""
    env = {
        **os.environ,
        "TALLYHOUSE_ELECTIONS_DIR": str(session.elections),
        "TALLYHOUSE_SETTLE_SECONDS": "0",
        "DAGSTER_HOME": str(data / "dagster_home"),
        "PYTHONPATH": str(ROOT),
    }
    argv = [sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(data)]
    argv += ["--election", election, "--quarantine-threshold", "1"]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, errors="replace")
    session.figures.seconds.append(time.perf_counter() - started)
    session.figures.runs += 1
    for name, text in (("stdout", done.stdout), ("stderr", done.stderr)):  # kept on a violation
        (data / f"run{session.figures.runs}.{name}").write_text(text, encoding="utf-8")
    session.figures.exit_codes[done.returncode] += 1
    return done


def landed(mutants: list, session: Session, batch: int) -> Path:
    """The batch's data directory, its mutants in its landing folder."""
    data = session.root / f"batch{batch}"
    (data / "landing").mkdir(parents=True)
    land(data / "landing", mutants)
    return data


def run_batch(mutants: list[Mutant], session: Session, batch: int) -> None:
    data = landed(mutants, session, batch)
    done = run_tallyhouse(data, session, ELECTION)
    check_batch(mutants, data, done, session.figures, batch)
    if not session.figures.violations:
        shutil.rmtree(data)


def rejection_problems(name: str, reason: str, stderr: str) -> list[str]:
    """What is wrong with a rejection: its reason one line of at most 500 characters that
    names the file, and the file named on stderr."""
    problems = []
    if not reason.startswith(name) or "\n" in reason or len(reason) > 500:
        problems.append(f"rejection reason {reason[:200]!r}")
    if name not in stderr:
        problems.append("rejected but not named on stderr")
    return problems


def check_batch(mutants, data: Path, done, figures: Figures, batch: int) -> None:
    from warehouse.db import connect

    def violation(text: str) -> None:
        figures.violations.append(f"batch {batch}: {text}")
        print(f"VIOLATION batch {batch}: {text}", flush=True)

    output = done.stdout + done.stderr
    if "Traceback" in output or " FAILED" in output or done.returncode not in (0, 1):
        tail = " | ".join(done.stderr.strip().splitlines()[-6:])
        violation(f"run exited {done.returncode}: {tail[:1500]}")
        return
    with connect(data / "warehouse.duckdb", read_only=True) as con:
        delivered = {
            r[0]: r[1:]
            for r in con.sql(
                "select file_name, file_sha256, rows_read, rows_used, rows_excluded, rows_blank, "
                "source_id from raw.deliveries where kind = 'feed'"
            ).fetchall()
        }
        rejected = dict(con.sql("select file_name, error from raw.rejected_files").fetchall())
        raw_rows = {}
        for (source,) in con.sql(
            "select distinct source_id from raw.deliveries where kind = 'feed'"
        ).fetchall():
            raw_rows.update(
                dict(
                    con.sql(
                        f"select file_sha256, count(*) from raw.tallies_{source} group by 1"  # noqa: S608
                    ).fetchall()
                )
            )
        versions = dict(
            con.sql("select file_sha256, count(*) from staged.tally_versions group by 1").fetchall()
        )
    if done.returncode == 1 and not rejected:
        violation("exit 1 with no file rejected")
    for m in mutants:
        tally = figures.by_kind[m.kind]
        tally["files"] += 1
        expected = expected_records(m.data, SOURCES[m.source])
        if m.name in rejected:
            tally["rejected"] += 1
            for text in rejection_problems(m.name, rejected[m.name], done.stderr):
                violation(f"{m.name} ({m.kind}): {text}")
            figures.rows["in rejected files"] += expected[0] if expected else 0
            continue
        if m.name not in delivered:
            violation(f"{m.name} ({m.kind}): neither delivered nor rejected")
            continue
        sha, read, used, excluded, blank, _source = delivered[m.name]
        tally["loaded"] += 1
        if read != used + excluded + blank:
            violation(f"{m.name} ({m.kind}): read {read} != {used} + {excluded} + {blank}")
        if raw_rows.get(sha, 0) != used:
            violation(f"{m.name} ({m.kind}): {used} used, {raw_rows.get(sha, 0)} in raw")
        if versions.get(sha, 0) != used:
            violation(f"{m.name} ({m.kind}): {used} used, {versions.get(sha, 0)} staged versions")
        if expected is None:
            violation(f"{m.name} ({m.kind}): loaded ({read} rows), but Python's csv cannot read it")
        elif (read, blank) != expected:
            violation(
                f"{m.name} ({m.kind}): {read} rows read ({blank} blank), Python's csv reads "
                f"{expected[0]} ({expected[1]} blank)"
            )
        figures.rows["read"] += read
        figures.rows["used"] += used
        figures.rows["blank"] += blank
        figures.rows["excluded"] += excluded
    quarantined, longest = quarantine_figures(data)
    figures.rows["quarantined"] += quarantined
    figures.longest_text = max(figures.longest_text, longest)
    if longest > TEXT_LIMIT:
        violation(f"a text of {longest:,} characters stored in the quality layer or the alerts")


TEXT_LIMIT = 10_000  # the most characters of evidence or an alert stored from a file


def quarantine_figures(data: Path) -> tuple[int, int]:
    """Tallies quarantined, and the longest evidence or alert text stored."""
    from warehouse.db import connect

    with connect(data / "warehouse.duckdb", read_only=True) as con:
        [(n, observed)] = con.sql(
            "select count(*), coalesce(max(length(observed)), 0) from quality.quarantine"
        ).fetchall()
        [(alert,)] = con.sql(
            "select coalesce(max(length(a::varchar)), 0) from quality.alerts a"
        ).fetchall()
    return n, max(observed, alert)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=1_000, help="mutated files (1000)")
    parser.add_argument("--batch", type=int, default=100, help="mutated files per run (100)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--feeds", type=Path, help="the election's feeds (read only)")
    parser.add_argument("--keep", type=Path, help="keep the data directories here")
    parser.add_argument(
        "--election",
        choices=(ELECTION, "us_dc2016"),
        default=ELECTION,
        help="ve2024 (wide feeds), or us_dc2016 (a long general-election feed: fuzz_long_feeds)",
    )
    args = parser.parse_args(argv)
    csv.field_size_limit(sys.maxsize)  # the oracle reads huge fields too
    if args.election == ELECTION:
        mode = sys.modules[__name__]
    else:
        import fuzz_long_feeds as mode
    args.feeds = args.feeds or mode.FEEDS
    if not all((args.feeds / name).is_file() for name in mode.SOURCES):
        print(f"skipped: the {args.election} feeds are not in {args.feeds}")
        return 0
    return fuzz(args, mode)


def fuzz(args, mode) -> int:
    """`args.mutations` mutants of the mode's feeds in batches, each batch one run checked by
    the mode's run_batch; 1 on any violation."""
    rng = random.Random(args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="fuzz-"))
    root.mkdir(parents=True, exist_ok=True)
    figures = Figures()
    started = time.perf_counter()
    try:
        elections = mode.widened_elections(root)
        session = Session(root, elections, figures, rng, mode.Sources(args.feeds), bool(args.keep))
        for batch, first in enumerate(range(0, args.mutations, args.batch)):
            count = min(args.batch, args.mutations - first)
            mode.run_batch(mode.make_mutants(rng, session.sources, count, first), session, batch)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print_figures(figures, time.perf_counter() - started, mode.KINDS)
    return 1 if figures.violations else 0


def print_figures(figures: Figures, elapsed: float, kinds: tuple[str, ...]) -> None:
    files = sum(t["files"] for t in figures.by_kind.values())
    width = max(len(k) for k in kinds) + 2
    print(f"\n{files} mutated files in {figures.runs} runs, {elapsed:.0f}s")
    print(f"  {'mutation':<{width}}{'files':>6}{'loaded':>8}{'rejected':>9}")
    for kind in kinds:
        t = figures.by_kind.get(kind)
        if t:
            print(f"  {kind:<{width}}{t['files']:>6}{t['loaded']:>8}{t['rejected']:>9}")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in figures.rows.items()))
    if figures.tallies:
        print("  tallies: " + ", ".join(f"{k} {v:,}" for k, v in figures.tallies.items()))
    print("  exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(figures.exit_codes.items())))
    print(f"  longest evidence or alert text stored: {figures.longest_text:,} characters")
    print(f"violations: {len(figures.violations)}")
    for text in figures.violations:
        print(f"  {text}")


if __name__ == "__main__":
    sys.exit(main())
