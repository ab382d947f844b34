"""Pure: heartbeat health from its facts and the clock: missed ticks, missed wake-ups, a stopped heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.settings import Settings, exact_duration
from orchestrator.timeutil import format_duration, iso, parse_iso_lenient
from orchestrator.system.clock import elapsed_since


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


AHEAD_TOLERANCE = timedelta(seconds=5)  # clocks of one host disagree by less than this without being wrong


def ahead_of(stamp: datetime | None, now: datetime) -> timedelta | None:
    """How far `stamp` is ahead of `now`, when it is (beyond a few seconds of jitter)."""
    return stamp - now if stamp is not None and stamp - now > AHEAD_TOLERANCE else None


def assess(f: dict, cfg: Settings, now: datetime, attention: list[dict]) -> dict:
    """Pure: health facts and the clock give the report's health block; `attention` lists the views that need
    the orchestrator."""
    prev = parse_iso_lenient(f.get("previous_tick_at"))
    ahead = ahead_of(prev, now)
    wake = missed_wakeup(attention, parse_iso_lenient(f.get("last_ack_at")), now, cfg.missed_after)
    out: dict = {
        "interval": exact_duration(cfg.tick_interval),
        "previous_tick_at": f.get("previous_tick_at"),
        "gap_seconds": max(0, int((now - prev).total_seconds())) if prev else None,  # never negative
        "previous_tick_ahead_seconds": int(ahead.total_seconds()) if ahead else None,
        "last_ack_at": f.get("last_ack_at"),
        "missed_ticks": list(f.get("missed_ticks") or []),
        "missed_wakeup": wake,
        "skipped_ticks": f.get("skipped_ticks", 0),
        "failed_ticks": f.get("failed_ticks", 0),
        "last_failure": f.get("last_failure"),
        "problems": [],
    }
    p = out["problems"]
    if ahead:
        p.append(f"the previous tick on this host is stamped {format_duration(ahead)} in the future: this host's "
                 "clock jumped (check its time sync)")
    for g in out["missed_ticks"]:
        p.append(f"missed heartbeat: no tick for {format_duration(g['gap_seconds'])} until {g['to']}")
    if wake:
        p.append(f"missed wake-up: {wake['task']} ({wake['condition']}) waits {wake['for']} with no `orch ack`")
    if out["failed_ticks"]:
        p.append(f"{out['failed_ticks']} failed tick(s), last: {out['last_failure']}")
    return out


def stale_note(f: dict, cfg: Settings, now: datetime, boot_now: dict | None = None) -> str | None:
    """Pure: the note for a heartbeat that stopped, from this host's last good tick (health facts `f`).

    How long ago that tick ran comes from the boot clock when it can (a clock that jumped does not matter),
    else from the wall clock; a tick stamped in the future is said so, and then judged by the newest tick
    stamped before now (the ticks' own order), so that a stopped scheduler is still reported on time."""
    last = parse_iso_lenient(f.get("last_ok_tick_at"))
    limit = cfg.tick_interval + cfg.tick_grace
    every = exact_duration(cfg.tick_interval)
    if last is None:
        return "no tick has run yet on this host: run `orch tick`, or schedule it with `orch schedule`"
    ahead = ahead_of(last, now)
    stamped = f"stamped {format_duration(ahead)} in the future, " if ahead else ""
    gap = elapsed_since(last, now, f.get("last_ok_tick_boot"), boot_now)
    if gap is None:  # stamped in the future, no boot clock: the last tick stamped before now is the reference
        sane = parse_iso_lenient(f.get("last_sane_tick_at"))
        if sane is None:
            return (f"the last tick on this host is {stamped}and no earlier one says when ticks last ran: the clock "
                    f"went back (check its time sync); if no tick follows within {every}, the scheduler stopped")
        gap = now - sane
        if gap > limit:
            return (f"ticks stopped: the last tick on this host is {stamped}and the one before it ran "
                    f"{format_duration(gap)} ago (expected every {every}): is the scheduler running? (`orch doctor`)")
        return None
    if gap > limit:
        return (f"ticks stopped: the last tick on this host ({stamped}by its clock) ran {format_duration(gap)} ago "
                if ahead else f"ticks stopped: the last tick on this host was {format_duration(gap)} ago ") + \
            f"(expected every {every}): is the scheduler running? (`orch doctor`)"
    return None


def ahead_note(f: dict, now: datetime) -> str | None:
    """Pure: a problem line when this host's last tick is stamped ahead of the clock."""
    ahead = ahead_of(parse_iso_lenient(f.get("last_ok_tick_at")), now)
    if ahead is None:
        return None
    return (f"last tick is stamped {format_duration(ahead)} in the future: this host's clock was ahead then, or "
            "is behind now (check its time sync)")
