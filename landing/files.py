"""The landing folder: finding feed files by contract, reading them, writing and replaying them."""

from __future__ import annotations

import csv
import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import stat
import time
from pathlib import Path

import polars as pl

from transforms.contest_groups import GroupsUnresolved
from transforms.contract import (
    ENCODINGS,
    Applied,
    Contract,
    UnknownCandidate,
    apply_contract,
    header_problems,
)
from transforms.feed import REGISTRY_FILE
from transforms.model import Election
from transforms.repeated_groups import RepeatUnresolved
from transforms.synthetic.election import SyntheticElection
from transforms.text import REASON_LIMIT, escaped, one_line


class FileRejected(Exception):
    """A landing file refused whole; the message names the file and what is wrong."""

    def __init__(self, file_name: str, reason: str):
        super().__init__(f"{file_name}: {reason}")
        self.file_name = file_name
        self.reason = reason


def failure_reason(file_name: str, error: BaseException) -> str:
    """Why a file was rejected, in one line of at most REASON_LIMIT characters naming the file:
    a FileRejected's own words, or for an unexpected failure its kind and first line."""
    if isinstance(error, FileRejected):
        return one_line(str(error), REASON_LIMIT)
    lines = [line for line in str(error).splitlines() if line.strip()]
    detail = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return one_line(f"{file_name}: could not be loaded ({detail})", REASON_LIMIT)


def refuse_drift(path: Path, frame: pl.DataFrame, contract: Contract) -> None:
    """Reject the file whole when its header drifted from the contract's."""
    drift = header_problems([c for c in frame.columns if c != "source_row"], contract)
    if drift:
        raise FileRejected(path.name, drift)


def mapped(path: Path, frame: pl.DataFrame, contract: Contract, election: Election) -> Applied:
    """The file's rows mapped by its contract; a label no alias maps, or a grouped feed too long
    to number its tallies, rejects the file whole."""
    try:
        return apply_contract(frame, contract, election)
    except (UnknownCandidate, GroupsUnresolved, RepeatUnresolved) as unknown:
        raise FileRejected(path.name, str(unknown)) from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")


def in_progress(name: str) -> bool:
    """A name that says a copy is under way: never read, whatever a pattern matches."""
    return name.startswith(".") or name.endswith(IN_PROGRESS_SUFFIXES)


def unsettled(path: Path, settle_seconds: float, now: float | None = None) -> float | None:
    """Seconds since the file last changed, when that is less than settle_seconds (it may still
    be being written: left for a later run); None when it has settled."""
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return None  # gone: its load says so
    return max(age, 0.0) if age < settle_seconds else None


def inside(landing: Path, path: Path) -> bool:
    """A regular file of the landing folder itself: not a symlink (whatever it points to), not
    a device, a pipe or a folder, not hidden. Nothing else in the landing folder is ever read."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return (
        stat.S_ISREG(mode)
        and not path.name.startswith(".")
        and path.parent.resolve() == landing.resolve()
    )


def refused_files(landing: Path) -> list[str]:
    """Names in the landing folder that are neither a regular file nor a folder nor hidden:
    symlinks (which could lead anywhere), devices, pipes, sockets. Refused unread, and said."""
    if not landing.is_dir():
        return []
    names = []
    for path in landing.iterdir():
        if path.name.startswith("."):
            continue
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            names.append(path.name)
    return sorted(names, key=natural_key)


def registry_path(landing: Path, election: Election) -> Path | None:
    """The election's registry file in the landing folder, if the election has one and it is
    there (a regular file of the folder: a symlink is refused like any other)."""
    if not election.registry_file:
        return None
    path = landing / election.registry_file
    return path if inside(landing, path) else None


def read_unit_names(landing: Path, election: Election) -> dict[str, pl.DataFrame]:
    """The names files election.toml lists (`names = { level = "file.csv" }`), read from the
    landing folder: level → (code, name). A file not landed yet gives no names. A file that is
    not a CSV with `code` and `name` columns, or names a code twice differently or with no
    code, is refused in one line naming the file, the code and the rows (FileRejected)."""
    out = {}
    for level, file_name in election.names_files:
        path = landing / file_name
        if not inside(landing, path):
            continue
        frame = read_delimited(path)
        absent = [c for c in ("code", "name") if c not in frame.columns]
        if absent:
            raise FileRejected(
                file_name, f"names for {level}: no column {', '.join(absent)} (needs code,name)"
            )
        frame = frame.select(
            "source_row",
            pl.col("code").str.strip_chars().alias("code"),
            pl.col("name").str.strip_chars().alias("name"),
        )
        blank = frame.filter(pl.col("code").is_null() | (pl.col("code") == ""))
        if blank.height:
            raise FileRejected(
                file_name, f"names for {level}: row {blank['source_row'][0]} has no code"
            )
        twice = (
            frame.unique(["code", "name"], keep="first", maintain_order=True)
            .filter(pl.len().over("code") > 1)
            .sort("source_row")
        )
        if twice.height:
            code = twice["code"][0]
            rows = frame.filter(code=code)["source_row"].to_list()
            raise FileRejected(
                file_name,
                f"names for {level}: code {code!r} has different names at rows "
                f"{', '.join(str(r) for r in rows[:10])}",
            )
        out[level] = frame.unique("code", keep="first", maintain_order=True).select("code", "name")
    return out


def names_digest(landing: Path, election: Election) -> str:
    """What the names files are now (level, file, sha256 or absent): staging rebuilds in full
    when it changes, so that every unit's name is the file's."""
    parts = []
    for level, file_name in election.names_files:
        path = landing / file_name
        parts.append(
            f"{level}={file_name}:{sha256_file(path) if inside(landing, path) else 'absent'}"
        )
    return ";".join(parts)


def _first_ragged_row(text: str, separator: str) -> str | None:
    """Why polars could not parse the text, told by row: the first row whose fields differ in
    number from the header's, or the line where a line break sits inside an unquoted field (a
    bare CR in a file whose lines end LF, which Python's csv module refuses to read)."""
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    try:
        header = next(reader, [])
        for number, row in enumerate(reader, start=1):
            if row and len(row) != len(header):
                return f"row {number} has {len(row)} fields where the header has {len(header)}"
    except csv.Error:
        return (
            f"line {reader.line_num}: a line break inside an unquoted field (a bare CR in a "
            "file whose lines end LF, or the reverse)"
        )
    return None


def _decode(path: Path, contract: Contract) -> str:
    raw = _lf_lines(_file_bytes(path, contract))
    try:
        text = raw.decode(ENCODINGS[contract.encoding])
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1  # the file's line, title lines included
        raise FileRejected(
            path.name,
            f"is not {contract.encoding} text (line {line}, byte {error.start}): check the "
            "contract's file.encoding",
        ) from None
    lines = text.splitlines(keepends=True)
    return "".join(lines[contract.skip_lines :]) if contract.skip_lines else text


def _flattened(frame: pl.DataFrame) -> pl.DataFrame:
    """A JSON object's fields as columns of their own, named by their path (`chart.100025`,
    `administrasi.suara_sah`): Indonesia's Sirekap gives a TPS's votes and counts as objects. A
    field whose name is already a column's makes the file unreadable (polars' duplicate)."""
    while objects := [c for c, t in frame.schema.items() if isinstance(t, pl.Struct)]:
        frame = frame.with_columns(
            pl.col(c).struct.rename_fields([f"{c}.{f.name}" for f in frame.schema[c].fields])
            for c in objects
        ).unnest(objects)
    return frame


def _as_text(frame: pl.DataFrame, read: list[str]) -> pl.DataFrame:
    """JSON values as the text a delimited file would hold: objects flattened (`_flattened`), a
    whole number read as a float (4.0) is written 4. A list is no value: one the contract reads
    (`read`) makes the file unreadable, another (Sirekap's `images`) is left empty."""
    frame = _flattened(frame)
    lists = [c for c, t in frame.schema.items() if t.is_nested()]
    if read_lists := [c for c in lists if c in read]:
        raise ValueError(f"field(s) {', '.join(read_lists)} hold lists or objects, not values")
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in lists)
    return frame.with_columns(
        [
            pl.when(pl.col(c) == pl.col(c).floor())
            .then(pl.col(c).cast(pl.Int64).cast(pl.String))
            .otherwise(pl.col(c).cast(pl.String))
            .alias(c)
            if t.is_float()
            else pl.col(c).cast(pl.String)
            for c, t in frame.schema.items()
        ]
    )


TAIL_BYTES = 1 << 16  # the most of a file's end read to judge its last row


def _cut_short(data: bytes, separator: str, header_rows: int = 1) -> str | None:
    """Why the last row looks truncated (a file still being copied, a download cut off): the
    file does not end with a line break and its last line has fewer fields than the header.
    None when it looks whole."""
    if not data or data.endswith((b"\n", b"\r")):
        return None
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    if not ends:
        return None  # one line, the header alone: nothing to cut
    head_end = min(ends)
    tail = data[-TAIL_BYTES:]
    last_start = max(tail.rfind(b"\n"), tail.rfind(b"\r")) + 1
    header = next(
        csv.reader([data[:head_end].decode("utf-8", "replace")], delimiter=separator),
        [],
    )
    last = next(csv.reader([tail[last_start:].decode("utf-8", "replace")], delimiter=separator), [])
    if header_rows == 1 and 0 < len(last) < len(header):
        return (
            f"the last row has {len(last)} of {len(header)} fields and the file does not end "
            "with a line break: it looks cut short (still being copied?); it loads once whole"
        )
    return None


# The first bytes of compressed files: read only where the contract says the files are.
COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
}
MAX_INFLATED = 4 << 30  # bytes a gzip-compressed feed may inflate to


def _file_bytes(path: Path, contract: Contract) -> bytes:
    """The file's bytes, inflated when the contract says it is gzip; a compressed file the
    contract does not expect (or one that is not what it says) is rejected, never guessed."""
    data = path.read_bytes()
    kind = next((name for magic, name in COMPRESSED.items() if data.startswith(magic)), None)
    if contract.compression == "gzip":
        if kind != "gzip":
            raise FileRejected(path.name, "is not gzip-compressed, as its contract says")
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as inflating:
                data = inflating.read(MAX_INFLATED + 1)
        except (OSError, EOFError) as error:
            raise FileRejected(
                path.name, f"is a broken gzip file ({one_line(error, 120)})"
            ) from None
        if len(data) > MAX_INFLATED:
            raise FileRejected(path.name, "inflates to more than 4 GiB")
        return data
    if kind is not None:
        raise FileRejected(
            path.name,
            f'is {kind}-compressed; its contract reads plain text (file.compression = "gzip" '
            "reads gzip files)",
        )
    return data


def _feed_bytes(path: Path, contract: Contract) -> bytes:
    """UTF-8 bytes for polars: the file itself when it already is UTF-8 with nothing to skip
    (the common, large case), else decoded from its encoding with the skipped lines removed."""
    if contract.encoding in ("utf-8", "utf-8-sig") and not contract.skip_lines:
        data = _lf_lines(_file_bytes(path, contract))
        return data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    return _decode(path, contract).encode("utf-8")


def _lf_lines(data: bytes) -> bytes:
    """Lines ended by a bare CR (old Mac files: no LF anywhere) read as LF-ended lines."""
    return data.replace(b"\r", b"\n") if b"\n" not in data and b"\r" in data else data


def read_feed(path: Path, contract: Contract, n_rows: int | None = None) -> pl.DataFrame:
    """Every column as text, plus source_row: the data row's number (1 = first after the header,
    after any lines the contract skips). n_rows: only the first so many data rows (a sample)."""
    data = _feed_bytes(path, contract)
    if contract.format != "jsonl":
        cut = _cut_short(data, contract.separator, 2 if contract.two_row_header else 1)
        if cut:
            raise FileRejected(path.name, cut)
    try:
        if contract.format == "jsonl":
            frame = _as_text(
                pl.read_ndjson(io.BytesIO(data), infer_schema_length=None, n_rows=n_rows),
                contract.referenced_columns(),
            )
        elif contract.two_row_header:
            names, body = _two_row_header(data.decode("utf-8"), contract.separator)
            frame = pl.read_csv(
                io.BytesIO(body.encode("utf-8")),
                separator=contract.separator,
                has_header=False,
                new_columns=names,
                infer_schema=False,
                empty_string_is_null=False,
                n_rows=n_rows,
            )
        else:
            frame = pl.read_csv(
                io.BytesIO(data),
                separator=contract.separator,
                infer_schema=False,
                empty_string_is_null=False,
                n_rows=n_rows,
            )
    except (pl.exceptions.PolarsError, ValueError) as error:
        text = data.decode("utf-8", errors="replace")
        detail = _first_ragged_row(text, contract.separator) if contract.format != "jsonl" else None
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "empty"
        raise FileRejected(path.name, f"cannot be parsed: {detail or first_line}") from None
    _refuse_huge_fields(path, frame)
    if contract.format != "jsonl":
        frame = _one_line_names(path, frame)
    return frame.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )


def _one_line_names(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """The header's names with each line break inside a cell (and the spaces around it) read as
    one space: a spreadsheet's wrapped header cell (Taiwan's CEC: `(1)⏎柯文哲⏎吳欣盈`) is
    then a name a contract can write. Two names that become one reject the file."""
    names = [re.sub(r"\s*[\r\n]+\s*", " ", name) for name in frame.columns]
    if names == frame.columns:
        return frame
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FileRejected(path.name, f"two header cells read as {escaped(twice[0])}")
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


FIELD_LIMIT = 4_096  # the most bytes of one field: codes, counts, names and URLs are far shorter


def _refuse_huge_fields(path: Path, frame: pl.DataFrame) -> None:
    """Reject the file whole when a field is longer than FIELD_LIMIT bytes: no tally's code,
    count or name is, and such a value would be copied into the quarantine's evidence, the
    alerts and the published marts. The reason names the row and the column."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text or not frame.height:
        return
    longest = frame.select(pl.col(text).str.len_bytes().max()).row(0)
    for column, length in zip(text, longest, strict=True):
        if length is not None and length > FIELD_LIMIT:
            row = frame[column].str.len_bytes().arg_max() + 1
            raise FileRejected(
                path.name,
                f"row {row}, field {escaped(column)}: {length:,} bytes, more than any field "
                f"may hold ({FIELD_LIMIT:,})",
            )


def joined_header(upper: list[str], lower: list[str]) -> list[str]:
    """A two-row header's column names: `upper|lower`, an empty upper cell continuing the one on
    its left (a merged cell spanning a contest's columns); an upper name with nothing below,
    or a lower one with nothing above or to the left, stands alone."""
    names, above = [], ""
    for i in range(max(len(upper), len(lower))):
        top = upper[i].strip() if i < len(upper) else ""
        bottom = lower[i].strip() if i < len(lower) else ""
        if top and not bottom:
            above = ""
            names.append(top)
            continue
        above = top or above
        names.append(f"{above}|{bottom}" if above else bottom)
    return names


def _two_row_header(text: str, separator: str) -> tuple[list[str], str]:
    """The joined names of a two-row header and the text of the rows below it. Raises
    ValueError for a header that does not give every column one distinct name."""
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    upper, lower = next(reader, []), next(reader, [])
    body = "".join(text.splitlines(keepends=True)[reader.line_num :])
    names = joined_header(upper, lower)
    twice = sorted({n for n in names if names.count(n) > 1})
    if not all(names) or twice:
        problem = f"{twice[0]!r} twice" if twice else "a column without a name"
        raise ValueError(f"its two-row header gives {one_line(problem, 120)}")
    return names, body


def read_delimited(path: Path) -> pl.DataFrame:
    """A plain UTF-8 CSV (the registry), every column as text, plus source_row."""
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "empty"
        raise FileRejected(path.name, f"cannot be parsed: {first_line}") from None
    _refuse_huge_fields(path, frame)
    return frame.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )


def matching_files(landing: Path, contracts) -> list[tuple[Path, Contract]]:
    """Landing files and the contract each matches, in name order. A file two contracts claim
    is an error in the configuration, not in the file."""
    claimed: dict[Path, Contract] = {}
    for contract in contracts:
        for path in landing.glob(contract.pattern):
            if not inside(landing, path) or in_progress(path.name):
                continue
            if path in claimed:
                raise ValueError(
                    f"{path.name} matches both contract {claimed[path].id!r} and {contract.id!r}"
                )
            claimed[path] = contract
    return sorted(claimed.items(), key=lambda item: natural_key(item[0].name))


def unmatched_files(landing: Path, contracts, election: Election) -> list[str]:
    """Names of the files in the landing folder that no contract matches, that are not the
    election's registry and that its `ignore` patterns do not name (hidden files and folders
    aside), in name order: never loaded, so a run says so instead of skipping them without a
    word."""
    if not landing.is_dir():
        return []
    claimed = {p.name for c in contracts for p in landing.glob(c.pattern)}
    names = [
        p.name
        for p in landing.iterdir()
        if inside(landing, p)
        and p.name not in claimed
        and p.name != election.registry_file
        and not any(fnmatch.fnmatchcase(p.name, pattern) for pattern in election.ignored_files)
    ]
    return sorted(names, key=natural_key)


def natural_key(name: str) -> list:
    """tallies_9.csv before tallies_10.csv: arrival order for numbered drops."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def write_atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_synthetic(sample: SyntheticElection, landing: Path) -> list[Path]:
    """Write the registry, the drop files (tallies_001.csv, …) and the truth file into
    `landing` (write_landing)."""
    truth = json.dumps(sample.truth, indent=2)
    return write_landing(landing, sample.registry, sample.drops, truth, "tallies")


def write_landing(
    landing: Path, registry: pl.DataFrame, drops: list[pl.DataFrame], truth: str, prefix: str
) -> list[Path]:
    """Write a generated election into `landing`: the registry, the drop files
    (`<prefix>_001.csv`, … in arrival order) and truth.json; the drop files written, in order.

    Each file appears whole (written under a temporary name, then renamed), as a watcher expects.
    """
    landing.mkdir(parents=True, exist_ok=True)
    _write_csv_whole(registry, landing / REGISTRY_FILE)
    written = []
    for number, drop in enumerate(drops, start=1):
        path = landing / f"{prefix}_{number:03d}.csv"
        _write_csv_whole(drop, path)
        written.append(path)
    write_atomic_text(landing / "truth.json", truth)
    return written


def _write_csv_whole(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.write_csv(tmp)
    os.replace(tmp, path)


def replay(
    source: Path,
    landing: Path,
    pace_seconds: float,
    sleep=None,
    announce=None,
) -> list[Path]:
    """Drop a generated election's files into `landing` one at a time, as on election night.

    The registry goes first, then the drop files in name (arrival) order, each written under a
    temporary name and renamed whole; the truth file stays behind.
    """
    import shutil
    import time

    sleep = sleep or time.sleep
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    files = [p for p in files if p.name != "truth.json"]
    files.sort(key=lambda p: (p.name != REGISTRY_FILE, p.name))
    landing.mkdir(parents=True, exist_ok=True)
    dropped = []
    for number, path in enumerate(files):
        if number and pace_seconds > 0:
            sleep(pace_seconds)
        target = landing / path.name
        tmp = landing / f".{path.name}.tmp"
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        dropped.append(target)
        if announce:
            announce(target)
    return dropped
