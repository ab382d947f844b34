"""Is the heartbeat wedged? A tick lock held past its time limit, and ticks being skipped (stdlib only, read only)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from orchestrator.system.files import read_regular

TAIL = 256 << 10  # only the end of ticks.jsonl is read


def owner_file(state: Path) -> Path:
    """Written by the tick lock's holder: its pid, when it started and its time limit."""
    return Path(state) / "tick.owner"


def overdue_holder(state: Path, default_limit: float) -> dict | None:
    """The live process holding the tick lock past its time limit, if any (never takes the lock)."""
    try:
        info = json.loads(read_regular(owner_file(state), 4096))
        pid, started = int(info["pid"]), float(info["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    limit = float(info.get("limit") or default_limit)
    age = time.time() - started
    if age <= limit:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # killed without clean-up: the lock went with it
    except PermissionError:
        pass
    return {"pid": pid, "held_seconds": int(age), "limit_seconds": int(limit)}


def _duration(seconds: float) -> str:
    from orchestrator.timeutil import format_duration

    return format_duration(seconds)


def hung_tick_problem(state: Path, default_limit: float) -> str | None:
    """One line for `orch status` and `orch doctor` when a tick holds the lock past its time limit."""
    h = overdue_holder(state, default_limit)
    if h is None:
        return None
    return (f"the tick lock is held by process {h['pid']} for {_duration(h['held_seconds'])}, past a tick's "
            f"time limit ({_duration(h['limit_seconds'])}): that tick is hung and every later tick is skipped "
            f"(kill {h['pid']})")


def tick_limit(cfg) -> float:
    """How long one tick may take: an interval plus the grace (after that, the next tick would skip)."""
    return (cfg.tick_interval + cfg.tick_grace).total_seconds()


def _parse(value) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def noted_since(state: Path, since: str | None) -> dict[str, int]:
    """Skipped and failed ticks noted in logs/ticks.jsonl after `since` (the last good tick), by outcome."""
    path = Path(state) / "logs" / "ticks.jsonl"
    try:
        size = os.lstat(path).st_size
        data = read_regular(path, TAIL, max(0, size - TAIL))
    except OSError:
        return {}
    after = _parse(since) if since else None
    out: dict[str, int] = {}
    for line in data.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or rec.get("outcome") not in ("skipped", "failed"):
            continue
        at = _parse(rec.get("at"))
        if at is None or (after is not None and at <= after):
            continue
        out[rec["outcome"]] = out.get(rec["outcome"], 0) + 1
    return out


def live_problems(state: Path, cfg, last_ok_tick_at: str | None) -> list[str]:
    """What `orch status` adds to the last tick's health: a hung tick holding the lock, ticks being skipped."""
    out = []
    hung = hung_tick_problem(state, tick_limit(cfg))
    if hung:
        out.append(hung)
    noted = noted_since(state, last_ok_tick_at)
    if noted.get("skipped"):
        out.append(f"ticks are being skipped: {noted['skipped']} since the last recorded tick, because another "
                   "tick held the lock")
    if noted.get("failed"):
        out.append(f"{noted['failed']} tick(s) failed since the last recorded tick (see .orch/logs/ticks.jsonl)")
    return out
