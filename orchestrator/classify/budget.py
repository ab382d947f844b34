"""Budgets (pure): a task's runtime and review budgets against the clock, and what an overrun does to a verdict.

The runtime clock counts from when the worker started (its worktree was there at dispatch, or appeared later)
while the task is still at work (any condition of an active task before `finished`); the review clock counts
from when the task became `finished` (or `reviewing`) and runs until a decision. An overrun becomes the
verdict's reason where it is the one thing that needs the orchestrator (`working` → `over-runtime`,
`finished`/`reviewing` → `review-overdue`); on a condition that needs it anyway (stuck, waiting, blocked ...)
the reason stays and the overrun is its first piece of evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.classify.evidence import Evidence
from orchestrator.timeutil import format_duration, iso, parse_iso_lenient

RUNTIME_CONDITIONS = ("working", "waiting-input", "stuck", "finished-uncommitted", "no-output", "blocked")
REVIEW_CONDITIONS = ("finished", "reviewing")
# The reasons an overrun gives, the next action each shows, and the overall status a task with it counts in.
REASON_ACTION = {"over-runtime": "check in, nudge or stop the worker",
                 "review-overdue": "review now (over the review budget)"}
REASON_OVERALL = {"over-runtime": "stuck", "review-overdue": "review-needed"}
BUDGET_REASONS = tuple(REASON_ACTION)


@dataclass(frozen=True)
class Budgets:
    """One task's budgets and their clocks, as the tick reads them from the ledger."""

    max_runtime: timedelta | None = None
    review: timedelta | None = None
    started_at: datetime | None = None  # when the worker started (dispatch with a worktree, or its worktree appeared)
    review_since: datetime | None = None  # when its wait for review began (the previous tick's answer)
    prev_condition: str | None = None

    @property
    def any(self) -> bool:
        return self.max_runtime is not None or self.review is not None


def review_clock(b: Budgets, condition: str, now: datetime) -> datetime | None:
    """When the task's current wait for review began: kept while it stays finished or reviewing, else now."""
    if condition not in REVIEW_CONDITIONS:
        return None
    if b.prev_condition in REVIEW_CONDITIONS and b.review_since is not None:
        return min(b.review_since, now)
    return now


def overrun_text(kind: str, used: timedelta, budget: timedelta) -> str:
    """`over its runtime budget: 2h10m of 2h`."""
    what = "runtime budget" if kind == "runtime" else "review budget"
    return f"over its {what}: {format_duration(used)} of {format_duration(budget)}"


def assess(b: Budgets, status: str, condition: str, now: datetime) -> dict:
    """The budget part of a verdict: each budget with what is used of it, and the overrun if there is one."""
    out: dict = {}
    review_since = review_clock(b, condition, now)
    if review_since is not None:
        out["review_since"] = iso(review_since)
    if not b.any:
        return out
    if b.max_runtime is not None:
        entry = {"budget_s": int(b.max_runtime.total_seconds())}
        if status == "active" and condition in RUNTIME_CONDITIONS and b.started_at is not None:
            used = max(now - b.started_at, timedelta(0))
            entry.update(used_s=int(used.total_seconds()), over=used > b.max_runtime)
            if entry["over"]:
                out.update(over="runtime", over_at=iso(b.started_at + b.max_runtime),
                           text=overrun_text("runtime", used, b.max_runtime))
        out["runtime"] = entry
    if b.review is not None:
        entry = {"budget_s": int(b.review.total_seconds())}
        if review_since is not None and status in ("active", "reviewing"):
            used = max(now - review_since, timedelta(0))
            entry.update(used_s=int(used.total_seconds()), over=used > b.review)
            if entry["over"]:
                out.update(over="review", over_at=iso(review_since + b.review),
                           text=overrun_text("review", used, b.review))
        out["review"] = entry
    return out


def apply(condition: str, reason: str, evidence: list[Evidence], budget: dict) -> tuple[str, list[Evidence]]:
    """The reason and evidence of a verdict once its budgets are judged."""
    kind = budget.get("over")
    if not kind:
        return reason, evidence
    ev = Evidence("timing", f"over-{kind}-budget", budget["text"], parse_iso_lenient(budget.get("over_at")))
    if kind == "runtime" and condition == "working":
        reason = "over-runtime"
    elif kind == "review" and condition in REVIEW_CONDITIONS:
        reason = "review-overdue"
    return reason, [ev, *evidence]
