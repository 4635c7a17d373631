"""The data directory's path rule, free of DuckDB: Settings checks it on every command
(`tallyhouse --help` included, which imports no DuckDB) and every warehouse connection again."""

from pathlib import Path


def searchable_folder(folder: Path | str) -> str:
    """`folder` as text, refused when it holds a comma: DuckDB finds the raw layer's files
    through its file_search_path (warehouse.db.beside_its_files), a comma-separated list of
    folders that cannot quote one, so such a folder's raw files would not be found."""
    text = str(folder)
    if "," in text:
        raise ValueError(
            f"the data directory's path cannot hold a comma ({text}): DuckDB finds the raw "
            "layer's files through a comma-separated list of folders"
        )
    return text
