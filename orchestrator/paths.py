"""Find the integration checkout and orch's state folder from any worktree of a repository."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import UserError

STATE_DIR = ".orch"


@dataclass(frozen=True)
class RepoPaths:
    """Where the integration checkout and orch's state live."""

    root: Path  # the main worktree (integration checkout)
    common_dir: Path  # its .git directory

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    @property
    def ledger(self) -> Path:
        return self.state / "ledger.db"

    @property
    def config(self) -> Path:
        return self.state / "config.toml"

    @property
    def reports(self) -> Path:
        return self.state / "reports"

    @property
    def lock(self) -> Path:
        return self.state / "tick.lock"


def find_repo(start: str | Path | None = None) -> RepoPaths:
    """Resolve the integration checkout of the repository containing `start` (default: cwd)."""
    where = Path(start or os.getcwd()).expanduser()
    if not where.exists():
        raise UserError(f"{where}: no such directory")
    if not where.is_dir():
        raise UserError(f"{where}: not a directory")
    from orchestrator.system.gitrun import run_git  # subprocess: only when a command needs the repository

    res = run_git(where, "rev-parse", "--path-format=absolute", "--git-common-dir", timeout=15)
    if res.timed_out:
        raise UserError(f"{where}: git did not answer in time")
    if not res.ok:
        raise UserError(f"{where}: not a git repository (run orch inside a repository or pass --repo)")
    common = Path(res.text().strip()).resolve()
    if common.name != ".git":
        raise UserError(f"{where}: repository at {common} has no main worktree (bare repositories are not supported)")
    return RepoPaths(root=common.parent, common_dir=common)
