"""What every session-log line gives, whatever the agent: a string field read safely, the line count and its time."""

from __future__ import annotations


def text(value) -> str | None:
    """`value` when it is a string, else None: the agents' files are read leniently."""
    return value if isinstance(value, str) else None


def begin(st: dict, obj: dict) -> str:
    """Count the line, note its timestamp, and return its `type` ("?" when it has none)."""
    st["lines"] += 1
    ts = text(obj.get("timestamp"))
    if ts:
        st["last_ts"] = ts
    return text(obj.get("type")) or "?"
