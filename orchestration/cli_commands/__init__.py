"""The bodies of the `tallyhouse` commands, one module per group of commands.

Each module imports only click and the settings at import time; anything heavy (dagster,
great_expectations, polars, duckdb) is imported inside the command that needs it, so
`tallyhouse --help` and `--version` start at once.
"""
