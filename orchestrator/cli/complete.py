"""Shell completion values: task ids from the ledger, conditions, fixed choices. Fast and failure-proof: a
completion never prints an error, never waits on a network ledger, and offers nothing rather than something wrong."""

from __future__ import annotations

import os

from orchestrator.classify.evidence import CONDITIONS, OVERALL_ORDER

UNTIL = ("attention", *CONDITIONS, *(o for o in OVERALL_ORDER if o not in CONDITIONS))


def _root_option(ctx, name: str):
    root = ctx.find_root() if ctx is not None else None
    return (root.params or {}).get(name) if root is not None else None


def ledger_task_ids(repo=None, db: str | None = None) -> list[str]:
    """The ids of the project's tasks not cleaned up yet, read from a SQLite ledger with the standard library's
    sqlite3, read-only (a PostgreSQL ledger: none, so that a Tab key never waits on the network)."""
    import sqlite3

    from orchestrator.paths import find_repo
    from orchestrator.report.snapshot import _sqlite_file
    from orchestrator.settings import load_settings

    paths = find_repo(repo)
    settings = load_settings(paths.config)
    path = _sqlite_file(settings.ledger_url(db or os.environ.get("ORCH_DB")), paths)
    if path is None or path.is_symlink() or not path.is_file():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    try:
        rows = conn.execute("SELECT tasks.key FROM tasks JOIN projects ON projects.id = tasks.project_id "
                            "WHERE projects.name = ? AND tasks.status != 'cleaned' ORDER BY tasks.id",
                            (settings.project,)).fetchall()
    finally:
        conn.close()
    return [key for (key,) in rows]


def task_ids(ctx, param, incomplete: str) -> list[str]:
    try:
        keys = ledger_task_ids(_root_option(ctx, "repo"), _root_option(ctx, "db"))
    except Exception:  # noqa: BLE001 - completion offers nothing rather than an error
        return []
    return [k for k in keys if k.startswith(incomplete)]


def fixed(values: tuple[str, ...]):
    def complete(ctx, param, incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


def until(ctx, param, incomplete: str) -> list[str]:
    """`--until a,b,c`: complete the last name of the comma-separated list."""
    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    done = set(head.split(",")) if head else set()
    return [prefix + v for v in UNTIL if v.startswith(last) and v not in done]
