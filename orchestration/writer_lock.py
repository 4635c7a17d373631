"""One writer at a time: every run (the CLI's, the sensor's, the schedule's) holds a lock on the
data directory for as long as it runs, recording its pid and run id in the lock file. A second
run waits for it (up to a limit) and then fails naming the holder. The operating system drops
the lock when its process dies, so a killed run never blocks the next one; that run stays
STARTED in Dagster's instance, and the next run to take the lock marks it failed, so the queue
the daemon keeps (one run at a time) moves on. A reader that must not disturb a run (the landing
sensor's look at raw.deliveries) takes the lock shared for a moment, only when no run holds it
(`reading`); a run arriving then waits that moment out, even with no wait (`READER_GRACE`)."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".writer.lock"
POLL_SECONDS = 0.5
READER_GRACE = 2.0  # seconds a run waits past its limit while only a reader holds the lock


class WriterBusy(RuntimeError):
    """Another live run holds the data directory."""


@dataclass(frozen=True)
class Holder:
    pid: int | None
    run_id: str | None
    since: str | None

    def describe(self) -> str:
        return f"run {self.run_id or '?'} (pid {self.pid or '?'}, since {self.since or '?'})"


def _read_holder(handle) -> Holder:
    handle.seek(0)
    try:
        data = json.loads(handle.read() or "{}")
    except ValueError:
        data = {}
    pid = data.get("pid")
    return Holder(pid if isinstance(pid, int) else None, data.get("run_id"), data.get("since"))


def _readers_only(handle) -> bool:
    """Whether the lock is held by readers (`reading`: the sensor's moment), not by a run."""
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(handle, fcntl.LOCK_UN)
    return True


def alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WriterLock:
    """The data directory's writer lock, taken by `acquire` and released by `release`."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_NAME
        self._handle = None

    def acquire(self, run_id: str, wait_seconds: float) -> Holder:
        """Take the lock for `run_id`, waiting up to wait_seconds for another run to end.
        Returns the previous holder (whose run may have died holding it); raises WriterBusy."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        deadline = time.monotonic() + max(wait_seconds, 0)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                late = time.monotonic() - deadline
                if late >= 0 and not (late < READER_GRACE and _readers_only(handle)):
                    holder = _read_holder(handle)
                    handle.close()
                    raise WriterBusy(
                        f"another run is writing to {self.path.parent}: {holder.describe()}; "
                        "this run waited "
                        f"{wait_seconds:g} s (TALLYHOUSE_WRITER_WAIT) and did not start"
                    ) from None
                time.sleep(POLL_SECONDS)
        previous = _read_holder(handle)
        handle.seek(0)
        handle.truncate()
        since = datetime.now(UTC).replace(microsecond=0).isoformat()
        handle.write(json.dumps({"pid": os.getpid(), "run_id": run_id, "since": since}))
        handle.flush()
        self._handle = handle
        return previous

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


@contextmanager
def reading(data_dir: Path) -> Iterator[None]:
    """Hold the data directory for a moment's read (the landing sensor's look at the warehouse)
    without ever waiting for, or failing, a run: a shared lock taken only if no run holds the
    lock (else WriterBusy naming the holder, at once). A run that starts meanwhile waits the
    moment out (WriterLock.acquire polls)."""
    path = Path(data_dir) / LOCK_NAME
    if not path.parent.is_dir():
        yield
        return
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WriterBusy(
                f"a run is writing to {path.parent}: {_read_holder(handle).describe()}"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
