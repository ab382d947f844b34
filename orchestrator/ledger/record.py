"""Record one tick in the ledger: the tick row, observations, implied status changes and events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from orchestrator.ledger.models import Event, Observation, Project, Task, Tick
from orchestrator.classify.evidence import Verdict
from orchestrator.probes.git import RepoProbe
from orchestrator.timeutil import iso


def add_event(s: Session, proj: Project, at: datetime, kind: str, task: Task | None = None, *,
              from_value: str | None = None, to_value: str | None = None, reason: str | None = None,
              note: str | None = None, actor: str = "tick", host: str | None = None, tick: Tick | None = None,
              data: dict | None = None) -> Event:
    ev = Event(project_id=proj.id, task_id=task.id if task else None, tick_id=tick.id if tick else None, at=at,
               kind=kind, from_value=from_value, to_value=to_value, reason=reason, note=note, actor=actor,
               host=host, data=data or {})
    s.add(ev)
    return ev


def apply_git_facts(s: Session, proj: Project, task: Task, probe: RepoProbe, now: datetime, tick: Tick | None) -> None:
    """Status changes that git evidence implies: a worktree appeared, a base got fixed, nothing is left."""
    path = probe.matched_paths.get(task.key)
    if task.status == "setup" and path is not None:
        facts = probe.facts.get(task.key)
        if facts is not None and facts.branch == task.branch:
            task.worktree = path
            task.started_at = now  # the worker's runtime budget counts from here
            set_status(s, proj, task, "active", now, reason="worktree-appeared", note=path, tick=tick)
    if task.key in probe.bases and (task.extra or {}).get("base_provisional"):
        task.base_commit = probe.bases[task.key]
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


def record_verdict(s: Session, proj: Project, task: Task, verdict: Verdict, now: datetime, tick: Tick) -> Event | None:
    """Store the observation, update the task's latest verdict, and add an event if the condition changed."""
    s.add(Observation(tick_id=tick.id, task_id=task.id, at=now, condition=verdict.condition,
                      reason=verdict.reason, next_action=verdict.next_action, evidence=verdict.evidence_dicts(),
                      facts=verdict.facts, fingerprint=verdict.fingerprint, progress_at=verdict.progress_at))
    change = None
    if task.condition != verdict.condition:
        change = add_event(s, proj, now, "condition", task, from_value=task.condition, to_value=verdict.condition,
                           reason=verdict.reason, host=task.host, tick=tick,
                           data={"evidence": verdict.evidence_dicts()[:3]})
        task.condition_since = now
    if verdict.condition == "done" and task.status in ("merged", "rejected", "abandoned"):
        set_status(s, proj, task, "cleaned", now, reason="nothing-left", tick=tick)
    task.condition = verdict.condition
    task.reason = verdict.reason
    task.progress_at = verdict.progress_at
    task.fingerprint = verdict.fingerprint
    task.observed_at = now
    task.extra = {**(task.extra or {}), "verdict": {"evidence": verdict.evidence_dicts(), "facts": verdict.facts}}
    return change
