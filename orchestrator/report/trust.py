"""The trust part of every report: risk, open misalignments most severe first (with what to do next and where the
evidence is), and the tasks' claims."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger import misalign
from orchestrator.ledger.models import Project, Task
from orchestrator.report.trustview import pointer_text

OPEN_MAX = 50


def trust_context(s: Session, proj: Project, views: list[dict] | None = None) -> dict:
    """{risk, open[...], claims[...]}: `open` holds task, category, severity, evidence kind, text, a short label,
    the next action and where the evidence is."""
    items = misalign.list_items(s, proj, open_only=True, limit=OPEN_MAX)
    if views is None:
        rows = s.scalars(select(Task).where(Task.project_id == proj.id, Task.status != "cleaned").order_by(Task.id))
        views = [{"id": t.key, "claims": list((t.extra or {}).get("claims") or [])} for t in rows]
    claims = [{"task": v["id"], "claims": v["claims"]} for v in views if v.get("claims")]
    open_items = [{**{k: m[k] for k in ("id", "task", "category", "severity", "evidence_kind", "text", "at")},
                   "label": m.get("label") or m["category"], "next": m.get("next"),
                   "where": pointer_text(m.get("pointer")), "where_short": pointer_text(m.get("pointer"), short=True)}
                  for m in items]
    return {"risk": misalign.risk(open_items), "open": open_items, "claims": claims}
