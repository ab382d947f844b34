"""Budget overruns for `orch history`: each time a task went over its runtime or review budget, per task and per day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger.budgets import OVERRUN_EVENT
from orchestrator.ledger.models import Event, Project, Task
from orchestrator.timeutil import as_utc, format_duration, iso

MAX_EVENTS = 5000


def load(s: Session, proj: Project, since: datetime, until: datetime, task_key: str | None = None) -> dict:
    """`{"per_task": [{task, runtime, review, overruns: [...]}], "per_day": [{day, runtime, review}], "total"}`."""
    q = (select(Event, Task.key).join(Task, Task.id == Event.task_id)
         .where(Event.project_id == proj.id, Event.kind == OVERRUN_EVENT, Event.at > since, Event.at <= until))
    if task_key is not None:
        q = q.where(Task.key == task_key)
    tasks: dict[str, dict] = {}
    days: dict[str, dict] = {}
    total = 0
    for ev, key in s.execute(q.order_by(Event.id).limit(MAX_EVENTS)):
        kind = ev.to_value if ev.to_value in ("runtime", "review") else "runtime"
        data = ev.data or {}
        entry = tasks.setdefault(key, {"task": key, "runtime": 0, "review": 0, "overruns": []})
        entry[kind] += 1
        entry["overruns"].append({"kind": kind, "at": iso(ev.at), "condition": ev.from_value,
                                  "budget": format_duration(data["budget_s"]) if data.get("budget_s") else None,
                                  "over_at": data.get("over_at")})
        day = as_utc(ev.at).date().isoformat()
        days.setdefault(day, {"day": day, "runtime": 0, "review": 0})[kind] += 1
        total += 1
    return {"total": total, "per_task": sorted(tasks.values(), key=lambda t: t["task"]),
            "per_day": [days[d] for d in sorted(days)]}


def text_lines(o: dict) -> list[str]:
    """The overruns in a few lines for the terminal."""
    if not o["total"]:
        return ["Budget overruns: none"]
    per_task = "; ".join(f"{t['task']} " + ", ".join(f"{x['kind']} {x['budget'] or '?'} at {x['at']}"
                                                      for x in t["overruns"][-3:]) for t in o["per_task"][:20])
    per_day = "; ".join(f"{d['day']}: {d['runtime']} runtime, {d['review']} review" for d in o["per_day"])
    return [f"Budget overruns: {o['total']} ({per_task})", f"Overruns per day (UTC): {per_day}"]
