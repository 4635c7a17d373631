"""`tallyhouse run` pauses the garbage collector over its start only in the console script's
own process (orchestration/cli_commands/pipeline._pause_collector); a caller's process keeps
its collector as it was."""

import gc

import click

from orchestration.cli import tallyhouse
from orchestration.cli_commands.common import ConsoleProcess
from orchestration.cli_commands.pipeline import _pause_collector


def test_the_console_process_pauses_it():
    assert gc.isenabled()
    try:
        with click.Context(tallyhouse, obj=ConsoleProcess()):
            assert _pause_collector() is True
            assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_caller_process_keeps_it():
    with click.Context(tallyhouse, obj=None):
        assert _pause_collector() is False
    assert gc.isenabled()


def test_a_collector_already_off_is_left_off():
    gc.disable()
    try:
        with click.Context(tallyhouse, obj=ConsoleProcess()):
            assert _pause_collector() is False  # nothing for the run to turn back on
        assert not gc.isenabled()
    finally:
        gc.enable()
