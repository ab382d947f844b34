"""Task records: dispatch with validation and base resolution, decisions, lookups."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger.models import DECIDED_STATUSES, SETTABLE_STATUSES, Project, Task
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import Ledger
from orchestrator.probes.gitparse import parse_worktree_list
from orchestrator.ledger.record import add_event, set_status
from orchestrator.ledger import stack

AGENTS = ("codex", "claude", "other")


@dataclass
class DispatchRequest:
    key: str
    branch: str
    worktree: str | None = None
    pending_id: str | None = None
    base: str | None = None
    title: str | None = None
    package: str | None = None
    allow: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)
    agent: str = "other"
    thread_id: str | None = None
    instruction: str | None = None  # text or @FILE
    constraints: list[str] = field(default_factory=list)
    authority: str = "commit"


def get_task(s: Session, proj: Project, key: str) -> Task:
    task = s.scalars(select(Task).where(Task.project_id == proj.id, Task.key == key)).first()
    if task is None:
        raise UserError(f"unknown task {key!r} (see `orch task list`)")
    return task


def check_branch(ledger: Ledger, branch: str) -> None:
    res = run_git(ledger.paths.root, "check-ref-format", "--branch", branch)
    if not res.ok or branch.startswith("-"):
        raise UserError(f"invalid branch name {branch!r}")


def resolve_commit(ledger: Ledger, ref: str) -> str:
    if ref.startswith("-"):
        raise UserError(f"invalid base {ref!r}")
    res = run_git(ledger.paths.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if not res.ok:
        raise UserError(f"unknown base {ref!r}: not a commit in this repository")
    return res.text().strip()


def default_base(ledger: Ledger, branch: str, default_branch: str) -> tuple[str | None, bool]:
    """Merge-base of the branch and the default branch; the default's HEAD (provisional) if no branch yet."""
    root = ledger.paths.root
    exists = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").ok
    if exists:
        res = run_git(root, "merge-base", f"refs/heads/{branch}", f"refs/heads/{default_branch}")
        if res.ok:
            return res.text().strip(), False
    head = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{default_branch}^{{commit}}")
    if not head.ok:
        raise UserError(f"default branch {default_branch!r} does not exist: set default_branch in .orch/config.toml or pass --base")
    return head.text().strip(), True


def check_worktree(ledger: Ledger, path: str) -> str:
    real = os.path.realpath(os.path.expanduser(path))
    if not os.path.isdir(real):
        raise UserError(f"worktree {path!r} does not exist")
    res = run_git(ledger.paths.root, "worktree", "list", "--porcelain", "-z")
    known = {os.path.realpath(r.path) for r in parse_worktree_list(res.stdout)} if res.ok else set()
    if real not in known:
        raise UserError(f"{path!r} is not a worktree of {ledger.paths.root} (see `git worktree list`)")
    if real == os.path.realpath(ledger.paths.root):
        raise UserError("a worker cannot use the integration checkout itself: give it its own worktree")
    return real


def dispatch(ledger: Ledger, s: Session, proj: Project, req: DispatchRequest, now: datetime) -> Task:
    """Validate and record a task handed to a worker."""
    if s.scalars(select(Task.id).where(Task.project_id == proj.id, Task.key == req.key)).first() is not None:
        raise UserError(f"task {req.key!r} already exists (task ids are unique; see `orch task show {req.key}`)")
    if req.agent not in AGENTS:
        raise UserError(f"invalid agent {req.agent!r}: choose one of {', '.join(AGENTS)}")
    if req.worktree and req.pending_id:
        raise UserError("give either --worktree or --pending-id, not both")
    check_branch(ledger, req.branch)
    clash = s.scalars(select(Task).where(Task.project_id == proj.id, Task.branch == req.branch,
                                         Task.status.not_in(DECIDED_STATUSES + ("cleaned",)))).first()
    if clash is not None:
        raise UserError(f"branch {req.branch!r} already belongs to task {clash.key!r}")
    worktree = check_worktree(ledger, req.worktree) if req.worktree else None
    if req.authority not in stack.AUTHORITIES:
        raise UserError(f"invalid authority {req.authority!r}: choose one of {', '.join(stack.AUTHORITIES)}")
    if req.base:
        base, provisional = resolve_commit(ledger, req.base), False
    else:
        base, provisional = default_base(ledger, req.branch, proj.default_branch)
    task = Task(project_id=proj.id, key=req.key, title=req.title, branch=req.branch, worktree=worktree,
                pending_id=req.pending_id, base_commit=base, base_ref=req.base or proj.default_branch,
                package=req.package, allow=list(req.allow), forbid=list(req.forbid), gates=list(req.gates),
                agent=req.agent, thread_id=req.thread_id, host=ledger.settings.hostname,
                status="active" if worktree else "setup", created_at=now, updated_at=now,
                extra={**({"base_provisional": True} if provisional else {}),
                       "stack": stack.build(ledger.paths.root, base, req.instruction, req.constraints, req.authority)})
    s.add(task)
    s.flush()
    add_event(s, proj, now, "dispatch", task, to_value=task.status, actor="user", host=task.host,
              note=req.title, data={"branch": req.branch, "worktree": worktree, "base": base})
    return task


def decide(ledger: Ledger, s: Session, proj: Project, task: Task, status: str, note: str | None, now: datetime) -> None:
    """Record a decision and re-judge what can be judged without a tick."""
    if status not in SETTABLE_STATUSES:
        raise UserError(f"invalid status {status!r}: choose one of {', '.join(SETTABLE_STATUSES)}")
    if task.status == "cleaned":
        raise UserError(f"task {task.key!r} is cleaned up already; its record is final")
    if task.status == status:
        add_event(s, proj, now, "note", task, note=note, actor="user", to_value=status)
        return
    set_status(s, proj, task, status, now, reason="decision", note=note, actor="user")
    condition = None
    if status in ("blocked", "reviewing"):
        condition = status
    elif status in DECIDED_STATUSES:
        on_disk = bool(task.worktree and os.path.isdir(task.worktree)) or run_git(
            ledger.paths.root, "rev-parse", "--verify", "--quiet", f"refs/heads/{task.branch}").ok
        condition = "cleanup-needed" if on_disk else "done"
    if condition and condition != task.condition:
        add_event(s, proj, now, "condition", task, from_value=task.condition, to_value=condition,
                  reason=f"status-{status}", actor="user", host=task.host)
        task.condition = condition
        task.reason = f"status-{status}"
        task.condition_since = now
        task.extra = {**(task.extra or {}), "verdict": {"evidence": [
            {"kind": "timing", "code": "decision", "text": f"set {status} by a person" + (f": {note}" if note else "")}]}}
