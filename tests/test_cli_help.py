"""Every command of the `tallyhouse` tree, at any depth, says what it does, and what each of its
options and arguments is: options in their own help, arguments in the command's text."""

import click
import pytest

from orchestration.cli import main, tallyhouse


def walk(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    """(command path, command) for the group and every command under it, depth first."""
    found = [(" ".join(("tallyhouse", *path)), command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += walk(sub, (*path, name))
    return found


COMMANDS = walk(tallyhouse)
PARAMETERS = [
    (path, command, param)
    for path, command in COMMANDS
    for param in command.params
    if not (isinstance(param, click.Option) and param.hidden)
]


def test_the_walk_finds_every_command_and_their_parameters():
    paths = [path for path, _ in COMMANDS]
    assert len(paths) == len(set(paths)) == 1 + len(tallyhouse.commands)
    assert "tallyhouse query" in paths and "tallyhouse results" in paths
    assert any(isinstance(p, click.Argument) for _, _, p in PARAMETERS), "arguments too"
    assert len(PARAMETERS) > 40


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_says_what_it_does(path, command, capsys):
    summary = (command.help or "").strip()
    assert len(summary.split()) >= 3, f"{path} has no help"
    assert main([*path.split()[1:], "--help"]) == 0
    assert f"Usage: {path}" in capsys.readouterr().out


def _parameter_id(item) -> str:
    path, _, param = item
    return f"{path} {param.opts[0] if isinstance(param, click.Option) else param.name}"


@pytest.mark.parametrize(
    ("path", "command", "param"), PARAMETERS, ids=[_parameter_id(i) for i in PARAMETERS]
)
def test_every_option_and_argument_has_help(path, command, param):
    if isinstance(param, click.Option):
        text = " ".join((param.help or "").split())
        assert len(text.split()) >= 2, f"{path} {param.opts[0]} has no help"
        return
    # click arguments carry no help of their own: the command's text explains them by name
    name = param.make_metavar(click.Context(command))
    explained = (command.help or "").replace(name, "", 1) != (command.help or "")
    assert explained, f"{path}: argument {name} is not explained in the command's help"
