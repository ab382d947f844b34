"""The trust step's ledger side: what it reads (gate runs, session trails) and what it keeps (findings, claims).

The step itself (gather, judge, keep) is orchestrator/tick_trust.py; nothing here gathers or judges.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger import misalign
from orchestrator.ledger.models import DECIDED_STATUSES, GateRun, Project, SessionFile, Task

SKIP_STATUSES = DECIDED_STATUSES + ("cleaned", "setup")
CLAIMS_KEPT = 14
SESSIONS_KEPT = 10


def gate_runs(s: Session, heads: dict[int, str]) -> dict[int, list[tuple[str, int | None]]]:
    """Per task, the latest run of each gate on its current HEAD: (gate command, exit code; None if timed out)."""
    ids = [tid for tid, head in heads.items() if head]
    out: dict[int, list] = {}
    if not ids:
        return out
    seen = set()
    for run in s.scalars(select(GateRun).where(GateRun.task_id.in_(ids)).order_by(GateRun.id.desc()).limit(5000)):
        if run.commit != heads.get(run.task_id) or (run.task_id, run.gate) in seen:
            continue
        seen.add((run.task_id, run.gate))
        out.setdefault(run.task_id, []).append((run.gate, None if run.timed_out else run.exit_code))
    return out


def sessions(s: Session, task_ids: list[int]) -> dict[int, list[tuple[str, str | None, dict]]]:
    """Per task, its main sessions' (id, file, trail), newest first (one query for all the tasks checked)."""
    out: dict[int, list] = {}
    if not task_ids:
        return out
    rows = s.scalars(select(SessionFile).where(SessionFile.task_id.in_(task_ids))
                     .order_by(SessionFile.last_activity_at.desc()).limit(20 * len(task_ids)))
    for r in rows:
        tr = (r.state or {}).get("trail")
        if isinstance(tr, dict) and not (r.state or {}).get("subagent") and len(out.get(r.task_id, [])) < SESSIONS_KEPT:
            out.setdefault(r.task_id, []).append((r.session_id or str(r.id), r.path, tr))
    return out


def keep(s: Session, proj: Project, task: Task, findings: list[dict], settled: list[tuple[str, str]],
         claims: list[dict], cache: dict, now: datetime) -> int:
    """Record each finding once (by its key), resolve the ones later evidence settled, keep the claims and the
    step's cache on the task; returns how many findings were new."""
    recorded = 0
    for f in findings:
        if misalign.record(s, proj, task, category=f["category"], severity=f["severity"],
                           evidence_kind=f["evidence_kind"], evidence=f["evidence"], key=f["key"], now=now,
                           detail=f.get("detail")) is not None:
            recorded += 1
    for key, note in settled:
        misalign.resolve_key(s, proj, task, key, note, now)
    extra = dict(task.extra or {})
    extra["claims"] = [{k: c.get(k) for k in ("kind", "text", "verdict", "why", "paths") if c.get(k) is not None}
                       for c in claims][:CLAIMS_KEPT]
    extra["trust"] = cache
    task.extra = extra
    return recorded
