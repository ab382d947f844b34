"""Heartbeat bookkeeping: ticks skipped or failed outside the lock, gaps between ticks, missed wake-ups."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.errors import UserError
from orchestrator.system.clock import elapsed_since
from orchestrator.settings import exact_duration
from orchestrator.system.files import append_own, own_dir
from orchestrator.ledger import kv
from orchestrator.ledger.models import Event, Project, Tick
from orchestrator.ledger.record import add_event
from orchestrator.timeutil import as_utc, format_duration, iso, parse_iso_lenient, utcnow


def tick_log(state: Path) -> Path:
    return state / "logs" / "ticks.jsonl"


def note_outcome(state: Path, outcome: str, error: str | None = None, clock: datetime | None = None) -> None:
    """Remember a tick that could not record itself (skipped by the lock, or failed); never raises."""
    rec = {"at": iso(utcnow()), "event": outcome, "clock": iso(clock) if clock else None, "outcome": outcome,
           "error": (error or "")[:300] or None}
    try:
        path = tick_log(state)
        own_dir(path.parent, 0o700)
        append_own(path, (json.dumps(rec) + "\n").encode())
    except (OSError, UserError):
        pass


def outcomes_cursor(s: Session, proj: Project, host: str) -> dict:
    """Where the last tick stopped reading the tick log (the tick reads it with probes/appendlog.py)."""
    return kv.get(s, proj, host, "tick_log")


def ingest_outcomes(s: Session, proj: Project, host: str, records: list[dict], cursor: dict, new_cursor: dict,
                    now: datetime) -> None:
    """Turn the noted skipped and failed ticks (read from the tick log since `cursor`) into tick rows."""
    for rec in records:
        at = parse_iso_lenient(rec.get("at"))
        if at is None or rec.get("outcome") not in ("skipped", "failed"):
            continue
        clock = parse_iso_lenient(rec.get("clock")) or at
        s.add(Tick(project_id=proj.id, host=host, started_at=at, clock=clock, finished_at=at,
                   outcome=rec["outcome"], error=rec.get("error")))
    if new_cursor != cursor:
        kv.put(s, proj, host, "tick_log", new_cursor, now)


def previous_ok_tick(s: Session, proj: Project, host: str, exclude: int | None) -> Tick | None:
    q = select(Tick).where(Tick.project_id == proj.id, Tick.host == host, Tick.outcome == "ok")
    if exclude is not None:
        q = q.where(Tick.id != exclude)
    return s.scalars(q.order_by(Tick.id.desc()).limit(1)).first()


TICK_CLOCK = "tick_clock"  # kv per host: the boot clock's reading at this host's last tick


def record_gap(s: Session, proj: Project, host: str, cfg, now: datetime, tick: Tick, boot: dict | None = None) -> None:
    """An event when the time since this host's previous tick exceeds the interval plus grace.

    Judged by this host's own tick sequence: the previous tick is the one before this in id order. The time
    between them comes from the boot clock when both ticks read it in one boot (`boot`: this tick's reading,
    None when the clock is set by hand), since a wall clock that jumps ahead or back would invent a gap or hide
    one; else from the wall clock, where a tick stamped after this one (the clock went back) is no gap."""
    prev = previous_ok_tick(s, proj, host, tick.id)
    before = kv.get(s, proj, host, TICK_CLOCK)
    if boot is not None:
        kv.put(s, proj, host, TICK_CLOCK, {"tick": tick.id, **boot}, now)
    if prev is None:
        return
    then = before if before.get("tick") == prev.id else None
    gap = elapsed_since(as_utc(prev.clock), now, then, boot)
    limit = cfg.tick_interval + cfg.tick_grace
    if gap is not None and gap > limit:
        note = (f"no tick on {host} from {iso(prev.clock)} to {iso(now)} ({format_duration(gap)}, expected every "
                f"{exact_duration(cfg.tick_interval)}): the scheduler or the machine stopped")
        add_event(s, proj, now, "heartbeat", reason="missed-ticks", from_value=iso(prev.clock), to_value=iso(now),
                  note=note, host=host, tick=tick, data={"gap_seconds": int(gap.total_seconds())})


def record_missed_wakeup(s: Session, proj: Project, host: str, info: dict, ack: Event | None, now: datetime,
                         tick: Tick) -> None:
    """One `missed-wakeup` event per unacknowledged stretch, so `Since last ack` shows it once."""
    q = select(Event.id).where(Event.project_id == proj.id, Event.kind == "heartbeat", Event.reason == "missed-wakeup")
    if ack is not None:
        q = q.where(Event.id > ack.id)
    if s.scalars(q.limit(1)).first() is not None:
        return
    note = (f"missed wake-up: {info['task']} has needed the orchestrator ({info['condition']}) for {info['for']}"
            f" with no `orch ack`")
    add_event(s, proj, now, "heartbeat", reason="missed-wakeup", note=note, host=host, tick=tick, data=info)
