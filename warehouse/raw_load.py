"""Loading landing files into the raw layer: one all-or-nothing load per file, keyed by sha256.

A feed file's raw rows become one Parquet file of the data directory, its delivery a row of
raw.deliveries, and raw.tallies_<source> a view over the source's files (warehouse/raw_files.py);
the registry, small and replaced whole, stays a table (raw.registry).

A file whose sha256 was already delivered is skipped, whatever its name: re-delivery changes
nothing. A file that cannot be read, whose columns drifted from its contract, or whose reading
fails for any other reason (a value no type holds) is rejected whole: nothing of it is loaded,
the rejection is recorded with a one-line reason, and the rest of the delivery goes on. A cell
that cannot become a count is kept as delivered: the quality gate quarantines its tally (rule
E8), not the whole file. A raw file that cannot be written (a full disk) fails the run, which
records nothing of the file: the next run loads it again.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

from landing.files import (
    FileRejected,
    failure_reason,
    mapped,
    read_delimited,
    read_feed,
    refuse_drift,
    sha256_file,
)
from transforms.ballots import optional_registry_columns
from transforms.contests import LINE_COLUMNS
from transforms.contract import Contract
from transforms.feed import COUNT_FIELDS, NO_LIST, missing_columns, registry_columns
from transforms.model import Election
from transforms.text import one_line
from warehouse.db import ident, qualified, registered, rows, scalar, table_exists, transaction
from warehouse.raw_files import (
    data_dir,
    files_from_tables,
    raw_table,
    refresh_view,
    remove_unfinished,
    write_rows,
)

LOADED, SKIPPED, REJECTED = "loaded", "skipped", "rejected"
UNREADABLE = "unreadable"  # gone or unreadable when its turn came: nothing recorded, next run


@dataclass(frozen=True)
class LoadOutcome:
    file_name: str
    file_sha256: str
    status: str
    rows: int = 0  # tallies built (raw rows loaded)
    error: str | None = None
    excluded: int = 0  # rows the contract left out ([[exclude]], [[include]])
    read: int = 0  # data rows read from the file: rows used + excluded + blank
    blank: int = 0  # blank lines skipped


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def already_delivered(con: duckdb.DuckDBPyConnection, sha: str) -> bool:
    return bool(scalar(con, "select count(*) from raw.deliveries where file_sha256 = ?", [sha]))


def delivered_unchanged(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The sha256 of a landing file already delivered and not touched since it was hashed
    (same name, size and modification time to the nanosecond), or None: hash it then.

    A run from the command line looks at every landed file; hashing them all again is most of
    what a drop's run spends on the raw layer. Any write to a file changes its modification
    time, so a changed file is always hashed again (as git's index does)."""
    stat = path.stat()
    found = rows(
        con,
        "select l.file_sha256 from raw.landed_files l join raw.deliveries d using (file_sha256) "
        "where l.file_name = ? and l.size = ? and l.mtime_ns = ?",
        [path.name, stat.st_size, stat.st_mtime_ns],
    )
    return found[0][0] if found else None


def hash_landed(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Hash a landing file and remember its name, size and modification time with the sha."""
    stat, sha = stat_and_hash(path)
    remember_landed(con, path, stat, sha)
    return sha


def stat_and_hash(path: Path) -> tuple[os.stat_result, str]:
    """A landing file's size and modification time, then its sha256 (no database: a feed
    file's is computed by a worker thread ahead of its turn, see _hashed)."""
    return path.stat(), sha256_file(path)


def remember_landed(con: duckdb.DuckDBPyConnection, path: Path, stat: os.stat_result, sha: str):
    """Remember a hashed file's name, size and modification time with its sha (in one
    transaction: one commit, where each statement alone was one)."""
    with transaction(con):
        con.execute("delete from raw.landed_files where file_name = ?", [path.name])
        con.execute(
            "insert into raw.landed_files values (?, ?, ?, ?)",
            [path.name, stat.st_size, stat.st_mtime_ns, sha],
        )


def _next_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(scalar(con, "select coalesce(max(delivery_seq), 0) + 1 from raw.deliveries"))


def _record_delivery(
    con,
    sha,
    path,
    source_id,
    kind,
    count,
    run_id,
    contract: Contract | None = None,
    excluded=0,
    read=None,
    blank=0,
) -> None:
    read = count + excluded + blank if read is None else read
    con.execute(
        "insert into raw.deliveries (delivery_seq, file_sha256, file_name, source_id, kind, "
        "row_count, loaded_at, run_id, contract_id, release, snapshot, rows_excluded, "
        "rows_read, rows_used, rows_blank) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            _next_seq(con),
            sha,
            path.name,
            source_id,
            kind,
            count,
            _now(),
            run_id,
            contract.id if contract else None,
            contract.release if contract else 0,
            contract.snapshot if contract else False,
            excluded,
            read,
            read - excluded - blank,
            blank,
        ],
    )


def rejected_before(con: duckdb.DuckDBPyConnection, sha: str) -> str | None:
    """Why these bytes were rejected by an earlier run, or None. A rejected file is not read
    again until its bytes change (or a full run, `run --full`, e.g. after its contract was
    corrected)."""
    found = rows(con, "select error from raw.rejected_files where file_sha256 = ?", [sha])
    return found[0][0] if found else None


def record_rejection(con, sha: str, path: Path, source_id: str | None, error: str, run_id) -> None:
    with transaction(con):
        con.execute("delete from raw.rejected_files where file_sha256 = ?", [sha])
        con.execute(
            "insert into raw.rejected_files values (?, ?, ?, ?, ?, ?)",
            [sha, path.name, source_id, error, _now(), run_id],
        )


def _create_raw_table(con, table: str, columns: list[str]) -> None:
    cols = ", ".join(f"{ident(c)} varchar" for c in columns)
    con.execute(
        f"create table {qualified('raw', table)} "
        f"(file_sha256 varchar not null, source_row bigint not null, {cols})"
    )


def _insert_frame(con, table: str, frame: pl.DataFrame, columns: list[str]) -> None:
    """Insert the frame's rows (the registry's). DuckDB reads polars' own string views through
    Arrow: a frame handed over as it is is first copied, every text cell of it, into Arrow's
    plain strings."""
    target = qualified("raw", table)
    select = ", ".join(ident(c) for c in ["file_sha256", "source_row", *columns])
    views = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    with registered(con, {"incoming_rows": views}):
        con.execute(f"insert into {target} ({select}) select {select} from incoming_rows")


def _read_checked(path: Path, required: list[str]) -> pl.DataFrame:
    frame = read_delimited(path)
    missing = missing_columns(frame.columns, required)
    if missing:
        raise FileRejected(path.name, f"lacks required column(s) {', '.join(missing)}")
    return frame


def raw_columns(election: Election) -> list[str]:
    """The canonical text columns a raw feed table holds, after its contract's mapping."""
    names = [f"{level}_name" for level in election.levels]
    lines = list(LINE_COLUMNS) if election.is_general else election.candidate_ids
    return [*election.code_columns, *names, *COUNT_FIELDS, NO_LIST, *lines]


def empty_raw(election: Election) -> pl.DataFrame:
    """A raw feed frame with no rows: what a drop without tally rows stages from."""
    return pl.DataFrame(
        schema={
            "file_sha256": pl.String,
            "source_row": pl.Int64,
            **{c: pl.String for c in raw_columns(election)},
        }
    )


def _read_and_map(path: Path, contract: Contract, election: Election, sha: str):
    """The file read with its contract and mapped to canonical text columns: (applied, rows),
    typed as a raw table's columns were (a column of nulls too is text)."""
    frame = read_feed(path, contract)
    refuse_drift(path, frame, contract)
    applied = mapped(path, frame, contract, election)
    rows = applied.tallies.select(
        pl.lit(sha).alias("file_sha256"),
        pl.col("source_row").cast(pl.Int64),
        *[pl.col(c).cast(pl.String) for c in raw_columns(election)],
    )
    return applied, rows


class RawNotWritten(Exception):
    """A feed file's raw rows could not be written (a full disk, a folder not writable): not
    the file's fault, so the run fails and the next one loads it again."""


def _read_and_write(election: Election, folder: Path, path: Path, contract: Contract, sha: str):
    """_read_and_map, then its rows written as the file's raw file (write_rows): (applied,
    the rows written), in the reader thread."""
    applied, rows = _read_and_map(path, contract, election, sha)
    try:
        write_rows(folder, contract.source_id, sha, rows)
    except Exception as error:
        raise RawNotWritten(f"{path.name}: its raw rows could not be written ({error})") from error
    return applied, rows.height


def _reject(con, sha: str, path: Path, source_id: str | None, reason: str, run_id) -> LoadOutcome:
    record_rejection(con, sha, path, source_id, reason, run_id)
    return LoadOutcome(path.name, sha, REJECTED, error=reason)


BATCH_ROWS = 1_000_000  # raw rows whose deliveries one transaction records (see load_feed_files)


@dataclass(frozen=True)
class _Mapped:
    """A feed file read, mapped and its raw file written, waiting for its batch's transaction."""

    path: Path
    contract: Contract
    sha: str
    applied: object  # transforms.contract.Applied
    rows: int  # raw rows written

    def outcome(self) -> LoadOutcome:
        return LoadOutcome(
            self.path.name,
            self.sha,
            LOADED,
            rows=self.rows,
            excluded=self.applied.excluded,
            read=self.applied.rows_read,
            blank=self.applied.blank,
        )


def load_feed_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    contract: Contract,
    election: Election,
    run_id: str,
    rehash: bool = False,
) -> LoadOutcome:
    """Read a file with its contract and load its rows, mapped to canonical names, as text.
    rehash: hash it even when its name, size and modification time are a delivered file's
    (a full run: sha256 is the truth)."""
    [(_, _, outcome)] = load_feed_files(con, [(path, contract)], election, run_id, rehash)
    return outcome


# What a worker thread reads, maps and writes while this one records the files before: files
# begun ahead, at most READ_AHEAD of them and about READ_AHEAD_BYTES of landing bytes (a batch's
# worth of long rows, some 900,000)
READ_AHEAD = 64
READ_AHEAD_BYTES = 64 << 20
HASH_AHEAD = 8  # files a second worker thread hashes ahead of their turn (see _hashed)


@dataclass(frozen=True)
class _Reading:
    """A file checked and hashed whose reading and mapping was handed to the reader thread
    (future None: an earlier file not yet loaded has the same bytes, so whether this one is
    read is decided when its turn comes, as if read one after the other)."""

    sha: str
    future: Future | None
    size: int = 0  # the file's bytes


def load_feed_files(
    con: duckdb.DuckDBPyConnection,
    files,
    election: Election,
    run_id: str,
    rehash: bool = False,
    batch_rows: int = BATCH_ROWS,
):
    """load_feed_file for each (path, contract) of `files`, yielding (path, contract, outcome)
    in their order. Each file read and mapped has its raw rows written as its raw file
    (warehouse/raw_files.py); the deliveries of about `batch_rows` raw rows are then recorded
    together, in one transaction that also recreates their sources' views (one commit, and one
    look at the files' schemas, per batch rather than per file).

    Reading, mapping and writing the files (polars, no database: most of the step's time) is
    done ahead (READ_AHEAD, READ_AHEAD_BYTES) by a worker thread while this one checks and
    records, and hashing them by another (HASH_AHEAD), so the three overlap; the connection is
    used by this thread alone, and every outcome is the one reading the files one after the
    other gives."""
    queue: list = []  # a LoadOutcome, or a _Mapped waiting for its batch
    waiting = 0
    folder = data_dir(con)
    remove_unfinished(folder)
    files_from_tables(con, folder)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-read")
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-hash")
    try:
        hashed = _hashed(con, files, rehash, hasher)
        read = partial(_read_and_write, election, folder)
        for path, contract, found in _read_ahead(con, hashed, read, run_id, rehash, reader, queue):
            queue.append((path, contract, found))
            if isinstance(found, _Mapped):
                waiting += found.rows
            if waiting >= batch_rows:
                yield from _flush(con, queue, run_id)
                queue.clear()
                waiting = 0
        yield from _flush(con, queue, run_id)
    finally:
        reader.shutdown(cancel_futures=True)
        hasher.shutdown(cancel_futures=True)


def _hashed(con, files, rehash: bool, hasher: ThreadPoolExecutor):
    """Each (path, contract) with what is known of its bytes, HASH_AHEAD files before its
    turn: the sha256 of a delivered file not touched since it was hashed (skipped unread), a
    Future of its stat and sha256 (stat_and_hash in the worker: the sha256 of a long feed's
    1.7 GB was a tenth of the inserting thread's time), or the OSError its stat raised."""
    ahead: deque = deque()
    for path, contract in files:
        try:
            known = None if rehash else delivered_unchanged(con, path)
        except OSError as error:
            known = error
        ahead.append((path, contract, known or hasher.submit(stat_and_hash, path)))
        if len(ahead) > HASH_AHEAD:
            yield ahead.popleft()
    yield from ahead


def _read_ahead(con, hashed, read, run_id, rehash, reader: ThreadPoolExecutor, queue: list):
    """Each file with its outcome or its _Mapped, in order, the files after it begun ahead
    (READ_AHEAD, READ_AHEAD_BYTES; read: _read_and_write of a (path, contract, sha); queue: the
    caller's files waiting for their batch)."""
    ahead: deque = deque()
    for path, contract, known in hashed:
        flying = {m.sha for _, _, m in [*queue, *ahead] if isinstance(m, (_Mapped, _Reading))}
        begun = _begin(con, path, contract, known, read, reader, flying, queue, rehash)
        ahead.append((path, contract, begun))
        while len(ahead) > READ_AHEAD or (len(ahead) > 1 and _size(ahead) > READ_AHEAD_BYTES):
            yield _taken(con, *ahead.popleft(), read, run_id, rehash, queue)
    while ahead:
        yield _taken(con, *ahead.popleft(), read, run_id, rehash, queue)


def _size(ahead: deque) -> int:
    """The landing bytes of the files being read ahead."""
    return sum(b.size for _, _, b in ahead if isinstance(b, _Reading))


def _begin(con, path, contract, known, read, reader, flying: set, queue: list, rehash):
    """The file's outcome when it is skipped or rejected before reading, else a _Reading.
    known: what _hashed knows of its bytes."""
    if isinstance(known, str):
        return LoadOutcome(path.name, known, SKIPPED)
    try:
        if isinstance(known, OSError):
            raise known
        stat, sha = known.result()
    except OSError as error:  # it vanished, or cannot be opened: nothing of it to record
        reason = one_line(error.strerror or type(error).__name__, 120)
        return LoadOutcome(path.name, "", UNREADABLE, error=f"could not be read ({reason})")
    remember_landed(con, path, stat, sha)
    if sha in flying:  # its twin's outcome decides this one's: left for its turn
        return _Reading(sha, None)
    decided = _decided(con, path, sha, rehash, queue)
    if decided is not None:
        return decided
    future = reader.submit(read, path, contract, sha)
    return _Reading(sha, future, stat.st_size)


def _decided(con, path: Path, sha: str, rehash: bool, queue: list) -> LoadOutcome | None:
    """Skipped (the same bytes delivered, or waiting in this batch) or rejected by an earlier
    run; None: to read."""
    waiting = {m.sha for _, _, m in queue if isinstance(m, _Mapped)}
    if sha in waiting or already_delivered(con, sha):
        return LoadOutcome(path.name, sha, SKIPPED)
    before = None if rehash else rejected_before(con, sha)
    if before is not None:  # the same bytes were rejected: not read again until they change
        return LoadOutcome(path.name, sha, REJECTED, error=before)
    return None


def _taken(con, path, contract, begun, read, run_id, rehash, queue):
    """(path, contract, its outcome or its _Mapped) once its reading and writing are done."""
    if not isinstance(begun, _Reading):
        return path, contract, begun
    if begun.future is None:  # decided now, as reading one file after the other did
        decided = _decided(con, path, begun.sha, rehash, queue)
        if decided is not None:
            return path, contract, decided
    try:
        if begun.future is None:
            applied, rows = read(path, contract, begun.sha)
        else:
            applied, rows = begun.future.result()
    except RawNotWritten:
        raise
    except Exception as error:  # any failure of one file rejects that file, not the delivery
        reason = failure_reason(path.name, error)
        return path, contract, _reject(con, begun.sha, path, contract.source_id, reason, run_id)
    return path, contract, _Mapped(path, contract, begun.sha, applied, rows)


def _flush(con, queue: list, run_id: str):
    """Record the queue's written files in one transaction."""
    batch = [m for _, _, m in queue if isinstance(m, _Mapped)]
    if batch:
        with transaction(con):
            _store(con, batch, run_id)
    for path, contract, found in queue:
        yield path, contract, found.outcome() if isinstance(found, _Mapped) else found


def _store(con, batch: list[_Mapped], run_id: str) -> None:
    """Within the caller's transaction: each file's delivery, in the files' order, then the
    view of each of their sources over its files, these included."""
    for m in batch:
        _record_delivery(
            con,
            m.sha,
            m.path,
            m.contract.source_id,
            "feed",
            m.rows,
            run_id,
            m.contract,
            m.applied.excluded,
            m.applied.rows_read,
            m.applied.blank,
        )
    for source_id in dict.fromkeys(m.contract.source_id for m in batch):
        refresh_view(con, source_id)


def load_registry(
    con: duckdb.DuckDBPyConnection, path: Path, election: Election, run_id: str
) -> LoadOutcome:
    """The registry is a catalogue: a new version replaces the previous one whole."""
    unchanged = delivered_unchanged(con, path)
    if unchanged is not None:
        return LoadOutcome(path.name, unchanged, SKIPPED)
    sha = hash_landed(con, path)
    if already_delivered(con, sha):
        return LoadOutcome(path.name, sha, SKIPPED)
    columns = registry_columns(election)
    try:
        frame = _read_checked(path, columns)
        columns += [c for c in optional_registry_columns(election) if c in frame.columns]
        frame = frame.select(pl.lit(sha).alias("file_sha256"), "source_row", *columns)
    except Exception as error:  # any failure rejects the registry file, not the delivery
        return _reject(con, sha, path, None, failure_reason(path.name, error), run_id)
    try:
        with transaction(con):
            con.execute("drop table if exists raw.registry")
            _create_raw_table(con, "registry", columns)
            _insert_frame(con, "registry", frame, columns)
            _record_delivery(con, sha, path, "registry", "registry", frame.height, run_id)
    except duckdb.Error as error:  # rolled back: the previous registry stays
        return _reject(con, sha, path, None, failure_reason(path.name, error), run_id)
    return LoadOutcome(path.name, sha, LOADED, rows=frame.height)


def feed_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0]
        for r in rows(
            con, "select distinct source_id from raw.deliveries where kind = 'feed' order by 1"
        )
    ]


def read_raw_feed(con: duckdb.DuckDBPyConnection, source_id: str) -> pl.DataFrame:
    table = raw_table(source_id)
    if not table_exists(con, "raw", table):
        return pl.DataFrame()
    return con.sql(f"select * from {qualified('raw', table)}").pl()


def bind_election(con: duckdb.DuckDBPyConnection, election_id: str) -> None:
    """A warehouse holds one election; refuse to mix another one into it."""
    con.execute("create table if not exists raw.election (election_id varchar not null)")
    bound = rows(con, "select election_id from raw.election")
    if not bound:
        con.execute("insert into raw.election values (?)", [election_id])
    elif bound[0][0] != election_id:
        raise ValueError(
            f"this data directory holds election {bound[0][0]!r}, not {election_id!r}: "
            "use another --data-dir for each election"
        )
