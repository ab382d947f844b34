"""Build the report context (one dict) from the ledger: tasks, act-now, changes since ack, health."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger import health as health_mod
from orchestrator.report.advice import dispatch_advice
from orchestrator.settings import Settings
from orchestrator.ledger.models import Event, Project, Task
from orchestrator.classify.evidence import CONDITIONS
from orchestrator.redact import redact
from orchestrator.timeutil import iso
from orchestrator.report.trust import contradicted_evidence, trust_context
from orchestrator.report.views import overall_status, task_view

SCHEMA = 1
MAX_CHANGES = 30
CHANGE_KINDS = ("condition", "status", "merged-upstream", "heartbeat")
FINISHED_LOOKING = ("finished", "reviewing", "finished-uncommitted")


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


def session_problems(h: dict) -> list[str]:
    """Bad input met while reading session logs and hook events, counted and skipped."""
    words = {"bad_lines": "unreadable session-log line(s) skipped", "oversized_lines": "over-long session-log line(s) skipped",
             "unreadable": "session file(s) or folder(s) unreadable", "hook_bad": "unreadable hook event(s) skipped"}
    return [f"sessions: {h[k]} {text}" for k, text in words.items() if h.get(k)]


def packages(live: list[dict]) -> list[dict]:
    """Tasks grouped by package (feature lane), each with its count per condition."""
    groups: dict[str, Counter] = {}
    for v in live:
        if v.get("package"):
            groups.setdefault(v["package"], Counter())[v["condition"]] += 1
    return [{"package": name, "tasks": sum(c.values()), "conditions": dict(sorted(c.items()))}
            for name, c in sorted(groups.items())]


def _untracked(u: dict) -> dict:
    return {k: u.get(k) for k in ("agent", "cwd", "state", "last_activity", "session_id")}


def build(s: Session, proj: Project, cfg: Settings, now: datetime, host: str, *, tick_no: int | None,
          probe_health: dict, untracked: list[dict] | None = None, verdicts_at: datetime | None = None) -> dict:
    """Everything a report shows, as plain data (the JSON report is exactly this)."""
    tasks = list(s.scalars(select(Task).where(Task.project_id == proj.id).order_by(Task.id)))
    views = [task_view(t, now) for t in tasks]
    live = [v for v in views if v["status"] != "cleaned"]
    dirty = probe_health.get("integration_dirty_count", 0) > 0
    advice = dispatch_advice(proj.mode, cfg.max_concurrency, live, dirty)
    overall = overall_status(live, advice["possible"], dirty)
    counts = Counter(v["condition"] for v in live)
    for v in live:  # a finished-looking task resting on a contradicted claim: the claim is its first evidence
        bad = contradicted_evidence(v) if v["condition"] in FINISHED_LOOKING else None
        if bad is not None:
            v["evidence"] = [bad, *v["evidence"]]
            v["attention"] = True
    attention = sorted((v for v in live if v["attention"]), key=lambda v: (v["rank"], v["since"] or ""))
    if dirty:
        attention.insert(0, {"id": "(integration)", "condition": "blocked", "reason": "integration-dirty",
                             "next_action": "commit or clean the integration checkout",
                             "evidence": [{"kind": "git", "code": "dirty",
                                           "text": f"{probe_health['integration_dirty_count']} uncommitted: "
                                                   + ", ".join(probe_health["integration_dirty"][:3])}],
                             "for": None, "attention": True, "rank": 1})
    changes, total_changes = changes_since_ack(s, proj)
    health = health_mod.compute(s, proj, cfg, now, host, attention=[a for a in attention if a["id"] != "(integration)"],
                                current_tick=tick_no)
    if probe_health.get("git_error"):
        health["problems"].append(f"git: {probe_health['git_error']}")
    health["problems"] += session_problems(probe_health.get("sessions") or {})
    return {
        "schema": SCHEMA,
        "project": proj.name,
        "overall": overall,
        "generated_at": iso(now),
        "verdicts_at": iso(verdicts_at or now),
        "tick": tick_no,
        "host": host,
        "mode": proj.mode,
        "mode_note": redact(proj.mode_note) if proj.mode_note else None,
        "counts": {c: counts[c] for c in CONDITIONS if counts.get(c)},
        "act_now": attention,
        "since_last_ack": changes,
        "since_last_ack_total": total_changes,
        "tasks": live,
        "cleaned": len(views) - len(live),
        "dispatch": advice,
        "packages": packages(live),
        "untracked_sessions": [_untracked(u) for u in untracked or []],
        "integration": {"dirty": probe_health.get("integration_dirty", []),
                        "dirty_count": probe_health.get("integration_dirty_count", 0)},
        "health": health,
        "last_ack_at": health.get("last_ack_at"),
        "default_branch": proj.default_branch,
        "trust": {k: v for k, v in trust_context(s, proj, live).items() if k != "claims"},
    }
