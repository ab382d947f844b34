"""The tick's head start: read what to probe with sqlite3 and start git before SQLAlchemy, Jinja2 and the rest load.

The git probe is the one part of a tick that waits on other processes. `orch tick` starts it here, on a
thread, from the task rows read with the standard library, then imports and opens everything else while git
runs. The tick proper (tick.py) re-reads the tasks under its lock and uses this probe only if it was started
for exactly the same tasks and default branch; otherwise it probes again. A PostgreSQL ledger, a ledger that
cannot be read this way, or any error simply means no head start.
"""

from __future__ import annotations

import json
import threading

from orchestrator.probes.git import RepoProbe, TaskRef, probe_repo

DECIDED = ("merged", "rejected", "abandoned")  # ledger.models.DECIDED_STATUSES (a test keeps them equal)


def task_ref(key: str, branch: str, worktree: str | None, pending_id: str | None, base_commit: str | None,
             extra: dict | None, status: str) -> TaskRef:
    """What the git probe needs to know about a task, from its row."""
    return TaskRef(key=key, branch=branch, worktree=worktree, pending_id=pending_id, base_commit=base_commit,
                   needs_base=bool((extra or {}).get("base_provisional")), need_status=status not in DECIDED)


class HeadStart:
    """A git probe running on a thread for the tasks the ledger held when the command started."""

    def __init__(self, refs: list[TaskRef], default_branch: str, args: tuple):
        self.refs, self.default_branch = refs, default_branch
        self._result: RepoProbe | None = None
        self._thread = threading.Thread(target=self._run, args=args, name="orch-git-probe", daemon=True)
        self._thread.start()

    def _run(self, root, timeout: float, workers: int) -> None:
        try:
            self._result = probe_repo(root, self.refs, self.default_branch, timeout=timeout, workers=workers)
        except Exception:  # noqa: BLE001 - the tick probes again by itself
            self._result = None

    def take(self, refs: list[TaskRef], default_branch: str) -> RepoProbe | None:
        """The probe, if it was started for these tasks and this default branch (waiting for it), else None."""
        if refs != self.refs or default_branch != self.default_branch:
            return None
        self._thread.join()
        return self._result


def start(paths, settings, db_url: str | None) -> HeadStart | None:
    """Start the git probe from the SQLite ledger's task rows; None when that cannot be done cheaply."""
    import sqlite3

    from orchestrator.report.snapshot import _sqlite_file

    db = _sqlite_file(settings.ledger_url(db_url), paths)
    if db is None or not db.is_file() or db.is_symlink():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        proj = conn.execute("SELECT id, default_branch FROM projects WHERE name = ?", (settings.project,)).fetchone()
        if proj is None:
            return None
        rows = conn.execute("SELECT key, branch, worktree, pending_id, base_commit, extra, status FROM tasks "
                            "WHERE project_id = ? AND host = ? AND status != 'cleaned' ORDER BY id",
                            (proj[0], settings.hostname)).fetchall()
        refs = [task_ref(k, b, w, p, base, json.loads(extra) if extra else None, st)
                for k, b, w, p, base, extra, st in rows]
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        conn.close()
    return HeadStart(refs, proj[1], (paths.root, settings.git_timeout.total_seconds(), settings.workers))


_EARLY: tuple | None = None  # (repository root, --db, HeadStart) started by the console entry point


def start_early(repo: str | None, db_url: str | None) -> None:
    """Start the head start from the console entry point, before the CLI is imported; never raises (the CLI
    reports any problem with the repository or the settings itself)."""
    global _EARLY
    try:
        from orchestrator.paths import find_repo
        from orchestrator.settings import load_settings

        paths = find_repo(repo)
        if paths.state.is_dir():
            head = start(paths, load_settings(paths.config), db_url)
            if head is not None:
                _EARLY = (paths.root, db_url, head)
    except Exception:  # noqa: BLE001
        _EARLY = None


def claim(root, db_url: str | None) -> HeadStart | None:
    """The head start the entry point began for this repository and ledger option, once."""
    global _EARLY
    early, _EARLY = _EARLY, None
    if early is not None and early[0] == root and early[1] == db_url:
        return early[2]
    return None
