"""Worktrees and branches of decided tasks: what may go, what blocks it, and removing them on request."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger.models import DECIDED_STATUSES, Event, Project, Task
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import Ledger
from orchestrator.ledger.lock import TickSkipped, file_lock, ledger_lock
from orchestrator.system.gitparse import parse_worktree_list
from orchestrator.ledger.record import add_event, set_status
from orchestrator.review.checklist import porcelain_paths
from orchestrator.timeutil import as_utc, utcnow


@dataclass
class Entry:
    """One task's leftovers: why they may go, what blocks them, and what --apply did."""

    task: str
    status: str
    branch: str
    worktree: str | None
    worktree_present: bool = False
    worktree_dirty: list[str] = field(default_factory=list)
    branch_present: bool = False
    branch_merged: bool | None = None
    forced: bool = False
    why: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cleaned: bool = False
    worktree_hold: bool = False  # something other than --force can fix blocks the worktree's removal
    branch_hold: bool = False

    @property
    def worktree_may_go(self) -> bool:
        return self.worktree_present and not self.worktree_hold and (self.forced or not self.worktree_dirty)

    @property
    def branch_may_go(self) -> bool:
        worktree_stays = self.worktree_present and not self.worktree_may_go
        return (self.branch_present and not self.branch_hold and not worktree_stays
                and (self.forced or bool(self.branch_merged)))

    def plan_text(self) -> list[str]:
        """What --apply does (or did not do) with each part."""
        parts = []
        if self.worktree_present:
            parts.append(f"worktree {self.worktree}: " + ("may go" + (" (forced)" if self.forced else "")
                                                          if self.worktree_may_go else "stays"))
        if self.branch_present:
            parts.append(f"branch {self.branch}: " + ("may go" + (" (forced)" if self.forced else "")
                                                      if self.branch_may_go else "stays"))
        return parts

    def as_dict(self) -> dict:
        return {"worktree_may_go": self.worktree_may_go, "branch_may_go": self.branch_may_go,
                "task": self.task, "status": self.status, "branch": self.branch, "worktree": self.worktree,
                "worktree_present": self.worktree_present, "worktree_dirty": self.worktree_dirty[:50],
                "branch_present": self.branch_present, "branch_merged": self.branch_merged, "forced": self.forced,
                "why": self.why, "blockers": self.blockers, "removed": self.removed, "errors": self.errors,
                "cleaned": self.cleaned}


@dataclass
class Plan:
    entries: list[Entry]
    left_alone: list[dict]
    applied: bool = False


def _decided_on(s: Session, task: Task) -> datetime | None:
    ev = s.scalars(select(Event).where(Event.task_id == task.id, Event.kind == "status", Event.to_value == task.status)
                   .order_by(Event.id.desc()).limit(1)).first()
    at = ev.at if ev else task.updated_at
    return as_utc(at) if at else None


def _registered_worktrees(root: str, timeout: float) -> dict[str, object]:
    res = run_git(root, "worktree", "list", "--porcelain", "-z", timeout=timeout)
    if not res.ok:
        raise UserError(f"cannot list worktrees: {res.error_line()}")
    return {os.path.realpath(r.path): r for r in parse_worktree_list(res.stdout)}


def _inspect(ledger: Ledger, s: Session, proj: Project, task: Task, registered: dict, force: bool,
             timeout: float) -> Entry:
    root = str(ledger.paths.root)
    e = Entry(task=task.key, status=task.status, branch=task.branch, worktree=task.worktree, forced=force)
    on = _decided_on(s, task)
    e.why.append(f"decided {task.status}" + (f" on {on.strftime('%Y-%m-%d')}" if on else ""))
    default = proj.default_branch
    if task.worktree:
        real = os.path.realpath(task.worktree)
        if real == os.path.realpath(root):
            e.blockers.append("the recorded worktree is the integration checkout; never removed")
            e.worktree_hold = True
        elif real in registered:
            e.worktree_present = True
            if os.path.isdir(real):
                st = run_git(real, "status", "--porcelain", "-z", "--untracked-files=all", timeout=timeout)
                if not st.ok:
                    e.blockers.append(f"cannot check the worktree: {st.error_line()}")
                    e.worktree_hold = True
                else:
                    e.worktree_dirty = porcelain_paths(st.stdout)
                    if e.worktree_dirty:
                        e.blockers.append(f"worktree has {len(e.worktree_dirty)} uncommitted change(s)")
            else:
                e.why.append("worktree directory is gone; only git's record of it is left")
            if getattr(registered[real], "locked", False):
                e.blockers.append("worktree is locked (`git worktree unlock` it first)")
                e.worktree_hold = True
        elif os.path.isdir(real):
            e.blockers.append(f"{task.worktree} exists but is not a registered worktree; left alone")
            e.worktree_hold = True
    head = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{task.branch}^{{commit}}", timeout=timeout)
    if head.ok:
        e.branch_present = True
        target = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{default}^{{commit}}", timeout=timeout)
        if target.ok:
            anc = run_git(root, "merge-base", "--is-ancestor", head.text().strip(), target.text().strip(), timeout=timeout)
            e.branch_merged = anc.ok
        if e.branch_merged:
            e.why.append(f"branch merged into {default}")
        else:
            e.blockers.append(f"branch {task.branch} is not merged into {default}")
        checked_out = [p for p, r in registered.items() if getattr(r, "branch", None) == task.branch
                       and p != os.path.realpath(task.worktree or "/nonexistent")]
        if checked_out:
            e.blockers.append(f"branch is checked out in {checked_out[0]}")
            e.branch_hold = True
    if not e.worktree_present and not e.branch_present:
        e.why.append("nothing left on disk")
    return e


def plan(ledger: Ledger, s: Session, proj: Project, force: list[str], timeout: float) -> Plan:
    """Every decided task of this host with something left, and every other task as left alone."""
    host = ledger.settings.hostname
    tasks = list(s.scalars(select(Task).where(Task.project_id == proj.id, Task.status != "cleaned").order_by(Task.id)))
    by_key = {t.key: t for t in tasks}
    for key in force:
        t = by_key.get(key)
        if t is None:
            raise UserError(f"--force {key}: no such task to clean up (see `orch task list`)")
        if t.status not in DECIDED_STATUSES:
            raise UserError(f"--force {key}: the task is not decided (status {t.status}); "
                            f"record a decision first with `orch task set {key} merged|rejected|abandoned`")
    registered = _registered_worktrees(str(ledger.paths.root), timeout)
    entries, left = [], []
    for t in tasks:
        if t.status not in DECIDED_STATUSES:
            left.append({"task": t.key, "status": t.status, "why": "not decided, left alone"})
        elif t.host != host:
            left.append({"task": t.key, "status": t.status, "why": f"its worktree is on host {t.host}; clean up there"})
        else:
            entries.append(_inspect(ledger, s, proj, t, registered, t.key in force, timeout))
    return Plan(entries, left)


def _apply_one(ledger: Ledger, s: Session, proj: Project, e: Entry, timeout: float) -> None:
    root = str(ledger.paths.root)
    task = s.scalars(select(Task).where(Task.project_id == proj.id, Task.key == e.task)).one()
    if e.worktree_may_go:
        args = ["worktree", "remove"] + (["--force"] if e.forced else []) + [os.path.realpath(e.worktree)]
        res = run_git(root, *args, timeout=max(timeout, 60))
        if res.ok:
            e.removed.append(f"worktree {e.worktree}")
            e.worktree_present = False
        else:
            e.errors.append(f"git worktree remove failed: {res.error_line()}")
    if e.branch_may_go:
        flag = "-D" if e.forced else "-d"
        res = run_git(root, "branch", flag, e.branch, timeout=timeout)
        if res.ok:
            e.removed.append(f"branch {e.branch}")
            e.branch_present = False
        else:
            e.errors.append(f"git branch {flag} failed: {res.error_line()}")
    if not e.worktree_present and not e.branch_present:
        now = utcnow()
        what = ", ".join(e.removed) or "nothing (already gone)"
        add_event(s, proj, now, "cleanup", task, note=f"removed {what}", actor="user", host=task.host,
                  data={"removed": e.removed, "forced": e.forced})
        set_status(s, proj, task, "cleaned", now, reason="cleanup", note=f"removed {what}", actor="user")
        if task.condition != "done":
            add_event(s, proj, now, "condition", task, from_value=task.condition, to_value="done",
                      reason="cleaned-up", actor="user", host=task.host)
            task.condition, task.reason, task.condition_since = "done", "cleaned-up", now
        task.extra = {**(task.extra or {}), "verdict": {"evidence": [
            {"kind": "git", "code": "cleaned", "text": f"removed {what} with orch cleanup"}]}}
        e.cleaned = True
    elif e.removed:
        add_event(s, proj, utcnow(), "cleanup", task, note="removed " + ", ".join(e.removed), actor="user",
                  host=task.host, data={"removed": e.removed, "forced": e.forced, "left": e.blockers})


def run_cleanup(ledger: Ledger, apply: bool, force: list[str]) -> Plan:
    """Inspect (and with apply, remove) the leftovers of decided tasks; apply holds the tick lock."""
    timeout = max(ledger.settings.git_timeout.total_seconds(), 30.0)
    if not apply:
        with ledger.session(readonly=True) as s:
            return plan(ledger, s, ledger.project(s), force, timeout)
    try:
        with file_lock(ledger.paths, wait=15.0), ledger.session() as s:
            ledger_lock(s, ledger.settings.project, ledger.settings.hostname)
            proj = ledger.project(s)
            p = plan(ledger, s, proj, force, timeout)
            for e in p.entries:
                _apply_one(ledger, s, proj, e, timeout)
            p.applied = True
            return p
    except TickSkipped:
        raise UserError("a tick holds the lock on this host; try `orch cleanup --apply` again in a moment") from None
