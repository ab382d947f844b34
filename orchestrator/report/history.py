"""`orch history` and the timeline's data: the ledger's history rows shaped into runs, coverage and figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from orchestrator.ledger import history as ledger_history
from orchestrator.ledger.models import Project
from orchestrator.report import timeline
from orchestrator.timeutil import iso


def load(s: Session, proj: Project, cfg, since: datetime, until: datetime, task_key: str | None = None) -> dict:
    """Everything `orch history` and the timeline show for [since, until], computed by report.timeline."""
    clipped = since < until - cfg.retention
    if clipped:
        since = until - cfg.retention
    raw = ledger_history.rows(s, proj, cfg.hostname, since, until, task_key)
    limit = cfg.tick_interval + cfg.tick_grace
    cover = {h: timeline.coverage(c, limit, since, until) for h, c in raw.clocks.items()}
    tracks = {t.id: timeline.Track(key=t.key, host=t.host, title=t.title,
                                   start_condition=None if t.id in raw.cleaned_before else raw.start_condition.get(t.id))
              for t in raw.tasks}
    acks, wakeups, finished, merged = [], [], [], []
    for task_id, at, kind, to, reason, actor in raw.events:
        tr = tracks.get(task_id)
        if kind == "ack":
            acks.append(at)
        elif kind == "heartbeat" and reason == "missed-wakeup":
            wakeups.append(at)
        elif tr is None:
            continue
        elif kind == "condition":
            tr.changes.append((at, to))
            if to == "finished":
                finished.append((at, tr.key))
        elif kind == "status":
            if to == "cleaned":
                tr.end_at = tr.end_at or at
            elif actor != "tick":
                tr.decisions.append((at, to))
            if to == "merged":
                merged.append((at, tr.key))
        elif kind == "merged-upstream":
            merged.append((at, tr.key))
    empty = ([], [])
    out_tasks = []
    for t in raw.tasks:
        covered = cover.get(t.host, empty)[0]
        h = timeline.task_history(tracks[t.id], covered, acks, since, until)
        if h["runs"] or h["decisions"] or task_key is not None:
            out_tasks.append(h)
    gaps = {h: c[1] for h, c in cover.items()}
    days = timeline.per_day(since, until, finished, merged)
    last_tick = max((c[-1] for c in raw.clocks.values() if c), default=None)
    return {
        "project": timeline.project_summary(out_tasks, gaps, wakeups, days),
        "from": iso(since),
        "to": iso(until),
        "clipped_to_retention": clipped,
        "interval_seconds": int(cfg.tick_interval.total_seconds()),
        "limit_seconds": int(limit.total_seconds()),
        "flap_threshold_per_hour": timeline.FLAP_PER_HOUR,
        "last_tick_at": iso(last_tick),
        "tasks": out_tasks,
        "acks": [iso(a) for a in acks],
        "missed_wakeup_at": [iso(a) for a in wakeups],
    }
