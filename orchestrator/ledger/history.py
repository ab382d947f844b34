"""History queries (one set for SQLite and PostgreSQL): ticks, condition and status events, acks, observation runs.

Plain rows out; report/history.py shapes them into runs, coverage and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from orchestrator.ledger.models import Event, Observation, Project, Task, Tick
from orchestrator.timeutil import as_utc

EVENT_KINDS = ("condition", "status", "ack", "heartbeat", "merged-upstream")


@dataclass
class HistoryRows:
    """What the ledger holds about [since, until]: tasks, each host's tick clocks, conditions at the start, events."""

    tasks: list = field(default_factory=list)  # rows with id, key, host, title
    clocks: dict[str, list[datetime]] = field(default_factory=dict)  # host -> ok tick clocks (led by the anchor)
    start_condition: dict[int, str] = field(default_factory=dict)  # task id -> condition at `since`
    cleaned_before: set[int] = field(default_factory=set)  # task ids cleaned up at or before `since`
    events: list[tuple] = field(default_factory=list)  # (task_id, at, kind, to_value, reason, actor), in order


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


def rows(s: Session, proj: Project, this_host: str, since: datetime, until: datetime,
         task_key: str | None = None) -> HistoryRows:
    """Read everything `orch history` and the timeline show for (since, until]."""
    out = HistoryRows()
    tq = select(Task.id, Task.key, Task.host, Task.title).where(Task.project_id == proj.id).order_by(Task.id)
    if task_key is not None:
        tq = tq.where(Task.key == task_key)
    out.tasks = list(s.execute(tq))  # plain rows: the timeline needs no task objects
    # The hosts that matter: those of the project's tasks, and this one.
    hosts = {t.host for t in out.tasks} if task_key is None else set(
        s.scalars(select(Task.host).where(Task.project_id == proj.id).distinct()))
    hosts.add(this_host)
    anchors: dict[str, int] = {}
    for host in sorted(hosts):
        anchor_id, out.clocks[host] = _ticks(s, proj, host, since, until)
        if anchor_id is not None:
            anchors[host] = anchor_id

    # The condition at the window's start: what the anchor tick observed, else the last change before it.
    latest = (select(func.max(Event.id)).where(Event.project_id == proj.id, Event.kind == "condition",
                                               Event.at <= since, Event.task_id.is_not(None))
              .group_by(Event.task_id))
    for task_id, to in s.execute(select(Event.task_id, Event.to_value).where(Event.id.in_(latest))):
        out.start_condition[task_id] = to
    for host, anchor in anchors.items():
        # The run that covers the anchor tick: each task's latest run started at or before it (one index seek
        # per task), if it ended at or after it. Only this host's ticks observe this host's tasks.
        ids = [t.id for t in out.tasks if t.host == host]
        if not ids:
            continue
        o2 = aliased(Observation)
        start = (select(func.max(o2.tick_id)).where(o2.task_id == Observation.task_id, o2.tick_id <= anchor)
                 .scalar_subquery())
        q = select(Observation.task_id, Observation.condition).where(
            Observation.task_id.in_(ids), Observation.tick_id == start,
            func.coalesce(Observation.last_tick_id, Observation.tick_id) >= anchor)
        for task_id, cond in s.execute(q):
            out.start_condition[task_id] = cond
    # Ended before the window: cleaned up.
    out.cleaned_before = set(s.scalars(select(Event.task_id).where(
        Event.project_id == proj.id, Event.kind == "status", Event.to_value == "cleaned", Event.at <= since)))
    q = (select(Event.task_id, Event.at, Event.kind, Event.to_value, Event.reason, Event.actor)
         .where(Event.project_id == proj.id, Event.kind.in_(EVENT_KINDS), Event.at > since, Event.at <= until)
         .order_by(Event.at, Event.id))
    out.events = [(task_id, as_utc(at), kind, to, reason, actor) for task_id, at, kind, to, reason, actor in s.execute(q)]
    return out
