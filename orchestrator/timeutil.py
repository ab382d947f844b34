"""Clock, ISO-8601 timestamps and human durations ("20m", "1h30m")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from orchestrator.errors import UserError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; a naive value (as SQLite returns) is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_iso(text: str, what: str = "time") -> datetime:
    """Parse an ISO-8601 timestamp (a trailing Z is accepted); naive means UTC."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UserError(f"invalid {what} {text!r}: expected ISO-8601 such as 2026-11-24T08:00:00Z") from None
    return as_utc(value)


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """Parse '90s', '20m', '1h30m', '2d' (or a bare number of seconds)."""
    raw = str(text).strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        seconds = float(raw)
    else:
        pos, seconds = 0, 0.0
        for match in _PART.finditer(raw):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(raw) or not raw:
            raise UserError(f"invalid {what} {text!r}: use a number with a unit, such as 90s, 20m, 1h30m or 2d")
    if seconds <= 0:
        raise UserError(f"invalid {what} {text!r}: must be more than zero")
    return timedelta(seconds=seconds)


# What format_duration writes ("45s", "12m", "3h05m", "2d04h"): texts that differ only in these are the same fact
# seen later ("last progress 5m ago" and "last progress 10m ago").
DURATION_WORD = re.compile(r"\b\d+(?:d\d\dh|h\d\dm|[smhd])\b")


def format_duration(delta: timedelta | float | None) -> str:
    """Compact, deterministic duration: 45s, 12m, 3h05m, 2d04h."""
    if delta is None:
        return "?"
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if seconds < 0:
        seconds = 0
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h" if hours else f"{days}d"


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a Z, second precision; None stays None."""
    if value is None:
        return None
    return as_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_iso_lenient(text) -> datetime | None:
    """Parse a timestamp found in someone else's file: None instead of an error when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(raw))
    except ValueError:
        return None
