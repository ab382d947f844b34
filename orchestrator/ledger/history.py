"""History queries (one set for SQLite and PostgreSQL): ticks, condition and status events, acks, observations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.ledger.models import Event, Observation, Project, Task, Tick
from orchestrator.report import timeline
from orchestrator.timeutil import as_utc, iso

EVENT_KINDS = ("condition", "status", "ack", "heartbeat", "merged-upstream")


def _ticks(s: Session, proj: Project, host: str, since: datetime, until: datetime
           ) -> tuple[int | None, list[datetime]]:
    """One host's ok ticks in (since, until] in the order they ran, led by the last one at or before `since` (its
    id is returned: what it saw holds at the window's start). Both read ix_ticks_project_host_clock, never the
    whole year."""
    mine = (Tick.project_id == proj.id, Tick.host == host, Tick.outcome == "ok")
    anchor = s.execute(select(Tick.id, Tick.clock).where(*mine, Tick.clock <= since)
                       .order_by(Tick.clock.desc()).limit(1)).first()
    clocks = [as_utc(anchor.clock)] if anchor else []
    clocks += [as_utc(c) for c in s.scalars(select(Tick.clock).where(*mine, Tick.clock > since, Tick.clock <= until)
                                            .order_by(Tick.id))]  # the order they ran: a clock may go back
    return (anchor.id if anchor else None), clocks


def load(s: Session, proj: Project, cfg, since: datetime, until: datetime, task_key: str | None = None) -> dict:
    """Everything `orch history` and the timeline show for [since, until], computed by report.timeline."""
    clipped = since < until - cfg.retention
    if clipped:
        since = until - cfg.retention
    tq = select(Task.id, Task.key, Task.host, Task.title).where(Task.project_id == proj.id).order_by(Task.id)
    if task_key is not None:
        tq = tq.where(Task.key == task_key)
    tasks = list(s.execute(tq))  # plain rows: the timeline needs no task objects
    # The hosts that matter: those of the project's tasks, and this one.
    hosts = {t.host for t in tasks} if task_key is None else set(
        s.scalars(select(Task.host).where(Task.project_id == proj.id).distinct()))
    hosts.add(cfg.hostname)
    anchor_ids, clocks = [], {}
    for host in sorted(hosts):
        anchor_id, clocks[host] = _ticks(s, proj, host, since, until)
        if anchor_id is not None:
            anchor_ids.append(anchor_id)
    limit = cfg.tick_interval + cfg.tick_grace
    cover = {h: timeline.coverage(c, limit, since, until) for h, c in clocks.items()}

    # The condition at the window's start: what the anchor tick observed, else the last change before it.
    start_cond: dict[int, str] = {}
    latest = (select(func.max(Event.id)).where(Event.project_id == proj.id, Event.kind == "condition",
                                               Event.at <= since, Event.task_id.is_not(None))
              .group_by(Event.task_id))
    for task_id, to in s.execute(select(Event.task_id, Event.to_value).where(Event.id.in_(latest))):
        start_cond[task_id] = to
    if anchor_ids:
        for task_id, cond in s.execute(select(Observation.task_id, Observation.condition)
                                       .where(Observation.tick_id.in_(anchor_ids))):
            start_cond[task_id] = cond
    # Ended before the window: cleaned up.
    cleaned_before = set(s.scalars(select(Event.task_id).where(
        Event.project_id == proj.id, Event.kind == "status", Event.to_value == "cleaned", Event.at <= since)))

    tracks = {t.id: timeline.Track(key=t.key, host=t.host, title=t.title,
                                   start_condition=None if t.id in cleaned_before else start_cond.get(t.id))
              for t in tasks}
    acks, wakeups, finished, merged = [], [], [], []
    rows = s.execute(select(Event.task_id, Event.at, Event.kind, Event.to_value, Event.reason, Event.actor)
                     .where(Event.project_id == proj.id, Event.kind.in_(EVENT_KINDS), Event.at > since,
                            Event.at <= until).order_by(Event.at, Event.id))
    for task_id, at, kind, to, reason, actor in rows:
        at = as_utc(at)
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
    for t in tasks:
        tr = tracks[t.id]
        covered = cover.get(t.host, empty)[0]
        h = timeline.task_history(tr, covered, acks, since, until)
        if h["runs"] or h["decisions"] or task_key is not None:
            out_tasks.append(h)
    gaps = {h: c[1] for h, c in cover.items()}
    days = timeline.per_day(since, until, finished, merged)
    last_tick = max((c[-1] for c in clocks.values() if c), default=None)
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
