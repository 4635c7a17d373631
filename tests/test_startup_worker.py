"""Loading expectations/gx_worker.py imports only the standard library, so `tallyhouse run`
starts the Great Expectations worker before it imports polars or anything heavier; and which
runs start one."""

import os
import subprocess
import sys
from dataclasses import replace

from orchestration.cli_commands.pipeline import _expects_tallies
from orchestration.settings import Settings

HEAVY = ("polars", "pandas", "great_expectations", "dagster", "expectations.suites")


def test_loading_the_worker_module_imports_nothing_heavy():
    probe = (
        "import sys, expectations.gx_worker; "
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_worker_is_started_for_a_first_run_a_full_one_and_a_drop(tmp_path):
    """The worker is started when the gate will likely judge tallies: a first or --full run with
    a file landed, or a later run with a file landed since the warehouse was last written."""
    settings = replace(Settings(tmp_path / "data"), election="general")  # not the sample
    settings.landing.mkdir(parents=True)
    assert not _expects_tallies(settings, full=False)  # nothing landed
    feed = settings.landing / "general_001.csv"
    feed.write_text("x\n")
    assert _expects_tallies(settings, full=False)  # a first run
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse.write_bytes(b"")
    os.utime(feed, (1_000_000, 1_000_000))  # landed before the warehouse was written
    assert not _expects_tallies(settings, full=False)  # nothing new
    assert _expects_tallies(settings, full=True)  # a full rebuild judges every tally
    (settings.landing / "general_002.csv").write_text("x\n")
    assert _expects_tallies(settings, full=False)  # a drop
