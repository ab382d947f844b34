"""The stale-brief step of the trust check: record when a worker was briefed on an older version of its record.

Kept apart from ledger/trustcheck.py so that it can be wired into the trust stage as one more check.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.classify.briefcheck import CATEGORY, check
from orchestrator.ledger import brief, misalign
from orchestrator.ledger.models import DECIDED_STATUSES, Misalignment, Project, Task

SKIP = DECIDED_STATUSES + ("cleaned",)


def run(s: Session, proj: Project, tasks: list[Task], now: datetime) -> int:
    """Check every open task that was briefed; returns how many findings were recorded."""
    recorded = 0
    for t in tasks:
        if not t.brief or t.status in SKIP:
            continue
        found = check(t.brief, brief.digest(brief.record(t, proj.default_branch)))
        if found is not None and misalign.record(s, proj, t, category=CATEGORY, severity=found.severity,
                                                 evidence_kind="ledger", evidence=found.text, key=found.key,
                                                 now=now) is not None:
            recorded += 1
    return recorded


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
