"""`orch doctor`, the session side: line types in the agents' session files that orch does not know (a new format)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from orchestrator.doctor.base import Context, Finding, ok, warn
from orchestrator.ledger.models import SessionFile, Task

RECENT = timedelta(days=7)
SHOWN = 6  # line types named per agent version


def check_session_formats(ctx: Context) -> list[Finding]:
    """Name the line types orch read as activity only because no reader row knows them, with the agent version."""
    if ctx.ledger is None or ctx.project_id is None:
        return []
    host = ctx.settings.hostname if ctx.settings else ""
    root = str(ctx.paths.root)
    with ctx.ledger.session(readonly=True) as s:
        tasks = select(Task.id).where(Task.project_id == ctx.project_id)
        rows = s.execute(select(SessionFile.agent, SessionFile.state).where(
            SessionFile.host == host, SessionFile.updated_at >= ctx.now - RECENT,
            or_(SessionFile.task_id.in_(tasks), SessionFile.cwd == root, SessionFile.cwd.startswith(root + "/")))
        ).all()
    if not rows:
        return []
    unknown: dict[tuple[str, str], dict[str, int]] = {}
    files: dict[tuple[str, str], int] = {}
    for agent, state in rows:
        seen = (state or {}).get("unknown_kinds")
        if not isinstance(seen, dict) or not seen:
            continue
        key = (agent, str((state or {}).get("version") or "unknown version"))
        files[key] = files.get(key, 0) + 1
        into = unknown.setdefault(key, {})
        for kind, n in seen.items():
            into[kind] = into.get(kind, 0) + (n if isinstance(n, int) else 1)
    if not unknown:
        return [ok("sessions.formats", f"every line type in {len(rows)} recent session file(s) is known")]
    out = []
    for (agent, version), kinds in sorted(unknown.items()):
        named = ", ".join(f"{k} ({n})" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:SHOWN])
        more = f" and {len(kinds) - SHOWN} more" if len(kinds) > SHOWN else ""
        out.append(warn("sessions.formats",
                        f"{agent} {version}: {len(kinds)} line type(s) orch does not know, read as activity only: "
                        f"{named}{more} (in {files[(agent, version)]} session file(s))",
                        "update orch; if it still says so, report these line types with the agent version"))
    return out
