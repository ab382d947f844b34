"""Task records: dispatch with validation and base resolution, decisions, lookups."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchestrator.ledger.models import DECIDED_STATUSES, SETTABLE_STATUSES, Project, Task
from orchestrator.errors import UserError
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import Ledger
from orchestrator.system.gitparse import parse_worktree_list
from orchestrator.ledger.record import add_event, set_status
from orchestrator.ledger import budgets, stack

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
    max_runtime: timedelta | None = None  # budgets (None: none); the CLI fills in config.toml's defaults
    review_budget: timedelta | None = None
    accept: list[str] = field(default_factory=list)  # acceptance criteria: testable statements the review checks
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


def check_worktree(ledger: Ledger, path: str, branch: str) -> str:
    """The worktree a dispatch names must exist, be a worktree of this repository and be on the task's branch."""
    real = os.path.realpath(os.path.expanduser(path))
    root = ledger.paths.root
    has_branch = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").ok
    if not os.path.isdir(real):
        add = (f"git worktree add {shlex.quote(path)} {shlex.quote(branch)}" if has_branch
               else f"git worktree add -b {shlex.quote(branch)} {shlex.quote(path)}")
        raise UserError(f"worktree {path!r} does not exist: create it first with `{add}`")
    res = run_git(root, "worktree", "list", "--porcelain", "-z")
    known = {os.path.realpath(r.path): r for r in parse_worktree_list(res.stdout)} if res.ok else {}
    if real not in known:
        raise UserError(f"{path!r} is not a worktree of {root} (see `git worktree list`)")
    if real == os.path.realpath(root):
        raise UserError("a worker cannot use the integration checkout itself: give it its own worktree")
    on = known[real].branch
    if on != branch:
        switch = f"git -C {shlex.quote(real)} switch {'' if has_branch else '-c '}{shlex.quote(branch)}"
        where = f"on branch {on}" if on else "on a detached HEAD"
        raise UserError(f"worktree {path!r} is {where}, not {branch}: run `{switch}` first, or dispatch with "
                        f"the branch it is on")
    return real


def refuse_taken(s: Session, proj: Project, branch: str, worktree: str | None) -> None:
    """A worktree or a branch that a task not yet decided records belongs to that task: one line, exit 2."""
    open_ = Task.status.not_in(DECIDED_STATUSES + ("cleaned",))
    clash = s.scalars(select(Task).where(Task.project_id == proj.id, Task.branch == branch, open_)).first()
    if clash is not None:
        raise UserError(f"branch {branch!r} already belongs to task {clash.key!r} (status {clash.status}): "
                        f"decide that task first (`orch task set {clash.key} merged|rejected|abandoned`)")
    if worktree:
        for t in s.scalars(select(Task).where(Task.project_id == proj.id, Task.worktree.is_not(None), open_)):
            if os.path.realpath(t.worktree) == worktree:
                raise UserError(f"worktree {worktree} already belongs to task {t.key!r} (status {t.status}): "
                                f"give this worker a worktree of its own (`git worktree add -b {shlex.quote(branch)} "
                                f"PATH`), or decide {t.key} first")


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
    worktree = check_worktree(ledger, req.worktree, req.branch) if req.worktree else None
    req.accept = stack.criteria(req.accept)
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
    refuse_taken(s, proj, req.branch, None)
    if prepared is None:
        prepared = prepare(ledger, req, proj.default_branch)
    worktree, base, provisional = prepared.worktree, prepared.base, prepared.provisional
    refuse_taken(s, proj, req.branch, worktree)
    from orchestrator.ledger.packages import guard_dispatch

    guard_dispatch(s, proj, req.package, req.switch_reason, now, ledger.settings.hostname)
    task = Task(project_id=proj.id, key=req.key, title=req.title, branch=req.branch, worktree=worktree,
                pending_id=req.pending_id, base_commit=base, base_ref=req.base or proj.default_branch,
                package=req.package, allow=list(req.allow), forbid=list(req.forbid), gates=list(req.gates),
                agent=req.agent, thread_id=req.thread_id, host=ledger.settings.hostname,
                status="active" if worktree else "setup", created_at=now, updated_at=now,
                started_at=now if worktree else None, max_runtime_s=budgets.seconds(req.max_runtime),
                review_budget_s=budgets.seconds(req.review_budget), accept=list(req.accept) or None,
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


def check_decision(status: str, force: bool) -> None:
    """A decision a person may record: one line for a bad status, or --force on anything but `merged`."""
    if status not in SETTABLE_STATUSES:
        raise UserError(f"invalid status {status!r}: choose one of {', '.join(SETTABLE_STATUSES)}")
    if force and status != "merged":
        raise UserError("--force applies to `merged` only (a decision git cannot confirm)")


def decide(ledger: Ledger, s: Session, proj: Project, task: Task, status: str, note: str | None, now: datetime,
           force: bool = False, evidence: dict | None = None) -> dict | None:
    """Record a decision and re-judge what can be judged without a tick. A `merged` decision comes with the
    evidence git gave (review/decision.py asks it before this write); returns that evidence."""
    check_decision(status, force)
    if status != "merged" or task.status in ("merged", "cleaned"):
        evidence = None
    # Re-read under a row lock (PostgreSQL): a tick writing this task finishes first, and the decision is
    # applied to what it wrote, so the history is true and the person's decision is the last word.
    s.refresh(task, with_for_update=True)
    if task.status == "cleaned":
        raise UserError(f"task {task.key!r} is cleaned up already; its record is final")
    if task.status == status:
        add_event(s, proj, now, "note", task, note=note, actor="user", to_value=status)
        return None
    if status not in DECIDED_STATUSES:
        clash = s.scalars(select(Task).where(Task.project_id == proj.id, Task.open_branch == task.branch,
                                             Task.id != task.id)).first()
        if clash is not None:
            raise UserError(f"branch {task.branch!r} belongs to open task {clash.key!r} now: decide about that one first")
    reason = "decision" if evidence is None or evidence["verified"] else "decision-unverified"
    set_status(s, proj, task, status, now, reason=reason, note=note, actor="user", evidence=evidence)
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
        told = [{"kind": "timing", "code": "decision", "text": f"set {status} by a person" + (f": {note}" if note else "")}]
        if evidence is not None:
            told.append({"kind": "git", "code": "merged" if evidence["verified"] else "merge-unverified",
                         "text": evidence["git"] if evidence["verified"] else f"unverified: git shows {evidence['git']}"})
        task.extra = {**(task.extra or {}), "verdict": {**((task.extra or {}).get("verdict") or {}), "evidence": told}}
    return evidence
