"""Timing a whole process: wall, user + sys CPU and peak resident memory, from os.wait4.

Shared by benchmarks/profile.py, pipeline_vs_sql.py and pipeline_vs_dbt.py. On this shared
machine CPU time moves less with the load than wall time does, so both are kept.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def run_process(argv: list[str], log: Path, cwd: Path | None = None, env=None) -> dict:
    """Run argv to its end, its output into `log`; return exit code, wall, CPU and peak RSS.

    The peak comes from /usr/bin/time's %M, not from this process's wait4: a child forked from
    a large process starts with that process's resident size in its ru_maxrss (the comparison
    of marts grows a benchmark to 2 GiB), while /usr/bin/time is small when it forks."""
    started = time.perf_counter()
    peak_file = log.with_name(log.name + ".peak")
    timed = ["/usr/bin/time", "-f", "%M", "-o", str(peak_file), *argv]
    with log.open("w") as out:
        process = subprocess.Popen(timed, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = peak_file.read_text().split() if peak_file.exists() else []
    peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else usage.ru_maxrss
    return {
        "exit_code": process.returncode,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "peak_rss": peak_kib * 1024,  # of the largest process of the tree, not the sum
    }


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
