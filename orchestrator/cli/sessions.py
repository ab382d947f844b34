"""`orch sessions`: the agent sessions working in this repository, their state, activity, tokens and task."""

from __future__ import annotations

import typer

from orchestrator.cli import app
from orchestrator.cli.common import emit_json, err, g, out
from orchestrator.timeutil import format_duration, parse_iso_lenient, utcnow


@app.command()
def sessions(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Also list finished sessions older than a day."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Agent sessions found on this machine in this repository's worktrees, and the task each belongs to."""
    from orchestrator.ledger.lock import TickSkipped
    from orchestrator.redact import redact
    from orchestrator.tick import run_tick

    ledger = g(ctx).ledger()
    try:
        res = run_tick(ledger, dry_run=True)
    except TickSkipped as skipped:
        err.print(f"orch: {skipped}; try again in a moment", markup=False)
        raise typer.Exit(0)
    now = utcnow()
    rows = []
    for sdict in sorted(res.sessions, key=lambda d: d.get("last_activity") or "", reverse=True):
        last = parse_iso_lenient(sdict.get("last_activity"))
        if not all_ and sdict["state"] != "running" and last and (now - last).total_seconds() > 86400:
            continue
        rows.append({**sdict, "detail": redact(sdict.get("detail"))})
    if json_out:
        emit_json({"sessions": rows, "health": res.context["health"].get("problems", [])}, "sessions")
        return
    if not rows:
        out.print("No agent sessions found in this repository's worktrees "
                  "(looked in $CODEX_HOME/sessions and $CLAUDE_CONFIG_DIR/projects).", markup=False)
        return
    for r in rows:
        last = parse_iso_lenient(r.get("last_activity"))
        ago = f"{format_duration(now - last)} ago" if last else "?"
        tokens = (r.get("tokens") or {}).get("total_tokens")
        who = r["task"] or r["role"]
        how = "" if r["observed"] else " (inferred)"
        tok = f", {tokens:,} tokens" if tokens else ""
        out.print(f"{r['agent']:<6} {who:<16} {r['state']}{how}; last activity {ago}{tok}; {r['cwd']}", markup=False)
        out.print(f"       {r['detail']}", markup=False)
