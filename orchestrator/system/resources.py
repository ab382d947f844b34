"""Locate what orch ships: its data folders (alembic/, reports/, skill/) and the running `orch` itself."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent  # the orchestrator package


def data_dir(name: str) -> Path:
    """Return the folder `name` shipped in the wheel, else the one beside the package."""
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name


def running_orch() -> str | None:
    """The absolute path of the `orch` executable that is running, when it can be told; else None."""
    here = shutil.which("orch", path=os.path.dirname(sys.executable))
    if here:
        return str(Path(here).absolute())
    arg0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if arg0 is not None and arg0.name == "orch" and arg0.exists():
        return str(arg0.resolve())
    return None
