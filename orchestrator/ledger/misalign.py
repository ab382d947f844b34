"""Misalignment events: record each finding exactly once (by a dedupe key), list them, resolve them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.errors import UserError
from orchestrator.ledger.models import Misalignment, Project, Task
from orchestrator.redact import redact
from orchestrator.timeutil import iso

CATEGORIES = ("constraint-violation", "authority-exceeded", "self-report-mismatch", "pushback", "overreach",
              "setup-failure", "heartbeat-gap", "package-drift", "rules-changed")
SEVERITIES = ("low", "medium", "high")
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}
EVIDENCE_MAX = 500


def _key(task: Task | None, key: str) -> str:
    """Keys are unique per project; a task's findings are namespaced by its id so tasks never collide."""
    return (f"{task.key}/{key}" if task is not None else key)[:255]


def record(s: Session, proj: Project, task: Task | None, *, category: str, severity: str, evidence_kind: str,
           evidence: str, key: str, now: datetime, actor: str = "tick", detail: dict | None = None) -> Misalignment | None:
    """Record a finding; None when one with this key was recorded already (open or resolved)."""
    if category not in CATEGORIES:
        raise UserError(f"invalid category {category!r}: choose one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise UserError(f"invalid severity {severity!r}: choose one of {', '.join(SEVERITIES)}")
    dedupe = _key(task, key)
    if s.scalars(select(Misalignment.id).where(Misalignment.project_id == proj.id,
                                               Misalignment.dedupe_key == dedupe)).first() is not None:
        return None
    text = redact(" ".join((evidence or "").split()))
    if len(text) > EVIDENCE_MAX:
        text = text[:EVIDENCE_MAX - 1] + "…"
    row = Misalignment(project_id=proj.id, task_id=task.id if task is not None else None, category=category,
                       severity=severity, evidence_kind=evidence_kind[:32], evidence=text, dedupe_key=dedupe,
                       created_at=now, actor=actor[:32], detail=_detail(detail))
    s.add(row)  # ticks run under the project's ledger lock, so the check above cannot race another tick
    return row


def _detail(detail: dict | None) -> dict | None:
    """{label, next, pointer}: bounded and redacted strings (a pointer holds paths, commands, line numbers)."""
    if not detail:
        return None

    def clean(v):
        if isinstance(v, str):
            return redact(" ".join(v.split()))[:EVIDENCE_MAX]
        return v if isinstance(v, (int, float, bool)) or v is None else clean(str(v))

    ptr = detail.get("pointer") or {}
    return {"label": clean(detail.get("label") or ""), "next": clean(detail.get("next") or ""),
            "pointer": {str(k)[:20]: clean(v) for k, v in list(ptr.items())[:10]}}


def list_items(s: Session, proj: Project, *, open_only: bool = False, task: Task | None = None,
               limit: int = 500) -> list[dict]:
    """Misalignments as plain dicts, most severe then newest first."""
    q = select(Misalignment, Task.key).outerjoin(Task, Task.id == Misalignment.task_id).where(
        Misalignment.project_id == proj.id)
    if open_only:
        q = q.where(Misalignment.resolved_at.is_(None))
    if task is not None:
        q = q.where(Misalignment.task_id == task.id)
    rows = list(s.execute(q.order_by(Misalignment.id.desc()).limit(limit)))
    items = [view(m, key) for m, key in rows]
    return sorted(items, key=lambda i: (i["resolved_at"] is not None, SEVERITY_RANK.get(i["severity"], 9), -i["id"]))


def view(m: Misalignment, task_key: str | None) -> dict:
    detail = m.detail or {}
    return {"id": m.id, "task": task_key, "category": m.category, "severity": m.severity,
            "evidence_kind": m.evidence_kind, "text": m.evidence, "at": iso(m.created_at), "actor": m.actor,
            "resolved_at": iso(m.resolved_at), "resolved_note": m.resolved_note, "label": detail.get("label") or None,
            "next": detail.get("next") or None, "pointer": detail.get("pointer") or None}


def resolve(s: Session, proj: Project, item_id: int, note: str | None, now: datetime) -> Misalignment:
    m = s.get(Misalignment, item_id)
    if m is None or m.project_id != proj.id:
        raise UserError(f"unknown misalignment {item_id} (see `orch misalign list`)")
    if m.resolved_at is not None:
        raise UserError(f"misalignment {item_id} is resolved already")
    m.resolved_at = now
    m.resolved_note = redact(note) if note else None
    return m


def resolve_key(s: Session, proj: Project, task: Task | None, key: str, note: str, now: datetime) -> bool:
    """Resolve the open finding with this key (the tick does, when later evidence settles it)."""
    m = s.scalars(select(Misalignment).where(Misalignment.project_id == proj.id,
                                             Misalignment.dedupe_key == _key(task, key),
                                             Misalignment.resolved_at.is_(None))).first()
    if m is None:
        return False
    m.resolved_at, m.resolved_note = now, redact(note)[:EVIDENCE_MAX]
    return True


def risk(open_items: list[dict]) -> str:
    """none, or the highest severity among the open items."""
    if not open_items:
        return "none"
    return min((i["severity"] for i in open_items), key=lambda sev: SEVERITY_RANK.get(sev, 9))
