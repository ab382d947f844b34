"""Locate the data folders (alembic/, reports/, skill/) in a wheel or a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent  # the orchestrator package


def data_dir(name: str) -> Path:
    """Return the folder `name` shipped in the wheel, else the one beside the package."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name
