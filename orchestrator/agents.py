"""Seam for agent-session evidence (Codex rollouts, Claude transcripts, hook events) used by the tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from orchestrator.db.models import Project, Task
from orchestrator.evidence import AgentState


@dataclass
class AgentProbe:
    """What the session and hook probes learned in one tick."""

    states: dict[int, AgentState] = field(default_factory=dict)  # task id -> fused agent state
    untracked: list[dict] = field(default_factory=list)  # sessions in the repo that belong to no task
    health: dict = field(default_factory=dict)  # counts of skipped lines, unreadable dirs, ...


def collect(ledger, s: Session, proj: Project, tasks: list[Task], paths: dict[int, str], now: datetime,
            dry_run: bool) -> AgentProbe:
    """Read session logs and hook events incrementally and fuse them per task (not yet wired)."""
    return AgentProbe()
