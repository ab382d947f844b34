"""Retention: prune ticks, observations, events, hook events and session files older than the horizon (never misalignments)."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orchestrator.ledger import kv
from orchestrator.ledger.models import Event, HookEvent, Observation, Project, SessionFile, Tick

EVERY = 3600  # prune at most once an hour
BATCH_TICKS = 10000  # a ledger that grew for a year without pruning is caught up a batch per tick
KEEP_EVENT_KINDS = ("dispatch", "status", "ack", "mode", "imported")  # decisions stay while their task does


def prune(s: Session, proj: Project, host: str, cfg, now: datetime, force: bool = False) -> dict | None:
    """Delete what is older than `retention`; returns counts, or None when it ran less than an hour ago."""
    state = kv.get(s, proj, host, "retention")
    wall = time.time()
    if not force and wall - state.get("ran", 0) < EVERY:
        return None
    cutoff = now - cfg.retention
    counts: dict[str, int] = {}
    old = (Tick.project_id == proj.id, Tick.clock < cutoff)
    first, last = s.execute(select(func.min(Tick.id), func.max(Tick.id)).where(*old)).one()
    behind = False
    if first is not None:
        if last - first >= BATCH_TICKS:
            last, behind = first + BATCH_TICKS - 1, True
        old_ticks = select(Tick.id).where(*old, Tick.id.between(first, last))
        counts["observations"] = s.execute(delete(Observation).where(Observation.tick_id.in_(old_ticks))).rowcount
        s.execute(Event.__table__.update().where(Event.tick_id.in_(old_ticks)).values(tick_id=None))
        counts["ticks"] = s.execute(delete(Tick).where(*old, Tick.id.between(first, last))).rowcount
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
    # Still behind: leave "ran" alone so that the next tick prunes the next batch.
    ran = state.get("ran", 0) if behind else wall
    kv.put(s, proj, host, "retention", {"ran": ran, "cutoff": cutoff.isoformat(), "counts": counts,
                                        "behind": behind}, now)
    return counts
