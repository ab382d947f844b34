"""Heartbeat health from the ledger: gaps between ticks, missed wake-ups, skipped and failed ticks, last ack."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.settings import exact_duration
from orchestrator.settings import Settings
from orchestrator.ledger.models import Event, Project, Tick
from orchestrator.ledger.heartbeat import missed_wakeup, previous_ok_tick
from orchestrator.timeutil import as_utc, format_duration, iso


def last_ack(s: Session, proj: Project) -> Event | None:
    return s.scalars(
        select(Event).where(Event.project_id == proj.id, Event.kind == "ack").order_by(Event.id.desc()).limit(1)
    ).first()


def compute(s: Session, proj: Project, cfg: Settings, now: datetime, host: str, attention: list[dict],
            current_tick: int | None = None) -> dict:
    """Health facts for the report; `attention` lists the task views that need the orchestrator."""
    prev = previous_ok_tick(s, proj, host, current_tick)
    ack = last_ack(s, proj)
    ack_at = as_utc(ack.at) if ack else None
    window_start = ack_at or (now - timedelta(days=1))
    gaps = s.scalars(select(Event).where(Event.project_id == proj.id, Event.kind == "heartbeat",
                                         Event.reason == "missed-ticks", Event.id > (ack.id if ack else 0))
                     .order_by(Event.id.desc()).limit(5))
    counts = dict(s.execute(select(Tick.outcome, func.count()).where(
        Tick.project_id == proj.id, Tick.host == host, Tick.outcome.in_(("skipped", "failed")),
        Tick.started_at >= window_start).group_by(Tick.outcome)).all())
    last_failure = s.scalars(select(Tick).where(Tick.project_id == proj.id, Tick.host == host,
                                                Tick.outcome == "failed", Tick.started_at >= window_start)
                             .order_by(Tick.id.desc()).limit(1)).first()
    wake = missed_wakeup(attention, ack_at, now, cfg.missed_after)
    out: dict = {
        "interval": exact_duration(cfg.tick_interval),
        "previous_tick_at": iso(prev.clock) if prev else None,
        "gap_seconds": int((now - as_utc(prev.clock)).total_seconds()) if prev else None,
        "last_ack_at": iso(ack.at) if ack else None,
        "missed_ticks": [{"from": g.from_value, "to": g.to_value, "gap_seconds": (g.data or {}).get("gap_seconds")}
                         for g in gaps],
        "missed_wakeup": wake,
        "skipped_ticks": counts.get("skipped", 0),
        "failed_ticks": counts.get("failed", 0),
        "last_failure": last_failure.error if last_failure else None,
        "problems": [],
    }
    p = out["problems"]
    for g in out["missed_ticks"]:
        p.append(f"missed heartbeat: no tick for {format_duration(g['gap_seconds'])} until {g['to']}")
    if wake:
        p.append(f"missed wake-up: {wake['task']} ({wake['condition']}) waits {wake['for']} with no `orch ack`")
    if out["failed_ticks"]:
        p.append(f"{out['failed_ticks']} failed tick(s), last: {out['last_failure']}")
    return out


def staleness(s: Session, proj: Project, cfg: Settings, now: datetime, host: str) -> str | None:
    """For commands that do not tick: say so when the last tick is older than interval plus grace."""
    prev = previous_ok_tick(s, proj, host, None)
    limit = cfg.tick_interval + cfg.tick_grace
    if prev is None:
        return "no tick has run yet on this host: run `orch tick`, or schedule it with `orch schedule`"
    gap = now - as_utc(prev.clock)
    if gap > limit:
        return (f"ticks stopped: the last tick on this host was {format_duration(gap)} ago (expected every {exact_duration(cfg.tick_interval)}): "
                "is the scheduler running? (`orch doctor`)")
    return None
