"""Where orch meets other tools: agent hooks, the skill, scheduler units, notifications, imports."""
