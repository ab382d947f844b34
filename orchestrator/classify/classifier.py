"""The pure classifier: evidence and thresholds in, one verdict per task out (no I/O, no clock)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from orchestrator.classify.evidence import NEXT_ACTION, AgentState, Evidence, GitFacts, TaskInput, Thresholds, Verdict
from orchestrator.classify.budget import REASON_ACTION, Budgets, apply as apply_budget, assess as assess_budget
from orchestrator.classify.fuse import agent_state
from orchestrator.timeutil import format_duration

DECIDED = ("merged", "rejected", "abandoned")


def fingerprint(task: TaskInput) -> str:
    """A digest of every piece of evidence whose change counts as progress."""
    g = task.git
    parts = [
        g.head or "" if g else "-",
        g.dirty_digest if g else "",
        task.agent.fingerprint if task.agent else "",
    ]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def last_progress(task: TaskInput, fp: str, now: datetime) -> datetime:
    """When the evidence last changed: a changed fingerprint counts as now, else the newest timestamp seen."""
    stamps = [task.created_at]
    g = task.git
    if g and g.has_commits and g.head_time:
        stamps.append(g.head_time)
    if g and g.dirty and g.dirty_mtime:
        stamps.append(g.dirty_mtime)
    if task.agent and task.agent.last_activity:
        stamps.append(task.agent.last_activity)
    if task.prev_fingerprint is not None and task.prev_progress_at is not None:
        stamps.append(now if fp != task.prev_fingerprint else task.prev_progress_at)
    return min(max(stamps), now)


def classify(task: TaskInput, th: Thresholds, now: datetime) -> Verdict:
    """Turn one task's evidence into condition, reason, next action and the evidence used."""
    if task.agent is None and (task.sessions or task.hooks):
        task = replace(task, agent=agent_state(task.sessions, task.hooks, now, th.wait_after, th.stale_after))
    fp = fingerprint(task)
    progress = last_progress(task, fp, now)
    condition, reason, ev = _decide(task, th, now, progress)
    facts = _facts(task.git)
    budget = assess_budget(task.budgets or Budgets(), task.status, condition, now)
    reason, ev = apply_budget(condition, reason, ev, budget)
    if task.agent is not None:
        facts["agent"] = task.agent.state  # the state every view shows for the worker's agent
    return Verdict(condition, reason, REASON_ACTION.get(reason, NEXT_ACTION[condition]), tuple(ev), fp, progress,
                   facts, budget)


def _facts(g: GitFacts | None) -> dict:
    if g is None:
        return {}
    return {"head": g.head, "branch": g.branch, "dirty": g.dirty, "has_commits": g.has_commits,
            "merged": g.merged, "path": g.path}


def _git_ev(code: str, text: str, at: datetime | None = None) -> Evidence:
    return Evidence("git", code, text, at)


def _timing(code: str, text: str, at: datetime | None = None) -> Evidence:
    return Evidence("timing", code, text, at)


def _decide(task: TaskInput, th: Thresholds, now: datetime, progress: datetime):
    g = task.git
    status = task.status
    if status == "blocked":
        return "blocked", "status-blocked", [Evidence("timing", "status", "marked blocked by a decision")]
    if status == "cleaned":
        return "done", "cleaned", [_git_ev("cleaned", "worktree and branch removed")]
    if status in DECIDED:
        left = []
        if g is not None and (g.found or g.path_exists):
            left.append(_git_ev("worktree-present", f"worktree still at {g.path}"))
        if g is not None and g.branch_exists:
            left.append(_git_ev("branch-present", f"branch {task.branch} still exists"))
        if left:
            return "cleanup-needed", f"{status}-leftovers", left
        return "done", status, [_git_ev("nothing-left", "no worktree or branch left")]
    if status == "reviewing":
        ev = [Evidence("timing", "status", "under review")]
        if g is not None and g.dirty:
            ev.append(_git_ev("dirty", f"{g.dirty} uncommitted change(s) appeared during review"))
        return "reviewing", "status-reviewing", ev

    setup = _setup(task, th, now)
    if setup is not None:
        return setup
    if g is None:
        return "blocked", "worktree-missing", [_git_ev("worktree-missing", f"no worktree found for {task.branch}")]
    if g.error:
        code = "git-timeout" if g.error == "git-timeout" else "git-failed"
        return "blocked", code, [_git_ev(code, g.error_text or g.error)]
    if not g.found:
        if g.path_exists:
            return "blocked", "not-a-worktree", [_git_ev("not-a-worktree", f"{g.path} is not a worktree of this repository")]
        return "blocked", "worktree-missing", [_git_ev("worktree-missing", f"worktree {g.path} is gone")]
    if g.branch is None:
        return "blocked", "detached-head", [_git_ev("detached-head", f"HEAD detached at {(g.head or '?')[:9]}, expected {task.branch}")]
    if g.branch != task.branch:
        return "blocked", "branch-mismatch", [_git_ev("branch-mismatch", f"on {g.branch}, expected {task.branch}")]
    return _from_work(task, g, task.agent, th, now, progress)


def _setup(task: TaskInput, th: Thresholds, now: datetime):
    """Setup conditions while no usable worktree exists yet; None once work can be judged."""
    g = task.git
    waiting_for_branch = g is not None and g.found and g.branch is None and task.status == "setup"
    if g is not None and not waiting_for_branch and (g.found or task.worktree_recorded):
        return None
    if task.worktree_recorded and task.status != "setup":
        return None
    age = now - task.created_at
    what = "worktree found, branch not checked out yet" if waiting_for_branch else f"no worktree for {task.branch} yet"
    ev = [_git_ev("no-worktree", what), _timing("dispatched", f"dispatched {format_duration(age)} ago", task.created_at)]
    if age <= th.setup_window:
        return "setup-pending", "awaiting-worktree", ev
    return "setup-overdue", "setup-window-passed", ev


def _dirty_text(g: GitFacts) -> str:
    shown = ", ".join(g.dirty_paths[:3])
    more = f" +{g.dirty - 3}" if g.dirty > 3 else ""
    return f"{g.dirty} uncommitted: {shown}{more}" if shown else f"{g.dirty} uncommitted change(s)"


def _from_work(task: TaskInput, g: GitFacts, agent: AgentState | None, th: Thresholds, now: datetime, progress: datetime):
    """Judge a worktree on the right branch: waiting, finished, working or stuck."""
    ev: list[Evidence] = []
    if g.has_commits:
        ev.append(_git_ev("commits", f"commits after base (HEAD {(g.head or '')[:9]})", g.head_time))
    if g.dirty:
        ev.append(_git_ev("dirty", _dirty_text(g), g.dirty_mtime))
    elif not g.has_commits:
        ev.append(_git_ev("no-changes", "clean, no commits after base"))
    if g.merged:
        ev.append(_git_ev("merged", "commits already on the default branch"))
    if g.unverified:
        ev.append(_git_ev("filter-not-run", g.unverified_text or f"{g.unverified} file(s) not judged"))
    git_ev = list(ev)
    agent_ev = list(agent.evidence) if agent is not None else []
    ev = agent_ev + git_ev  # the agent's own state explains agent-driven verdicts best: it goes first
    idle = now - progress
    stale = idle > th.stale_after
    progress_ev = _timing("last-progress", f"last progress {format_duration(idle)} ago", progress)

    if agent is not None:
        if agent.state in ("waiting-approval", "waiting-input"):
            return "waiting-input", agent.state, ev
        if agent.state == "usage-limit":
            return "blocked", "usage-limit", ev
        if agent.state in ("turn-ended", "interrupted", "errored"):
            if g.dirty:
                return "finished-uncommitted", f"{agent.state}-uncommitted", ev
            if g.has_commits:
                return "finished", "committed-clean", ev
            return "no-output", f"{agent.state}-no-changes", ev
        if agent.state == "running":
            if stale:
                reason = "agent-exited" if agent.alive is False else "session-silent"
                return "stuck", reason, ev + [progress_ev]
            return "working", "agent-running", ev + [progress_ev]
    ev = git_ev + agent_ev
    if g.has_commits and not g.dirty:
        return "finished", "committed-clean", ev
    if stale:
        return "stuck", "no-progress", ev + [progress_ev]
    return "working", "recent-progress", ev + [progress_ev]
