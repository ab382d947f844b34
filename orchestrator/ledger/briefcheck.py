"""Stale-brief findings, the ledger side: resolve them once the worker got the current brief (tick_trust finds them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger.models import Misalignment, Project, Task


def rebriefed(s: Session, proj: Project, t: Task, now: datetime) -> int:
    """The worker got the current brief: its open stale-brief findings are resolved."""
    prefix = f"{t.key}/brief:"
    rows = s.scalars(select(Misalignment).where(Misalignment.project_id == proj.id, Misalignment.task_id == t.id,
                                                Misalignment.resolved_at.is_(None),
                                                Misalignment.dedupe_key.startswith(prefix, autoescape=True)))
    n = 0
    for m in rows:
        m.resolved_at, m.resolved_note = now, f"re-briefed: brief {(t.brief or {}).get('hash')} printed"
        n += 1
    return n
