"""Probes: gather evidence from git, agent session logs, hook events and the clock."""
