"""Build the report context (one dict) from the ledger: tasks, act-now, changes since ack, health."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import bounded
from orchestrator.ledger import health as health_mod
from orchestrator.settings import Settings
from orchestrator.ledger.models import Event, Project, Task
from orchestrator.redact import redact
from orchestrator.timeutil import iso
from orchestrator.report.compose import compose
from orchestrator.report.trust import trust_context
from orchestrator.report.views import task_record

MAX_CHANGES = 30
CHANGE_KINDS = ("condition", "status", "merged-upstream", "heartbeat", "over-budget")


def changes_since_ack(s: Session, proj: Project) -> tuple[list[dict], int]:
    """Condition and status transitions since the last `orch ack` (newest last), and how many in all."""
    ack = health_mod.last_ack(s, proj)
    q = select(Event, Task.key).outerjoin(Task, Task.id == Event.task_id).where(
        Event.project_id == proj.id, Event.kind.in_(CHANGE_KINDS))
    if ack is not None:
        q = q.where(Event.id > ack.id)
    rows = list(s.execute(q.order_by(Event.id.desc()).limit(MAX_CHANGES + 1)))
    total = len(rows)
    if total > MAX_CHANGES:
        from sqlalchemy import func

        cq = select(func.count()).select_from(Event).where(
            Event.project_id == proj.id, Event.kind.in_(CHANGE_KINDS))
        if ack is not None:
            cq = cq.where(Event.id > ack.id)
        total = s.scalar(cq) or 0
    out = []
    for ev, key in reversed(rows[:MAX_CHANGES]):
        out.append({"at": iso(ev.at), "task": key, "kind": ev.kind, "from": ev.from_value, "to": ev.to_value,
                    "reason": ev.reason, "note": redact(ev.note) if ev.note else None, "actor": ev.actor})
    return out, total


def _untracked(u: dict) -> dict:
    return {k: u.get(k) for k in ("agent", "cwd", "state", "last_activity", "session_id")}


def build(s: Session, proj: Project, cfg: Settings, now: datetime, host: str, *, tick_no: int | None,
          probe_health: dict, untracked: list[dict] | None = None, verdicts_at: datetime | None = None) -> dict:
    """Everything a report shows, as plain data (the JSON report is exactly this)."""
    facts = gather(s, proj, now, host, tick_no=tick_no, probe_health=probe_health, untracked=untracked,
                   verdicts_at=verdicts_at)
    return compose(facts, cfg, now)


def gather(s: Session, proj: Project, now: datetime, host: str, *, tick_no: int | None, probe_health: dict,
           untracked: list[dict] | None = None, verdicts_at: datetime | None = None,
           tick_host: str | None = None) -> dict:
    """Read what a report rests on from the ledger, as plain JSON-able facts (no judgement, no formatting).
    `tick_host`: the host that ran tick `tick_no`, when it was not this one (a shared ledger)."""
    tasks = list(s.scalars(select(Task).where(Task.project_id == proj.id).order_by(Task.id)))
    changes, total_changes = changes_since_ack(s, proj)
    return {
        "project": {"name": proj.name, "mode": proj.mode, "mode_note": proj.mode_note,
                    "default_branch": proj.default_branch},
        "tasks": [task_record(t) for t in tasks],
        "tick": tick_no,
        "host": host,
        "tick_host": tick_host or host,
        "verdicts_at": iso(verdicts_at or now),
        "probe_health": probe_health,
        "untracked": [_untracked(u) for u in bounded.first(untracked or [])],
        "untracked_count": len(untracked or []),
        "since_last_ack": changes,
        "since_last_ack_total": total_changes,
        "health": health_mod.facts(s, proj, now, host, current_tick=tick_no),
        "packages": package_facts(s, proj, probe_health),
        "trust": {k: v for k, v in trust_context(s, proj, []).items() if k != "claims"},
    }


def package_facts(s: Session, proj: Project, probe_health: dict) -> dict:
    """The active lane and each open recorded package's status (judged against the default branch's head)."""
    from orchestrator.ledger.packages import report_entries

    lane, registered = report_entries(s, proj, probe_health.get("default_head"))
    return {"lane": lane, "registered": registered}


def add_timeline(s: Session, proj: Project, cfg: Settings, ctx: dict, now: datetime) -> dict:
    """Add the timeline's small summary to the context; return the picture, which only the HTML page shows."""
    from orchestrator.report import history, timeline

    start = now - cfg.timeline_window
    h = history.load(s, proj, cfg, start, now)
    ctx["timeline_summary"] = timeline.summary(h)
    return {**timeline.picture(h, start, now, fit=True), "limit_seconds": h["limit_seconds"], "last_tick_at": h["last_tick_at"]}
