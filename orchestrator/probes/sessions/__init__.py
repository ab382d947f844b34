"""Agent session logs: Codex rollouts and Claude Code transcripts, found and read incrementally."""
