"""Heartbeat health, the ledger side: the facts it rests on (gaps between ticks, skipped and failed ticks, last ack)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.ledger.models import Event, Project, Tick
from orchestrator.ledger import kv
from orchestrator.ledger.heartbeat import TICK_CLOCK, previous_ok_tick
from orchestrator.timeutil import as_utc, iso


def last_ack(s: Session, proj: Project) -> Event | None:
    return s.scalars(
        select(Event).where(Event.project_id == proj.id, Event.kind == "ack").order_by(Event.id.desc()).limit(1)
    ).first()


def facts(s: Session, proj: Project, now: datetime, host: str, current_tick: int | None = None) -> dict:
    """What heartbeat health rests on, read from the ledger as plain data (JSON-able, for the status cache)."""
    prev = previous_ok_tick(s, proj, host, current_tick)
    last = prev if current_tick is None else previous_ok_tick(s, proj, host, None)
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
    mine = (Tick.project_id == proj.id, Tick.host == host, Tick.outcome == "ok")
    boot = kv.get(s, proj, host, TICK_CLOCK) if last else {}
    sane = last
    if last is not None and as_utc(last.clock) > now:  # stamped ahead: the newest one stamped before now
        sane = s.scalars(select(Tick).where(*mine, Tick.clock <= now).order_by(Tick.id.desc()).limit(1)).first()
    return {
        "previous_tick_at": iso(prev.clock) if prev else None,
        "last_ok_tick_at": iso(last.clock) if last else None,
        "last_ok_tick_boot": {k: boot.get(k) for k in ("boot", "up")} if last and boot.get("tick") == last.id else None,
        "last_sane_tick_at": iso(sane.clock) if sane else None,
        "last_ack_at": iso(ack.at) if ack else None,
        "missed_ticks": [{"from": g.from_value, "to": g.to_value, "gap_seconds": (g.data or {}).get("gap_seconds")}
                         for g in gaps],
        "skipped_ticks": counts.get("skipped", 0),
        "failed_ticks": counts.get("failed", 0),
        "last_failure": last_failure.error if last_failure else None,
    }
