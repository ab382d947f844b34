"""Retention: prune ticks, observations, events, hook events and session files older than the horizon."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from orchestrator import kv
from orchestrator.db.models import Event, HookEvent, Observation, Project, SessionFile, Task, Tick

EVERY = 3600  # prune at most once an hour
KEEP_EVENT_KINDS = ("dispatch", "status", "ack", "mode", "imported")  # decisions stay while their task does


def prune(s: Session, proj: Project, host: str, cfg, now: datetime, force: bool = False) -> dict | None:
    """Delete what is older than `retention`; returns counts, or None when it ran less than an hour ago."""
    state = kv.get(s, proj, host, "retention")
    wall = time.time()
    if not force and wall - state.get("ran", 0) < EVERY:
        return None
    cutoff = now - cfg.duration("retention")
    counts: dict[str, int] = {}
    last_old_tick = s.scalar(select(func.max(Tick.id)).where(Tick.project_id == proj.id, Tick.clock < cutoff))
    if last_old_tick is not None:
        counts["observations"] = s.execute(delete(Observation).where(
            Observation.tick_id <= last_old_tick,
            Observation.task_id.in_(select(Task.id).where(Task.project_id == proj.id)))).rowcount
        s.execute(Event.__table__.update().where(Event.project_id == proj.id, Event.tick_id <= last_old_tick)
                  .values(tick_id=None))
        counts["ticks"] = s.execute(delete(Tick).where(Tick.project_id == proj.id, Tick.id <= last_old_tick,
                                                       Tick.clock < cutoff)).rowcount
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
    kv.put(s, proj, host, "retention", {"ran": wall, "cutoff": cutoff.isoformat(), "counts": counts}, now)
    return counts
