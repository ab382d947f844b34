"""What a worker did, from its session log line by line: commands and exit codes, edits, final claims, pushback.

The trail is a small JSON-able dict kept in SessionFile.state["trail"], bounded in size: the recent
commands, the last run of each kind of check, git operations that may exceed authority, the time of the
last file edit, the claims of the final message (never the message itself), interrupts and corrections,
and where each was in the file (line numbers). Long-running commands are followed to their end: Codex
`exec_command` answering "Process running with session ID N" ends with a later `write_stdin` poll (or an
`exec_command_end`), a Claude background `Bash` with its task notification or a `BashOutput` poll.
"""

from __future__ import annotations

from orchestrator.probes.sessions import trail_claude, trail_codex
from orchestrator.probes.sessions.trail_steps import new

__all__ = ["claims_of", "feed", "new"]


def feed(st: dict, obj, line: int | None = None) -> None:
    """Update st["trail"] from one decoded line (number `line` in the file) of this agent's session log; never
    raises on odd shapes."""
    if not isinstance(obj, dict):
        return
    tr = st.get("trail")
    if not isinstance(tr, dict):
        tr = st["trail"] = new()
    for key, empty in (("running", {}), ("polls", {}), ("asked", []), ("rules_asked", [])):
        tr.setdefault(key, empty)  # trails written before these existed
    tr["line"] = line
    try:
        if st.get("agent") == "codex":
            trail_codex.feed(tr, obj)
        elif st.get("agent") == "claude":
            trail_claude.feed(tr, obj)
    except (TypeError, ValueError, AttributeError, KeyError):
        return


def claims_of(trail: dict | None) -> dict | None:
    """The message the worker ended on: the last text with nothing done after it, else its last final answer."""
    if not trail:
        return None
    return trail.get("draft") or trail.get("final")
