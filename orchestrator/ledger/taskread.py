"""One task as `orch task show` shows it, read with plain SQL: no ORM objects, and on SQLite no SQLAlchemy at all.

The same statements run through the standard library's sqlite3 (the fast path) or a SQLAlchemy connection
(PostgreSQL, or a SQLite ledger that needs a migration first): named parameters work in both.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Callable

from orchestrator.timeutil import iso

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}  # as ledger/misalign.py ranks them
TASK_JSON = ("allow", "forbid", "gates", "extra", "accept", "brief")
TASK_TIMES = ("created_at", "updated_at", "condition_since", "progress_at", "observed_at", "merged_at", "started_at",
              "review_since")

Query = Callable[[str, dict], list[dict]]  # runs one statement, returns its rows as dicts


def when(value) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite returns text, PostgreSQL an aware datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def doc(value):
    """A stored JSON value (SQLite returns text, PostgreSQL the decoded value)."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def sqlite_query(conn) -> Query:
    """A Query over a sqlite3 connection."""
    def run(sql: str, params: dict) -> list[dict]:
        cur = conn.execute(sql, params)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    return run


def sqlalchemy_query(conn) -> Query:
    """A Query over a SQLAlchemy connection."""
    from sqlalchemy import text

    def run(sql: str, params: dict) -> list[dict]:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]
    return run


def open_sqlite(path) -> "sqlite3.Connection | None":
    """A read-only sqlite3 connection to a ledger file at the code's schema revision; None when it is not one
    (missing, a link, older or newer, unreadable): then the full path opens it, migrating or explaining."""
    import os
    import sqlite3
    import stat

    from orchestrator.ledger.version import HEAD

    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except (OSError, sqlite3.Error):
        return None
    try:
        revisions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        revisions = set()
    if revisions != {HEAD}:
        conn.close()
        return None
    return conn


def project_id(q: Query, name: str) -> int | None:
    rows = q("SELECT id FROM projects WHERE name = :name", {"name": name})
    return rows[0]["id"] if rows else None


def default_branch(q: Query, proj_id: int) -> str:
    return q("SELECT default_branch FROM projects WHERE id = :p", {"p": proj_id})[0]["default_branch"]


def task_row(q: Query, proj_id: int, key: str) -> SimpleNamespace | None:
    """The task's row with times and JSON decoded, attribute by attribute like the model."""
    rows = q("SELECT * FROM tasks WHERE project_id = :p AND key = :k", {"p": proj_id, "k": key})
    if not rows:
        return None
    row = rows[0]
    for name in TASK_JSON:
        row[name] = doc(row.get(name))
    for name in TASK_TIMES:
        row[name] = when(row.get(name))
    return SimpleNamespace(**row)


def history(q: Query, task_id: int, limit: int) -> list[dict]:
    rows = q("SELECT at, kind, from_value, to_value, reason, note, actor FROM events WHERE task_id = :t "
             "ORDER BY id DESC LIMIT :n", {"t": task_id, "n": limit})
    return [{"at": iso(when(e["at"])), "kind": e["kind"], "from": e["from_value"], "to": e["to_value"],
             "reason": e["reason"], "note": e["note"], "actor": e["actor"]} for e in reversed(rows)]


def observations(q: Query, task, limit: int) -> list[dict]:
    """The task's latest observations, one per tick, newest first: each run stands for every tick it covers
    (its host's ok ticks from its first to its last, and those two)."""
    runs = q("SELECT tick_id, last_tick_id, at, condition, reason, evidence FROM observations WHERE task_id = :t "
             "ORDER BY tick_id DESC, id DESC LIMIT :n", {"t": task.id, "n": limit})
    out: list[dict] = []
    for run in runs:
        if len(out) >= limit:
            break
        evidence = doc(run["evidence"])
        seen = {"condition": run["condition"], "reason": run["reason"], "evidence": evidence}
        if run["last_tick_id"] is not None:
            ticks = q("SELECT id, clock FROM ticks WHERE project_id = :p AND host = :h AND id > :a AND id <= :b "
                      "AND (outcome = 'ok' OR id = :b) ORDER BY id DESC LIMIT :n",
                      {"p": task.project_id, "h": task.host, "a": run["tick_id"], "b": run["last_tick_id"],
                       "n": limit - len(out)})
            out += [{"at": iso(when(t["clock"])), "tick": t["id"], **seen} for t in ticks]
        if len(out) < limit:
            out.append({"at": iso(when(run["at"])), "tick": run["tick_id"], **seen})
    return out[:limit]


def sessions(q: Query, task_id: int) -> list[dict]:
    rows = q("SELECT agent, session_id, path, host, last_activity_at, state FROM session_files "
             "WHERE task_id = :t ORDER BY last_activity_at DESC LIMIT 5", {"t": task_id})
    out = []
    for r in rows:
        state = doc(r["state"]) or {}
        out.append({"agent": r["agent"], "session_id": r["session_id"], "path": r["path"], "host": r["host"],
                    "last_activity": iso(when(r["last_activity_at"])), "tokens": state.get("tokens") or {},
                    "subagent": bool(state.get("subagent")),
                    **{k: v for k, v in (state.get("_view") or {}).items() if k in ("state", "observed", "text")}})
    return out


def gate_runs(q: Query, task_id: int) -> list[dict]:
    """The latest run of each gate."""
    latest: dict[str, dict] = {}
    for r in q("SELECT gate, exit_code, timed_out, duration_ms, \"commit\", started_at FROM gate_runs "
               "WHERE task_id = :t ORDER BY id DESC LIMIT 200", {"t": task_id}):
        latest.setdefault(r["gate"], r)
    return [{"gate": g, "exit_code": r["exit_code"], "timed_out": bool(r["timed_out"]),
             "duration_ms": r["duration_ms"], "commit": r["commit"], "at": iso(when(r["started_at"]))}
            for g, r in latest.items()]


def misalignments(q: Query, proj_id: int, task, limit: int = 500) -> list[dict]:
    """The task's misalignments, most severe then newest first (as `orch misalign list` orders them)."""
    rows = q("SELECT id, category, severity, evidence_kind, evidence, created_at, actor, resolved_at, resolved_note, "
             "detail FROM misalignments WHERE project_id = :p AND task_id = :t ORDER BY id DESC LIMIT :n",
             {"p": proj_id, "t": task.id, "n": limit})
    items = []
    for m in rows:
        detail = doc(m["detail"]) or {}
        items.append({"id": m["id"], "task": task.key, "category": m["category"], "severity": m["severity"],
                      "evidence_kind": m["evidence_kind"], "text": m["evidence"], "at": iso(when(m["created_at"])),
                      "actor": m["actor"], "resolved_at": iso(when(m["resolved_at"])),
                      "resolved_note": m["resolved_note"], "label": detail.get("label") or None,
                      "next": detail.get("next") or None, "pointer": detail.get("pointer") or None})
    return sorted(items, key=lambda i: (i["resolved_at"] is not None, SEVERITY_RANK.get(i["severity"], 9), -i["id"]))


def read(q: Query, project: str, key: str, limit: int) -> dict | None:
    """Everything `orch task show` prints, or None when the project or the task is not in the ledger."""
    proj_id = project_id(q, project)
    task = task_row(q, proj_id, key) if proj_id is not None else None
    if task is None:
        return None
    return {"task": task, "default_branch": default_branch(q, proj_id),
            "history": history(q, task.id, limit), "observations": observations(q, task, limit),
            "sessions": sessions(q, task.id), "gate_runs": gate_runs(q, task.id),
            "misalignments": misalignments(q, proj_id, task)}
