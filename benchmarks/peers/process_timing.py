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
    """Run argv to its end, its output into `log`; return exit code, wall, CPU and peak RSS."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit_code": process.returncode,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "peak_rss": usage.ru_maxrss * 1024,  # of the largest process of the tree, not the sum
    }


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
