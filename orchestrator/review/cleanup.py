"""Worktrees and branches of decided tasks: what may go, what blocks it, and removing them on request."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

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
from orchestrator.classify.merged import merge_verdict
from orchestrator.probes.merged import task_merge_facts
from orchestrator.timeutil import as_utc, utcnow


@dataclass
class Entry:
    """One task's leftovers: why they may go, what blocks them, and what --apply did."""

    task: str
    status: str
    branch: str
    worktree: str | None
    worktree_present: bool = False
    worktree_dirty: list[str] = field(default_factory=list)  # changed and untracked files
    worktree_ignored: list[str] = field(default_factory=list)  # ignored files (an .env ...): removal deletes them
    worktree_caches: list[str] = field(default_factory=list)  # tool caches (.pytest_cache …): rebuilt, go with it
    worktree_on_branch: bool = False  # the worktree has the task's branch checked out
    branch_present: bool = False
    branch_merged: bool | None = None
    branch_merge_how: str | None = None  # merge | rebase | squash when merged
    branch_tip: str | None = None  # the branch's commit when it was inspected: deleted only while still there
    forced: bool = False
    why: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    forceable: list[str] = field(default_factory=list)  # the blockers that --force TASK overrides
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cleaned: bool = False
    worktree_hold: bool = False  # something other than --force can fix blocks the worktree's removal
    branch_hold: bool = False

    @property
    def worktree_files(self) -> list[str]:
        """What removing the worktree deletes besides committed work: shown before --force removes it."""
        return self.worktree_dirty + self.worktree_ignored

    @property
    def worktree_may_go(self) -> bool:
        return self.worktree_present and not self.worktree_hold and (self.forced or not self.worktree_files)

    @property
    def branch_may_go(self) -> bool:
        checked_out_here = self.worktree_present and self.worktree_on_branch and not self.worktree_may_go
        return (self.branch_present and not self.branch_hold and not checked_out_here
                and (self.forced or bool(self.branch_merged)))

    def block(self, text: str, part: str | None = None, forceable: bool = False) -> None:
        """Record what keeps a part; part 'worktree' or 'branch' holds it whatever --force says."""
        self.blockers.append(text)
        if forceable:
            self.forceable.append(text)
        if part == "worktree":
            self.worktree_hold = True
        elif part == "branch":
            self.branch_hold = True

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
                "worktree_ignored": self.worktree_ignored[:50], "worktree_caches": self.worktree_caches[:50],
                "branch_present": self.branch_present, "branch_merged": self.branch_merged, "forced": self.forced,
                "why": self.why, "blockers": self.blockers, "forceable": self.forceable, "removed": self.removed,
                "errors": self.errors, "cleaned": self.cleaned}


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


def _in_use(tasks: list[Task], registered: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Worktree paths and branches that tasks not yet decided record or use: path/branch -> who."""
    paths: dict[str, str] = {}
    branches: dict[str, str] = {}
    for t in tasks:
        if t.status in DECIDED_STATUSES or t.status == "cleaned":
            continue
        who = f"task {t.key} (status {t.status})"
        branches.setdefault(t.branch, who)
        if t.worktree:
            paths.setdefault(os.path.realpath(t.worktree), who)
        for path, rec in registered.items():  # the worktree the tick finds for it, recorded or not yet
            if rec.branch == t.branch or (t.pending_id and t.pending_id in Path(path).parts):
                paths.setdefault(path, who)
    for path, who in list(paths.items()):  # a worktree in use keeps the branch it has checked out
        rec = registered.get(path)
        if rec is not None and rec.branch:
            branches.setdefault(rec.branch, who)
    return paths, branches


# What tools rebuild on their own (a gate's pytest run leaves .pytest_cache and __pycache__ behind): files under
# these folders, or with these names, never hold a worker's work, so they do not keep a decided worktree. Anything
# else untracked or ignored (an .env, notes, a local database) still does, unless --force.
CACHE_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tox", ".nox",
                        "node_modules", ".pnpm-store", ".parcel-cache", ".turbo", ".next", ".gradle", ".eslintcache"})
CACHE_FILES = frozenset({".DS_Store", ".coverage"})
CACHE_SUFFIXES = (".pyc", ".pyo")


def is_cache(path: str) -> bool:
    """A file that a build or test tool makes and remakes by itself (see CACHE_DIRS)."""
    parts = path.rstrip("/").split("/")
    return (any(p in CACHE_DIRS for p in parts[:-1]) or parts[-1] in CACHE_DIRS or parts[-1] in CACHE_FILES
            or parts[-1].endswith(CACHE_SUFFIXES))


def _files(real: str, timeout: float) -> tuple[list[str], list[str], list[str]] | str:
    """(changed and untracked, ignored, tool caches) files of a worktree, or why they cannot be known."""
    st = run_git(real, "status", "--porcelain", "-z", "--untracked-files=all", "--ignored", timeout=timeout)
    if not st.ok:
        return f"cannot check the worktree: {st.error_line()}"
    entries = porcelain_paths(st.stdout)
    ignored = {os.fsdecode(x[3:]) for x in st.stdout.split(b"\0") if x.startswith(b"!! ")}
    untracked = {os.fsdecode(x[3:]) for x in st.stdout.split(b"\0") if x.startswith(b"?? ")}
    caches = {p for p in ignored | untracked if is_cache(p)}
    return ([p for p in entries if p not in ignored and p not in caches], sorted(ignored - caches), sorted(caches))


def _inspect_worktree(e: Entry, task: Task, root: str, registered: dict, used: dict[str, str], timeout: float) -> None:
    real = os.path.realpath(task.worktree)
    if real == os.path.realpath(root):
        e.block("the recorded worktree is the integration checkout; never removed", "worktree")
        return
    rec = registered.get(real)
    if rec is None:
        if os.path.isdir(real):
            e.block(f"{task.worktree} exists but is not a registered worktree; left alone", "worktree")
        return
    e.worktree_present = True
    e.worktree_on_branch = rec.branch == task.branch
    if real in used:
        e.block(f"worktree is used by {used[real]}; never removed while that task is open", "worktree")
    elif rec.branch and rec.branch != task.branch:
        e.block(f"the worktree at this path is on branch {rec.branch}, not {task.branch}: not this task's "
                "worktree", "worktree")
    elif rec.branch is None and rec.head:
        keep = run_git(root, "for-each-ref", "--count=1", "--contains", rec.head, "--format=%(refname:short)",
                       "refs/heads", "refs/tags", timeout=timeout)
        if not keep.ok or not keep.text().strip():
            e.block(f"detached HEAD {rec.head[:9]} is on no branch or tag: removing the worktree would lose it "
                    f"(`git -C {shlex.quote(real)} branch NAME` keeps it)", "worktree")
        else:
            e.why.append(f"detached HEAD {rec.head[:9]} is on {keep.text().strip()}")
    if rec.locked:
        e.block("worktree is locked (`git worktree unlock` it first)", "worktree")
    if not os.path.isdir(real):
        e.why.append("worktree directory is gone; only git's record of it is left")
        return
    if os.path.lexists(os.path.join(real, ".gitmodules")):
        e.block("worktree has submodules (.gitmodules), which orch does not look inside: remove it by hand",
                "worktree")
    if e.worktree_hold:
        return
    files = _files(real, timeout)
    if isinstance(files, str):
        e.block(files, "worktree")
        return
    e.worktree_dirty, e.worktree_ignored, e.worktree_caches = files
    if e.worktree_caches:
        e.why.append(f"{len(e.worktree_caches)} tool cache file(s) ({', '.join(e.worktree_caches[:2])}"
                     f"{', …' if len(e.worktree_caches) > 2 else ''}) go with the worktree: tools rebuild them")
    if e.worktree_dirty:
        e.block(f"worktree has {len(e.worktree_dirty)} uncommitted change(s)", forceable=True)
    if e.worktree_ignored:
        e.block(f"worktree holds {len(e.worktree_ignored)} ignored file(s) ({', '.join(e.worktree_ignored[:3])}"
                f"{', …' if len(e.worktree_ignored) > 3 else ''}); removing it deletes them", forceable=True)


def _inspect(ledger: Ledger, s: Session, proj: Project, task: Task, registered: dict, used: tuple[dict, dict],
             force: bool, timeout: float) -> Entry:
    root = str(ledger.paths.root)
    e = Entry(task=task.key, status=task.status, branch=task.branch, worktree=task.worktree, forced=force)
    on = _decided_on(s, task)
    e.why.append(f"decided {task.status}" + (f" on {on.strftime('%Y-%m-%d')}" if on else ""))
    default = proj.default_branch
    used_paths, used_branches = used
    if task.worktree:
        _inspect_worktree(e, task, root, registered, used_paths, timeout)
    head = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{task.branch}^{{commit}}", timeout=timeout)
    if head.ok:
        e.branch_present = True
        e.branch_tip = head.text().strip()
        if task.branch in used_branches:
            e.block(f"branch {task.branch} is used by {used_branches[task.branch]}; never deleted while that task "
                    "is open", "branch")
        # Deleting a branch loses nothing when its tip is in the default branch (merged, or no commits of its own);
        # else the one answer to "is it merged" (classify/merged.py) that `task set` and the tick give: a rebase or
        # squash into the default branch, or a merge into its remote-tracking branch.
        anc = run_git(root, "merge-base", "--is-ancestor", head.text().strip(), f"refs/heads/{default}",
                      timeout=timeout)
        if anc.ok:
            e.branch_merged, e.branch_merge_how = True, "merge"
            e.why.append(f"branch merged into {default}")
        else:
            verdict = merge_verdict(task_merge_facts(root, task.branch, (task.extra or {}).get("last_head"),
                                                     task.base_commit, default, timeout), task.branch)
            e.branch_merged = verdict.merged
            e.branch_merge_how = (verdict.how if verdict.how != "merge" else "remote") if verdict.merged else None
            if verdict.merged:
                e.why.append(f"branch merged into {verdict.ref}" + (f" ({verdict.how})" if verdict.how != "merge" else ""))
            else:
                e.why.append(f"git shows {verdict.text}")
                e.block(f"branch {task.branch} is not merged into {default}", forceable=True)
        mine = os.path.realpath(task.worktree) if task.worktree and e.worktree_on_branch else None
        checked_out = [p for p, r in registered.items() if r.branch == task.branch and p != mine]
        if checked_out and task.branch not in used_branches:
            e.block(f"branch is checked out in {checked_out[0]}", "branch")
    if not e.worktree_present and not e.branch_present:
        e.why.append("nothing left on disk")
    return e


def plan(ledger: Ledger, s: Session, proj: Project, force: list[str], timeout: float) -> Plan:
    """Every decided task of this host with something left, and every other task as left alone.

    The one place that decides what may go: the dry run shows it, --apply does exactly it (under the lock)."""
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
    used = _in_use(tasks, registered)
    entries, left = [], []
    for t in tasks:
        if t.status not in DECIDED_STATUSES:
            left.append({"task": t.key, "status": t.status, "why": "not decided, left alone"})
        elif t.host != host:
            left.append({"task": t.key, "status": t.status, "why": f"its worktree is on host {t.host}; clean up there"})
        else:
            entries.append(_inspect(ledger, s, proj, t, registered, used, t.key in force, timeout))
    return Plan(entries, left)


def _apply_one(ledger: Ledger, s: Session, proj: Project, e: Entry, timeout: float) -> None:
    root = str(ledger.paths.root)
    task = s.scalars(select(Task).where(Task.project_id == proj.id, Task.key == e.task)).one()
    if e.worktree_may_go:
        # git refuses untracked files without --force: tool caches (all that may be left unforced) go with it
        force = e.forced or bool(e.worktree_caches)
        args = ["worktree", "remove"] + (["--force"] if force else []) + [os.path.realpath(e.worktree)]
        res = run_git(root, *args, timeout=max(timeout, 60))
        if res.ok:
            e.removed.append(f"worktree {e.worktree}")
            e.worktree_present = False
        else:
            e.errors.append(f"git worktree remove failed: {res.error_line()}")
    if e.branch_may_go:
        # orch asked git itself whether the tip is merged (into the default branch, by any of the ways the tick
        # knows) or was told --force: `git branch -D`, but only while the branch is still at the commit inspected.
        # (`git branch -d` judges by the checked-out branch or the branch's upstream instead, and would refuse
        # what the dry run said may go.)
        tip = run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{e.branch}^{{commit}}", timeout=timeout)
        now = tip.text().strip() if tip.ok else None
        if now != e.branch_tip:
            e.errors.append(f"branch {e.branch} moved since it was inspected ({(e.branch_tip or '?')[:9]} → "
                            f"{(now or 'gone')[:9]}): kept; run `orch cleanup` again")
        else:
            res = run_git(root, "branch", "-D", e.branch, timeout=timeout)
            if res.ok:
                e.removed.append(f"branch {e.branch}")
                e.branch_present = False
            else:
                e.errors.append(f"git branch -D failed: {res.error_line()}")
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
        # what views show until the next tick: the part that went is no longer "still there"
        verdict = dict((task.extra or {}).get("verdict") or {})
        gone = ({"worktree-present"} if not e.worktree_present else set()) | \
               ({"branch-present"} if not e.branch_present else set())
        evidence = [x for x in verdict.get("evidence") or [] if x.get("code") not in gone]
        evidence.append({"kind": "git", "code": "cleanup-partial",
                         "text": f"orch cleanup removed {', '.join(e.removed)}; kept the rest: {'; '.join(e.errors)}"[:300]})
        task.extra = {**(task.extra or {}), "verdict": {**verdict, "evidence": evidence}}


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
