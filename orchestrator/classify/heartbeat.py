"""Pure: heartbeat health from its facts and the clock: missed ticks, missed wake-ups, a stopped heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.settings import Settings, exact_duration
from orchestrator.timeutil import format_duration, iso, parse_iso_lenient


def missed_wakeup(attention: list[dict], ack_at: datetime | None, now: datetime, missed_after: timedelta) -> dict | None:
    """The oldest need the orchestrator has not acknowledged for longer than `missed_after`, if any (pure)."""
    waiting = []
    for t in attention:
        since = parse_iso_lenient(t.get("since"))
        if since is None:
            continue
        unseen_since = max(since, ack_at) if ack_at else since
        if now - unseen_since > missed_after:
            waiting.append((unseen_since, t))
    if not waiting:
        return None
    since, t = min(waiting, key=lambda x: x[0])
    return {"task": t.get("id"), "condition": t.get("condition"), "since": iso(since),
            "for": format_duration(now - since), "count": len(waiting)}


def assess(f: dict, cfg: Settings, now: datetime, attention: list[dict]) -> dict:
    """Pure: health facts and the clock give the report's health block; `attention` lists the views that need
    the orchestrator."""
    prev = parse_iso_lenient(f.get("previous_tick_at"))
    wake = missed_wakeup(attention, parse_iso_lenient(f.get("last_ack_at")), now, cfg.missed_after)
    out: dict = {
        "interval": exact_duration(cfg.tick_interval),
        "previous_tick_at": f.get("previous_tick_at"),
        "gap_seconds": int((now - prev).total_seconds()) if prev else None,
        "last_ack_at": f.get("last_ack_at"),
        "missed_ticks": list(f.get("missed_ticks") or []),
        "missed_wakeup": wake,
        "skipped_ticks": f.get("skipped_ticks", 0),
        "failed_ticks": f.get("failed_ticks", 0),
        "last_failure": f.get("last_failure"),
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


def stale_note(last_ok_tick_at: str | None, cfg: Settings, now: datetime) -> str | None:
    """Pure: the note for a heartbeat that stopped, from the time of this host's last good tick."""
    last = parse_iso_lenient(last_ok_tick_at)
    limit = cfg.tick_interval + cfg.tick_grace
    if last is None:
        return "no tick has run yet on this host: run `orch tick`, or schedule it with `orch schedule`"
    gap = now - last
    if gap > limit:
        return (f"the last tick on this host was {format_duration(gap)} ago (expected every {exact_duration(cfg.tick_interval)}): "
                "is the scheduler running? (`orch doctor`)")
    return None
