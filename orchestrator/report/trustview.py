"""Pure views of trust items: where the evidence is, in words, and each task's items for its Act now line."""

from __future__ import annotations

import os

from orchestrator.timeutil import parse_iso_lenient

ACT_NOW_SEVERITIES = ("high", "medium")


def pointer_text(p: dict | None, short: bool = False) -> str:
    """Where the evidence is: `session FILE:LINE at HH:MM`, `` `cmd` exited N ``, `PATH (RULE)`, `REF`."""
    if not p:
        return ""
    parts = []
    if p.get("file"):
        name = os.path.basename(p["file"]) if short else p["file"]
        at = parse_iso_lenient(p.get("at"))
        parts.append(f"session {name}" + (f":{p['line']}" if p.get("line") else "")
                     + (f" at {at:%Y-%m-%d %H:%M} UTC" if at else ""))
    if p.get("cmd"):
        code = p.get("exit")
        parts.append(f"`{p['cmd']}` " + ("exit code unknown" if code is None else f"exited {code}")
                     + (f" (line {p['cmd_line']})" if p.get("cmd_line") else ""))
    if p.get("path"):
        parts.append(p["path"] + (f" ({p['rule']})" if p.get("rule") else ""))
    elif p.get("rule"):
        parts.append(p["rule"])
    if p.get("ref"):
        parts.append(p["ref"])
    if p.get("branch"):
        parts.append(f"branch {p['branch']}")
    return "; ".join(parts)


def by_task(trust: dict, severities=ACT_NOW_SEVERITIES) -> dict[str, list[dict]]:
    """The open items of each task at the given severities, worst first (for the Act now lines)."""
    out: dict[str, list[dict]] = {}
    for m in trust.get("open") or []:
        if m.get("task") and m.get("severity") in severities:
            out.setdefault(m["task"], []).append(m)
    return out
