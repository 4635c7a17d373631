"""Loading expectations/gx_worker.py imports only the standard library, so `tallyhouse run`
starts the Great Expectations worker before it imports polars or anything heavier."""

import subprocess
import sys

HEAVY = ("polars", "pandas", "great_expectations", "dagster", "expectations.suites")


def test_loading_the_worker_module_imports_nothing_heavy():
    probe = (
        "import sys, expectations.gx_worker; "
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
