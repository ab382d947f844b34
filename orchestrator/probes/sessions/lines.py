"""What every session-log line gives, whatever the agent: a string field read safely, the line count and its time."""

from __future__ import annotations

from orchestrator.redact import redact


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


def plan_steps(items, text_key: str, status_key: str, at: str | None) -> dict | None:
    """A plan's progress from Codex update_plan steps or Claude TodoWrite todos: done, total and the current step."""
    if not isinstance(items, list):
        return None
    steps = [i for i in items if isinstance(i, dict)]
    if not steps:
        return None
    done = sum(1 for i in steps if i.get(status_key) == "completed")
    current = next((i for i in steps if i.get(status_key) == "in_progress"), None)
    if current is None:
        current = next((i for i in steps if i.get(status_key) != "completed"), None)
    index = steps.index(current) + 1 if current is not None else len(steps)
    what = redact((text((current or steps[-1]).get(text_key)) or "")[:200])  # the ledger keeps no secrets either
    return {"done": done, "total": len(steps), "step": index, "text": what[:120], "at": at}
