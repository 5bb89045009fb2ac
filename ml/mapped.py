"""The mapped-file import's reader (docs/mapping.md), for models evaluated on a user's file.

ml never imports connectors (DESIGN.md): the installed project names the reader through the
`salesops.readers` entry point, and the models read a file the way the import does.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from types import ModuleType

from salesops.errors import SalesopsError


def reader() -> ModuleType:
    """connectors.mapped_file (its `load_mapping` and `read_mapped`)."""
    found = entry_points(group="salesops.readers", name="mapped_file")
    if not found:
        raise SalesopsError("The mapped-file reader is not registered: reinstall the project "
                            "(`uv sync`) so its `salesops.readers` entry point is known.")
    return next(iter(found)).load()
