"""Budgets in the ledger: what a tick records of the classifier's budget answer, and budgets in words."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from orchestrator.ledger.models import Event, Project, Task, Tick
from orchestrator.ledger.record import add_event
from orchestrator.timeutil import parse_iso_lenient

OVERRUN_EVENT = "over-budget"


def seconds(td: timedelta | None) -> int | None:
    return None if td is None else max(1, int(td.total_seconds()))


def record(s: Session, proj: Project, t: Task, verdict, now: datetime, tick: Tick | None) -> Event | None:
    """Keep the review clock and the verdict's budget part (`verdict`: the classifier's answer, read for its
    condition, reason and budget); an overrun's first tick adds an `over-budget` event."""
    budget = verdict.budget
    t.review_since = parse_iso_lenient(budget.get("review_since"))
    extra = dict(t.extra or {})
    extra["verdict"] = {**(extra.get("verdict") or {}), "budget": budget}
    event = None
    kind = budget.get("over")
    if kind:
        mark = {"kind": kind, "over_at": budget.get("over_at")}
        if extra.get("overrun") != mark:
            entry = budget.get(kind) or {}
            event = add_event(s, proj, now, OVERRUN_EVENT, t, from_value=verdict.condition, to_value=kind,
                              reason=verdict.reason, note=budget.get("text"), host=t.host, tick=tick,
                              data={"budget_s": entry.get("budget_s"), "used_s": entry.get("used_s"),
                                    "over_at": budget.get("over_at")})
            extra["overrun"] = mark
    t.extra = extra
    return event


def words(td: timedelta | None) -> str:
    """A budget in words: `2h`, or `none`."""
    from orchestrator.timeutil import format_duration

    return "none" if td is None else format_duration(td)
