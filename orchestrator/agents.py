"""Seam between the tick and agent-session evidence (Codex rollouts, Claude transcripts, hook events)."""

from __future__ import annotations

from orchestrator.sessions.probe import AgentProbe, collect

__all__ = ["AgentProbe", "collect"]
