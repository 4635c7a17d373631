"""Watching the landing folder: which files are whole, new, and not yet asked for.

The cursor remembers content hashes, not modification times: a file copied in with an old
modification time is still new, the same bytes under another name are not, and the same name
with new bytes is. A file is whole once its size has stopped changing between two looks (or it
has not been touched for `settle_seconds`); names that say a copy is under way (a leading dot, or
.tmp/.part/.partial/.crdownload/~ at the end) are never taken.
"""

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from landing.files import in_progress, sha256_file

SETTLE_SECONDS = 5.0


@dataclass
class WatchCursor:
    seen: set[str] = field(default_factory=set)  # sha256 of every file asked for
    sizes: dict[str, int] = field(default_factory=dict)  # name → size at the last look
    # failed runs already considered for a retry (orchestration/sensors.py)
    judged: set[str] = field(default_factory=set)

    @classmethod
    def from_json(cls, text: str | None) -> "WatchCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            set(data.get("seen", [])), dict(data.get("sizes", {})), set(data.get("judged", []))
        )

    def to_json(self) -> str:
        return json.dumps(
            {"seen": sorted(self.seen), "sizes": self.sizes, "judged": sorted(self.judged)},
            sort_keys=True,
        )


@dataclass(frozen=True)
class Ready:
    path: Path
    sha256: str


def look(
    paths: Iterable[Path],
    cursor: WatchCursor,
    now: float | None = None,
    settle_seconds: float = SETTLE_SECONDS,
    digest: Callable[[Path], str] = sha256_file,
) -> tuple[list[Ready], WatchCursor]:
    """The files ready to process now, and the cursor to keep for the next look."""
    now = time.time() if now is None else now
    ready: list[Ready] = []
    seen = set(cursor.seen)
    sizes: dict[str, int] = {}
    for path in sorted(paths):
        if in_progress(path.name) or not path.is_file():
            continue
        stat = path.stat()
        sizes[path.name] = stat.st_size
        settled = (
            cursor.sizes.get(path.name) == stat.st_size or now - stat.st_mtime >= settle_seconds
        )
        if not settled:
            continue
        sha = digest(path)
        if sha in seen:
            continue
        seen.add(sha)
        ready.append(Ready(path, sha))
    return ready, WatchCursor(seen, sizes, set(cursor.judged))
