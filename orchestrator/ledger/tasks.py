"""Task records: dispatch with validation and base resolution, decisions, lookups."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.ledger.models import DECIDED_STATUSES, SETTABLE_STATUSES, Project, Task
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import Ledger
from orchestrator.system.gitparse import parse_worktree_list
from orchestrator.ledger.record import add_event, set_status
from orchestrator.ledger import stack

AGENTS = ("codex", "claude", "other")
# The same limits on SQLite and PostgreSQL (the columns' sizes), checked before anything is written.
LIMITS = {"branch": 255, "pending_id": 255, "base": 255, "thread_id": 255, "package": 200, "title": 2000}


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
    switch_reason: str | None = None  # why a dispatch moves the active package lane (see ledger/packages.py)
    instruction: str | None = None  # text or @FILE
    constraints: list[str] = field(default_factory=list)
    authority: str = "commit"
    authority_given: bool = True  # False: --authority was not passed (commit by default)


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


@dataclass
class Prepared:
    """What git says about a dispatch, found before the write transaction opens (git may be slow)."""

    worktree: str | None
    base: str | None
    provisional: bool
    stack: dict | None = None  # the constraint stack, with the rule files at base (ledger/stack.py)


def prepare(ledger: Ledger, req: DispatchRequest, default_branch: str) -> Prepared:
    """Validate a dispatch request and ask git about it; no ledger access, so no lock is held meanwhile."""
    for name, limit in LIMITS.items():
        value = getattr(req, name)
        if value is not None and len(value) > limit:
            raise UserError(f"--{name.replace('_', '-')} is too long ({len(value)} characters; at most {limit})")
    if req.agent not in AGENTS:
        raise UserError(f"invalid agent {req.agent!r}: choose one of {', '.join(AGENTS)}")
    if req.worktree and req.pending_id:
        raise UserError("give either --worktree or --pending-id, not both")
    check_branch(ledger, req.branch)
    worktree = check_worktree(ledger, req.worktree) if req.worktree else None
    if req.authority not in stack.AUTHORITIES:
        raise UserError(f"invalid authority {req.authority!r}: choose one of {', '.join(stack.AUTHORITIES)}")
    if req.base:
        base, provisional = resolve_commit(ledger, req.base), False
    else:
        base, provisional = default_base(ledger, req.branch, default_branch)
    return Prepared(worktree, base, provisional,
                    stack.build(ledger.paths.root, base, req.instruction, req.constraints, req.authority,
                                req.authority_given))


def dispatch(ledger: Ledger, s: Session, proj: Project, req: DispatchRequest, now: datetime,
             prepared: Prepared | None = None) -> Task:
    """Validate and record a task handed to a worker (`prepared`: the git answers, from `prepare`)."""
    if s.scalars(select(Task.id).where(Task.project_id == proj.id, Task.key == req.key)).first() is not None:
        raise _duplicate_key(req.key)
    clash = s.scalars(select(Task).where(Task.project_id == proj.id, Task.branch == req.branch,
                                         Task.status.not_in(DECIDED_STATUSES + ("cleaned",)))).first()
    if clash is not None:
        raise UserError(f"branch {req.branch!r} already belongs to task {clash.key!r}")
    if prepared is None:
        prepared = prepare(ledger, req, proj.default_branch)
    worktree, base, provisional = prepared.worktree, prepared.base, prepared.provisional
    from orchestrator.ledger.packages import guard_dispatch

    guard_dispatch(s, proj, req.package, req.switch_reason, now, ledger.settings.hostname)
    task = Task(project_id=proj.id, key=req.key, title=req.title, branch=req.branch, worktree=worktree,
                pending_id=req.pending_id, base_commit=base, base_ref=req.base or proj.default_branch,
                package=req.package, allow=list(req.allow), forbid=list(req.forbid), gates=list(req.gates),
                agent=req.agent, thread_id=req.thread_id, host=ledger.settings.hostname,
                status="active" if worktree else "setup", created_at=now, updated_at=now,
                extra={**({"base_provisional": True} if provisional else {}),
                       "stack": prepared.stack})
    s.add(task)
    try:
        with s.begin_nested():  # a concurrent dispatch may have won since the checks above
            s.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "open_branch" in text:
            raise UserError(f"branch {req.branch!r} already belongs to another open task (see `orch task list`)") from None
        if "key" in text:
            raise _duplicate_key(req.key) from None
        raise
    add_event(s, proj, now, "dispatch", task, to_value=task.status, actor="user", host=task.host,
              note=req.title, data={"branch": req.branch, "worktree": worktree, "base": base})
    return task


def _duplicate_key(key: str) -> UserError:
    return UserError(f"task {key!r} already exists (task ids are unique; see `orch task show {key}`)")


def decide(ledger: Ledger, s: Session, proj: Project, task: Task, status: str, note: str | None, now: datetime) -> None:
    """Record a decision and re-judge what can be judged without a tick."""
    if status not in SETTABLE_STATUSES:
        raise UserError(f"invalid status {status!r}: choose one of {', '.join(SETTABLE_STATUSES)}")
    # Re-read under a row lock (PostgreSQL): a tick writing this task finishes first, and the decision is
    # applied to what it wrote, so the history is true and the person's decision is the last word.
    s.refresh(task, with_for_update=True)
    if task.status == "cleaned":
        raise UserError(f"task {task.key!r} is cleaned up already; its record is final")
    if task.status == status:
        add_event(s, proj, now, "note", task, note=note, actor="user", to_value=status)
        return
    if status not in DECIDED_STATUSES:
        clash = s.scalars(select(Task).where(Task.project_id == proj.id, Task.open_branch == task.branch,
                                             Task.id != task.id)).first()
        if clash is not None:
            raise UserError(f"branch {task.branch!r} belongs to open task {clash.key!r} now: decide about that one first")
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
