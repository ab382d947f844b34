"""Record one tick in the ledger: the tick row, observation runs, implied status changes and events.

Plain data in (the ledger knows nothing above it): a verdict arrives as `Seen`, git facts as paths and names.
A tick in which a task's verdict did not change extends that task's current observation run (its last tick
and time) instead of adding a row, so the ledger grows with what happens, not with the clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from orchestrator.ledger.models import Event, Observation, Project, Task, Tick
from orchestrator.timeutil import DURATION_WORD, iso


@dataclass(frozen=True)
class Seen:
    """One task's verdict at one tick, as plain data: what the classifier said and the evidence."""

    condition: str
    reason: str
    next_action: str | None
    evidence: list[dict]  # {"kind", "code", "text", "at"?}
    fingerprint: str | None
    progress_at: datetime | None
    facts: dict = field(default_factory=dict)

    def digest(self) -> str:
        """What "the same observation" means: condition, reason, facts, fingerprint, progress and evidence,
        with the ages that evidence texts render ("5m ago") left out, since they change every tick."""
        ev = [[e.get("kind"), e.get("code"), e.get("at"), DURATION_WORD.sub("~", e.get("text") or "")]
              for e in self.evidence]
        doc = [self.condition, self.reason, self.next_action, self.fingerprint, iso(self.progress_at),
               self.facts, ev]
        raw = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:32]


@dataclass(frozen=True)
class RunHead:
    """The current (latest) observation run of a task: enough to tell whether a tick extends it."""

    id: int
    last_tick_id: int
    digest: str | None


def add_event(s: Session, proj: Project, at: datetime, kind: str, task: Task | None = None, *,
              from_value: str | None = None, to_value: str | None = None, reason: str | None = None,
              note: str | None = None, actor: str = "tick", host: str | None = None, tick: Tick | None = None,
              data: dict | None = None) -> Event:
    ev = Event(project_id=proj.id, task_id=task.id if task else None, tick_id=tick.id if tick else None, at=at,
               kind=kind, from_value=from_value, to_value=to_value, reason=reason, note=note, actor=actor,
               host=host, data=data or {})
    s.add(ev)
    return ev


def apply_git_facts(s: Session, proj: Project, task: Task, path: str | None, branch: str | None,
                    base: str | None, now: datetime, tick: Tick | None) -> None:
    """Status changes that git evidence implies: a worktree appeared (found at `path`, on `branch`), a base
    got fixed (`base`, the merge-base git computed)."""
    if task.status == "setup" and path is not None and branch is not None and branch == task.branch:
        task.worktree = path
        task.started_at = now  # the worker's runtime budget counts from here
        set_status(s, proj, task, "active", now, reason="worktree-appeared", note=path, tick=tick)
    if base is not None and (task.extra or {}).get("base_provisional"):
        task.base_commit = base
        task.extra = {k: v for k, v in task.extra.items() if k != "base_provisional"}


def set_status(s: Session, proj: Project, task: Task, status: str, now: datetime, *, reason: str | None = None,
               note: str | None = None, actor: str = "tick", tick: Tick | None = None,
               evidence: dict | None = None) -> None:
    """Change a task's status with its event; a decision (merged, rejected, abandoned) is kept with its evidence."""
    if task.status == status:
        return
    add_event(s, proj, now, "status", task, from_value=task.status, to_value=status, reason=reason, note=note,
              actor=actor, host=task.host, tick=tick, data={"evidence": evidence} if evidence else None)
    task.status = status
    task.status_note = note if actor != "tick" or evidence else task.status_note
    task.updated_at = now
    if status in ("merged", "rejected", "abandoned"):
        task.merged_at = now if status == "merged" else None
        task.extra = {**(task.extra or {}), "decision": {
            "status": status, "by": actor, "at": iso(now), **(evidence or {})}}
    elif status != "cleaned":
        task.merged_at = None
        if (task.extra or {}).get("decision"):
            task.extra = {k: v for k, v in task.extra.items() if k != "decision"}


def record_merge(s: Session, proj: Project, task: Task, verdict, now: datetime, tick: Tick | None) -> None:
    """The tick records the `merged` decision that git shows (classify/merged.py), with git as its evidence."""
    set_status(s, proj, task, "merged", now, reason="merged-in-git", note=f"git: {verdict.text}", tick=tick,
               evidence={"verified": True, "how": verdict.how, "ref": verdict.ref, "head": verdict.head,
                         "git": verdict.text})


def current_runs(s: Session, task_ids: list[int]) -> dict[int, RunHead]:
    """The latest observation run of each of these tasks (tasks never observed are absent)."""
    if not task_ids:
        return {}
    # One index seek per task (task_id, tick_id), however many per-tick rows an older ledger still holds.
    o2 = aliased(Observation)
    last_of = (select(o2.id).where(o2.task_id == Task.id).order_by(o2.tick_id.desc(), o2.id.desc()).limit(1)
               .scalar_subquery())
    latest = select(last_of).where(Task.id.in_(task_ids))
    rows = s.execute(select(Observation.id, Observation.task_id, Observation.tick_id, Observation.last_tick_id,
                            Observation.digest).where(Observation.id.in_(latest)))
    return {r.task_id: RunHead(r.id, r.last_tick_id or r.tick_id, r.digest) for r in rows}


def extend_runs(s: Session, run_ids: list[int], tick: Tick, now: datetime) -> None:
    """Move the end of these runs to this tick: one statement for all of them."""
    runs = Observation.__table__
    for start in range(0, len(run_ids), 500):
        s.execute(update(runs).where(runs.c.id.in_(run_ids[start:start + 500])).values(last_tick_id=tick.id,
                                                                                         last_at=now))


def record_verdict(s: Session, proj: Project, task: Task, seen: Seen, now: datetime, tick: Tick, *,
                   run: RunHead | None = None, prev_tick_id: int | None = None,
                   extended: list[int] | None = None) -> Event | None:
    """Store the observation (extending the task's current run when it ended at the previous tick with the same
    digest, else starting a run), update the task's latest verdict, and add an event if the condition changed.
    The runs to extend are appended to `extended`, for `extend_runs` (else extended at once)."""
    digest = seen.digest()
    if run is not None and run.digest == digest and prev_tick_id is not None and run.last_tick_id == prev_tick_id:
        if extended is None:
            extend_runs(s, [run.id], tick, now)
        else:
            extended.append(run.id)
    else:
        s.add(Observation(tick_id=tick.id, task_id=task.id, at=now, condition=seen.condition, reason=seen.reason,
                          next_action=seen.next_action, evidence=seen.evidence, facts=seen.facts,
                          fingerprint=seen.fingerprint, progress_at=seen.progress_at, digest=digest))
    change = None
    if task.condition != seen.condition:
        change = add_event(s, proj, now, "condition", task, from_value=task.condition, to_value=seen.condition,
                           reason=seen.reason, host=task.host, tick=tick, data={"evidence": seen.evidence[:3]})
        task.condition_since = now
    if seen.condition == "done" and task.status in ("merged", "rejected", "abandoned"):
        set_status(s, proj, task, "cleaned", now, reason="nothing-left", tick=tick)
    task.condition = seen.condition
    task.reason = seen.reason
    task.progress_at = seen.progress_at
    task.fingerprint = seen.fingerprint
    task.observed_at = now
    task.extra = {**(task.extra or {}), "verdict": {"evidence": seen.evidence, "facts": seen.facts}}
    return change
