"""Retention: prune ticks, observation runs, events, hook events and session files older than the horizon.

Never removed: each task's current observation run (and the tick it starts at), decisions (dispatch, status,
ack, mode, imported events), the last ack, and misalignments. The horizon and the pace follow the tick's own
clock and count, never the wall clock, so a replay with `--now` prunes as a live run does.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from orchestrator.ledger import kv
from orchestrator.ledger.models import Event, HookEvent, Observation, Project, SessionFile, Tick
from orchestrator.timeutil import iso

EVERY = timedelta(hours=1)  # prune once per hour's worth of ticks at the configured interval
BATCH_TICKS = 10000  # a ledger that grew for a year without pruning is caught up a batch per tick
KEEP_EVENT_KINDS = ("dispatch", "status", "ack", "mode", "imported")  # decisions stay while their task does
TABLES = ("observations", "ticks", "events", "hook_events", "session_files")


def every_ticks(cfg) -> int:
    """How many ticks apart a tick prunes: an hour's worth at `tick_interval` (12 at 5 minutes)."""
    seconds = max(1.0, cfg.tick_interval.total_seconds())
    return max(1, math.ceil(EVERY.total_seconds() / seconds))


def prune(s: Session, proj: Project, host: str, cfg, now: datetime, tick_id: int | None = None,
          force: bool = False, keep: timedelta | None = None, batch: int | None = BATCH_TICKS) -> dict | None:
    """Delete what is older than `keep` (default `retention`) before `now`; returns the counts, or None when
    this tick is not due (fewer than `every_ticks` ticks since the last prune). `batch=None`: everything."""
    state = kv.get(s, proj, host, "retention")
    ran = state.get("tick")
    if not force and tick_id is not None and isinstance(ran, int) and 0 <= tick_id - ran < every_ticks(cfg):
        return None
    cutoff = now - (keep if keep is not None else cfg.retention)
    counts: dict[str, int] = dict.fromkeys(TABLES, 0)
    T, O, E = Tick.__table__.c, Observation.__table__, Event.__table__  # Core: no ORM bookkeeping for bulk deletes
    old = (T.project_id == proj.id, T.clock < cutoff)
    first, last = s.execute(select(func.min(T.id), func.max(T.id)).where(*old)).one()
    behind = False
    if first is not None:
        if batch is not None and last - first >= batch:
            last, behind = first + batch - 1, True
        in_batch = (*old, T.id.between(first, last))
        old_ids = select(T.id).where(*in_batch)
        # Runs that ended in these ticks go, except each task's current (latest) run.
        o2 = O.alias("newer")
        newer = exists().where(o2.c.task_id == O.c.task_id, o2.c.tick_id > O.c.tick_id)
        ended = or_(and_(O.c.last_tick_id.is_(None), O.c.tick_id.in_(old_ids)), O.c.last_tick_id.in_(old_ids))
        counts["observations"] = s.execute(delete(O).where(ended, newer)).rowcount
        # A tick that starts a kept run stays (its row is the run's start); the others go.
        unused = (*in_batch, ~exists().where(O.c.tick_id == T.id))
        s.execute(update(E).where(E.c.tick_id.in_(select(T.id).where(*unused))).values(tick_id=None))
        counts["ticks"] = s.execute(delete(Tick.__table__).where(*unused)).rowcount
    last_ack = s.scalar(select(func.max(Event.id)).where(Event.project_id == proj.id, Event.kind == "ack"))
    old_events = delete(Event).where(Event.project_id == proj.id, Event.at < cutoff,
                                     Event.kind.not_in(KEEP_EVENT_KINDS))
    if last_ack is not None:
        old_events = old_events.where(Event.id != last_ack)
    counts["events"] = s.execute(old_events).rowcount
    counts["hook_events"] = s.execute(delete(HookEvent).where(HookEvent.project_id == proj.id,
                                                              HookEvent.at < cutoff)).rowcount
    counts["session_files"] = s.execute(delete(SessionFile).where(
        SessionFile.host == host, SessionFile.updated_at < cutoff)).rowcount
    # Still behind: leave the tick count alone so that the next tick prunes the next batch.
    kv.put(s, proj, host, "retention", {"tick": None if behind else tick_id,
                                        "cutoff": cutoff.isoformat(), "counts": counts, "behind": behind}, now)
    return counts


class _Rollback(Exception):
    """Undo a dry run's deletes, keeping what they counted."""


def ledger_bytes(ledger) -> int | None:
    """The ledger's size on disk: the SQLite file and its WAL, or PostgreSQL's tables with indexes and TOAST."""
    from sqlalchemy import text

    from orchestrator.ledger.engine import sqlite_path
    from orchestrator.ledger.models import Base

    path = sqlite_path(ledger.url)
    if path is not None:
        return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    with ledger.engine.connect() as conn:
        total = 0
        for name in Base.metadata.tables:
            total += conn.execute(text("SELECT coalesce(pg_total_relation_size(to_regclass(:t)), 0)"),
                                  {"t": name}).scalar() or 0
        return total


def vacuum(ledger) -> None:
    """Give SQLite's free pages back to the file system (outside any transaction), and empty the WAL."""
    raw = ledger.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("VACUUM")
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.close()
    finally:
        raw.close()


def prune_ledger(ledger, now: datetime, keep: timedelta | None = None, dry_run: bool = False,
                 compact_runs: bool = True) -> dict:
    """`orch db prune`: under the tick lock, delete what retention allows (all batches at once), merge the
    per-tick observations left from older ledgers into runs, then VACUUM a SQLite ledger; a dry run counts and
    rolls everything back."""
    from orchestrator.errors import UserError
    from orchestrator.ledger.compact import compact
    from orchestrator.ledger.lock import TickSkipped, file_lock, ledger_lock

    cfg = ledger.settings
    keep = keep if keep is not None else cfg.retention
    before = ledger_bytes(ledger)
    result: dict = {"keep_seconds": int(keep.total_seconds()), "cutoff": iso(now - keep), "dry_run": dry_run}
    try:
        with file_lock(ledger.paths, wait=60):
            try:
                with ledger.session() as s:
                    ledger_lock(s, cfg.project, cfg.hostname)
                    proj = ledger.project(s)
                    result["rows"] = prune(s, proj, cfg.hostname, cfg, now, force=True, keep=keep, batch=None)
                    result["merged_into_runs"] = compact(s, proj) if compact_runs else 0  # what is left
                    if dry_run:
                        raise _Rollback
            except _Rollback:
                pass
            if not dry_run and ledger.dialect == "sqlite":
                vacuum(ledger)
    except TickSkipped:
        raise UserError("a tick holds the tick lock: try `orch db prune` again when it is done") from None
    after = ledger_bytes(ledger)
    result.update(bytes_before=before, bytes_after=after,
                  bytes_freed=None if dry_run or ledger.dialect != "sqlite" else max(0, before - after))
    return result


def oldest(s: Session, proj: Project) -> dict:
    """The oldest rows kept: tick, observation run, event, and the oldest tick retention could still remove
    (one that starts no task's current run)."""
    T, O = Tick.__table__.c, Observation.__table__
    o2 = O.alias("newer")
    current_start = exists().where(O.c.tick_id == T.id, ~exists().where(o2.c.task_id == O.c.task_id,
                                                                        o2.c.tick_id > O.c.tick_id))
    prunable = s.scalar(select(func.min(T.clock)).where(T.project_id == proj.id, ~current_start))
    return {
        "tick": s.scalar(select(func.min(Tick.clock)).where(Tick.project_id == proj.id)),
        "observation": s.scalar(select(func.min(Observation.at)).join(Tick, Tick.id == Observation.tick_id)
                                .where(Tick.project_id == proj.id)),
        "event": s.scalar(select(func.min(Event.at)).where(Event.project_id == proj.id)),
        "prunable_tick": prunable,
    }
