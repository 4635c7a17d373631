"""Election configurations and feed contracts: data, shipped with the project.

Each folder holds one election: election.toml (levels, candidates, expected tallies, registry),
contracts/*.toml (one per feed layout) and, optionally, announced.toml (totals an authority
announced). Read by warehouse/configs.py.
"""
