"""Agent-session evidence: Codex rollouts, Claude Code transcripts and hook events, read without owning the agent."""
