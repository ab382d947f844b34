"""Heartbeat health from the ledger: gaps between ticks, the last acknowledgement, skipped ticks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.config import Config
from orchestrator.db.models import Event, Project, Tick
from orchestrator.timeutil import as_utc, iso


def last_ack(s: Session, proj: Project) -> Event | None:
    return s.scalars(
        select(Event).where(Event.project_id == proj.id, Event.kind == "ack").order_by(Event.id.desc()).limit(1)
    ).first()


def compute(s: Session, proj: Project, cfg: Config, now: datetime, host: str, attention: bool,
            current_tick: int | None = None) -> dict:
    """Health facts for the report; `attention` says whether something needs the orchestrator."""
    prev = s.scalars(
        select(Tick).where(Tick.project_id == proj.id, Tick.host == host, Tick.id != (current_tick or -1))
        .order_by(Tick.id.desc()).limit(1)
    ).first()
    ack = last_ack(s, proj)
    out: dict = {
        "interval": cfg.tick_interval,
        "previous_tick_at": iso(prev.clock) if prev else None,
        "gap_seconds": int((now - as_utc(prev.clock)).total_seconds()) if prev else None,
        "last_ack_at": iso(ack.at) if ack else None,
        "missed_ticks": [],
        "missed_wakeup": False,
        "skipped_ticks": 0,
        "failed_ticks": 0,
        "problems": [],
    }
    return out
