"""orch: a daemon-less heartbeat job runner for AI coding agents in git worktrees."""

__version__ = "0.1.0"
