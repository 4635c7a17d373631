"""The console script leaves its objects to the process's exit (orchestration/cli.py): the
collector's last passes skip them. A caller that passes argv (the tests, a long-lived process)
keeps its collector as it was."""

import gc
import subprocess
import sys

from orchestration.cli import main


def test_the_console_path_freezes_its_objects_for_the_exit():
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['tallyhouse', '--version']\n"
        "from orchestration.cli import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [done.stdout.splitlines()[0], "frozen True"]
    assert done.stdout.startswith("tallyhouse ")


def test_a_caller_passing_argv_keeps_its_collector():
    before = gc.get_freeze_count()
    assert main(["--version"]) == 0
    assert gc.get_freeze_count() <= before, "nothing more was frozen"
