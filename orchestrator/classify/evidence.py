"""Plain data passed from the probes to the pure classifier, and the verdicts it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from orchestrator.timeutil import iso

if TYPE_CHECKING:
    from orchestrator.classify.budget import Budgets

EVIDENCE_KINDS = ("git", "session-log", "hook", "timing")

CONDITIONS = (
    "setup-pending", "setup-overdue", "working", "waiting-input", "stuck", "finished",
    "finished-uncommitted", "no-output", "blocked", "reviewing", "cleanup-needed", "done",
)

# The overall status of a report, most urgent first, and which conditions feed each.
OVERALL_ORDER = ("waiting-input", "blocked", "stuck", "review-needed", "cleanup-needed", "dispatch-possible", "quiet")
CONDITION_OVERALL = {
    "waiting-input": "waiting-input",
    "blocked": "blocked",
    "setup-overdue": "blocked",
    "stuck": "stuck",
    "finished-uncommitted": "stuck",
    "no-output": "stuck",
    "finished": "review-needed",
    "reviewing": "review-needed",
    "cleanup-needed": "cleanup-needed",
}
ATTENTION = tuple(CONDITION_OVERALL)  # conditions that need the orchestrator

NEXT_ACTION = {
    "setup-pending": "wait",
    "setup-overdue": "inspect the dispatch",
    "working": "none",
    "waiting-input": "answer the worker",
    "stuck": "inspect or nudge the worker",
    "finished": "review",
    "finished-uncommitted": "ask the worker to commit",
    "no-output": "re-brief or abandon",
    "blocked": "resolve the blocker",
    "reviewing": "finish the review",
    "cleanup-needed": "orch cleanup",
    "done": "none",
}


@dataclass(frozen=True)
class Evidence:
    """One fact a verdict rests on: its kind, a short code, a few words, and when."""

    kind: str
    code: str
    text: str
    at: datetime | None = None

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "code": self.code, "text": self.text}
        if self.at is not None:
            out["at"] = iso(self.at)
        return out


@dataclass(frozen=True)
class GitFacts:
    """What git says about a task's worktree and branch."""

    found: bool  # the worktree is in `git worktree list`
    path: str | None = None
    path_exists: bool = False
    head: str | None = None
    branch: str | None = None  # None when detached
    dirty: int = 0  # uncommitted entries, untracked included
    dirty_paths: tuple[str, ...] = ()  # a few, for the report
    dirty_mtime: datetime | None = None  # newest mtime among uncommitted files
    dirty_digest: str = ""  # changes whenever the set or content (mtime, size) changes
    has_commits: bool = False  # HEAD moved past the base
    head_time: datetime | None = None
    branch_exists: bool = True
    merged: bool = False  # the branch's commits reached the default branch
    error: str | None = None  # git-timeout | git-failed
    error_text: str | None = None
    unverified: int = 0  # files git saw differ only because orch did not run their filter (not in dirty)
    unverified_text: str | None = None


@dataclass(frozen=True)
class AgentState:
    """What the worker's agent is doing, fused from its session logs and hook events.

    state: running | turn-ended | interrupted | waiting-approval | waiting-input | errored | usage-limit
    observed: True when an explicit event says so, False when inferred from timing.
    """

    state: str
    observed: bool
    at: datetime | None
    last_activity: datetime | None
    evidence: tuple[Evidence, ...] = ()
    fingerprint: str = ""  # changes whenever the logs grow or a hook event arrives
    alive: bool | None = None  # the agent's process: False when it is gone (killed, crashed), None when unknown


@dataclass(frozen=True)
class SessionFacts:
    """What the session probe read about one agent session file: its parse state and file facts, no verdict."""

    agent: str
    path: str
    state: dict  # the parser's state (probes/sessions/codex.py, claude.py)
    size: int = 0
    mtime: datetime | None = None
    archived: bool = False
    subagent: bool = False  # a subagent's own transcript; `session_id` is its parent's
    hooks_seen: bool = False  # this agent's hooks have reported on this host: approval waits are not guessed
    alive: bool | None = None  # the agent's process, checked while the turn is open (None: cannot tell)

    @property
    def session_id(self) -> str | None:
        return self.state.get("id")


@dataclass(frozen=True)
class HookView:
    """One hook event as the fusion needs it."""

    id: int
    agent: str
    event: str
    at: datetime
    session_id: str | None = None
    detail: str | None = None  # notification type, tool name, reason or source


@dataclass(frozen=True)
class Thresholds:
    stale_after: timedelta = timedelta(minutes=20)
    setup_window: timedelta = timedelta(minutes=15)
    wait_after: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class TaskInput:
    """Everything the classifier needs about one task, and nothing it has to fetch."""

    key: str
    status: str
    branch: str
    created_at: datetime
    worktree_recorded: bool = False
    pending_id: str | None = None
    git: GitFacts | None = None  # None: no worktree found for the task
    agent: AgentState | None = None  # when None, fused here from `sessions` and `hooks` with the thresholds
    sessions: tuple[SessionFacts, ...] = ()
    hooks: tuple[HookView, ...] = ()
    prev_fingerprint: str | None = None
    prev_progress_at: datetime | None = None
    budgets: Budgets | None = None  # runtime and review budgets with their clocks (classify/budget.py)


@dataclass(frozen=True)
class Verdict:
    """The classifier's answer for one task at one tick."""

    condition: str
    reason: str
    next_action: str
    evidence: tuple[Evidence, ...]
    fingerprint: str
    progress_at: datetime | None
    facts: dict = field(default_factory=dict)
    budget: dict = field(default_factory=dict)  # budgets, what is used of them, the overrun (classify/budget.py)

    @property
    def attention(self) -> bool:
        return self.condition in ATTENTION or bool(self.budget.get("over"))

    def evidence_dicts(self) -> list[dict]:
        return [e.to_dict() for e in self.evidence]
