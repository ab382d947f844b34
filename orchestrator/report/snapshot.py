"""The status cache: the facts `orch status` and `orch task list` show, saved after each ledger write.

Every write transaction stamps a new random token in the ledger (ledger/connect.py). After a write, orch
gathers the status facts and saves them with the token they were read under, in `.orch/cache/status.json`.
A reader checks the token with the standard library's sqlite3 (no SQLAlchemy, no ORM) and composes the
context with the same pure code as the full path (report/context.py `compose`), so the cached answer equals
the full one. A token that differs, a missing or broken file, or a PostgreSQL ledger all fall back to the
full path, which then refreshes the cache: the cache can make a command fast, never wrong.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from orchestrator.paths import RepoPaths
from orchestrator.settings import Settings

VERSION = 2
FILE = Path("cache") / "status.json"


def cache_path(paths: RepoPaths) -> Path:
    return paths.state / FILE


def gather(ledger, s, now: datetime) -> dict:
    """The facts of the full `orch status` path: the latest verdicts with the last good tick's health."""
    from sqlalchemy import select

    from orchestrator.ledger.models import Tick
    from orchestrator.report import context as report_context

    proj = ledger.project(s)
    last = s.scalars(select(Tick).where(Tick.project_id == proj.id, Tick.outcome == "ok")
                     .order_by(Tick.id.desc()).limit(1)).first()
    return report_context.gather(s, proj, now, ledger.settings.hostname, tick_no=last.id if last else None,
                                 probe_health=dict(last.health or {}) if last else {},
                                 verdicts_at=last.clock if last else None, tick_host=last.host if last else None)


def status_context(facts: dict, settings: Settings, now: datetime) -> dict:
    """Pure: the context `orch status` prints, with a note first when the heartbeat has stopped."""
    from orchestrator.classify.heartbeat import ahead_note, stale_note
    from orchestrator.report.compose import compose
    from orchestrator.system.clock import boot_clock

    ctx = compose(facts, settings, now)
    for note in (ahead_note(facts["health"], now), stale_note(facts["health"], settings, now, boot_clock())):
        if note:
            ctx["health"]["problems"].insert(0, note)
    return ctx


def _read_token(s, ledger) -> str | None:
    from orchestrator.ledger import kv
    from orchestrator.ledger.connect import GENERATION_HOST, GENERATION_KEY

    proj = ledger.project(s)
    return kv.get(s, proj, GENERATION_HOST, GENERATION_KEY).get("token")


def save(ledger, now: datetime | None = None) -> dict | None:
    """Gather the status facts under the current token and save them; returns the facts, or None when
    nothing was saved (PostgreSQL, no token yet, or a failure: best effort, never raises)."""
    from orchestrator.ledger.engine import sqlite_path
    from orchestrator.system.files import write_atomic
    from orchestrator.timeutil import utcnow

    ledger.wrote = False
    if sqlite_path(ledger.url) is None:
        return None  # PostgreSQL: other machines write too, and checking the token would cost a driver import
    try:
        with ledger.session(readonly=True) as s:
            token = _read_token(s, ledger)
            if not token:
                return None
            facts = gather(ledger, s, now or utcnow())
        doc = {"version": VERSION, "token": token, "project": ledger.settings.project,
               "host": ledger.settings.hostname, "facts": facts}
        path = cache_path(ledger.paths)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        write_atomic(path, json.dumps(doc, default=str), mode=0o600)
        return facts
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only a slower next command
        return None


def save_facts(ledger, facts: dict, token: str | None) -> bool:
    """Save facts gathered inside the write transaction that stamped `token` (the tick's own): no second read.
    A later write stamps another token, so these facts can never pass for its state. Best effort."""
    from orchestrator.ledger.engine import sqlite_path
    from orchestrator.system.files import write_atomic

    if not token or sqlite_path(ledger.url) is None:
        return False
    try:
        doc = {"version": VERSION, "token": token, "project": ledger.settings.project,
               "host": ledger.settings.hostname, "facts": facts}
        path = cache_path(ledger.paths)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        write_atomic(path, json.dumps(doc, default=str), mode=0o600)
        ledger.wrote = False
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only a slower next command
        return False


def load(paths: RepoPaths, settings: Settings, db_url: str | None) -> dict | None:
    """The cached facts when they are current for this ledger, else None (then take the full path)."""
    url = settings.ledger_url(db_url)
    db = _sqlite_file(url, paths)
    if db is None or not db.is_file():
        return None
    try:
        with open(cache_path(paths), encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or doc.get("project") != settings.project \
            or doc.get("host") != settings.hostname or not isinstance(doc.get("facts"), dict):
        return None
    token = _current_token(db, settings.project)
    return doc["facts"] if token is not None and token == doc.get("token") else None


def _sqlite_file(url: str | None, paths: RepoPaths) -> Path | None:
    """The SQLite file of a ledger URL, without SQLAlchemy; None for anything else (or anything unusual)."""
    if not url:
        return paths.state / "ledger.db"
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    raw = url[len(prefix):]
    if not raw or raw == ":memory:" or raw.startswith("file:"):
        return None
    return Path(raw) if os.path.isabs(raw) else paths.root / raw


def _current_token(db: Path, project: str) -> str | None:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT kv.value FROM kv JOIN projects ON projects.id = kv.project_id "
                           "WHERE projects.name = ? AND kv.host = '*' AND kv.key = 'generation'",
                           (project,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    if row is None:
        return None
    try:
        value = json.loads(row[0]) if isinstance(row[0], str) else None
    except ValueError:
        return None
    return value.get("token") if isinstance(value, dict) else None
