"""The project's own sources compiled to bytecode when `uv sync` installs it (editable).

`uv sync --compile-bytecode` compiles the dependencies in .venv, never the project's sources,
which an editable install leaves in place. Where Python may not write bytecode as it imports
(PYTHONDONTWRITEBYTECODE, as in CI and many containers), every `tallyhouse` process compiled
them again: about 0.1 s of CPU a run. Compiled once here, they are read from __pycache__; a
source edited later is compiled again in memory, as it always was.
"""

import compileall
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileSources(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if version != "editable":  # a wheel or sdist carries sources, not caches
            return
        for package in self.build_config.packages:
            compileall.compile_dir(Path(self.root) / package, quiet=1)
