"""Great Expectations imported ahead of the gate (expectations/preload.py): nothing at import,
once per process, and a failed import surfaces at the gate as an engine error naming it."""

import subprocess
import sys

PRELUDE = (
    "import sys\n"
    "from expectations import preload\n"
    "assert 'great_expectations' not in sys.modules, 'imported at import of preload'\n"
)


def run_python(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PRELUDE + code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_start_imports_gx_in_the_background_once_and_wait_joins_it():
    out = run_python(
        "first, again = preload.start(), preload.start()\n"
        "preload.wait()\n"
        "print(first, again, 'great_expectations.expectations' in sys.modules)\n"
        "print(preload.start())\n"  # GX is there now: nothing to start
        "print(sys.getswitchinterval())\n"  # shortened only while importing
    )
    assert out == ["True", "False", "True", "False", "0.005"]


def test_wait_without_start_does_nothing_and_imports_nothing():
    out = run_python("preload.wait()\nprint('great_expectations' in sys.modules)\n")
    assert out == ["False"]


def test_a_failed_background_import_is_an_engine_error_at_the_gate_naming_it():
    out = run_python(
        "import expectations.suites as suites\n"
        "from expectations.rules import RULES\n"
        "from tests.test_expectations import staged_evidence\n"
        "from transforms.synthetic.election import generate\n"
        "real = suites.import_gx\n"
        "def broken():\n"
        "    raise ImportError('no module named scipy.stats (simulated)')\n"
        "suites.import_gx = broken\n"
        "assert preload.start()\n"
        "evidence = staged_evidence(generate(50, seed=1))\n"
        "try:\n"
        "    suites.validate(evidence, RULES, 'all')\n"
        "except suites.EngineError as error:\n"
        "    message = str(error)\n"
        "assert 'started ahead of the gate' in message, message\n"
        "assert 'ImportError' in message and 'simulated' in message, message\n"
        "suites.import_gx = real\n"  # the failure is reported once: the next gate imports GX
        "failures = suites.validate(evidence, RULES, 'all')\n"
        "print(sorted(failures.checked) == sorted(r.id for r in RULES))\n"
    )
    assert out == ["True"]
