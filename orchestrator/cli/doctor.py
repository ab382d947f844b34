"""`orch doctor`: a health check of the whole set-up, one line per finding with the fix."""

from __future__ import annotations

import typer

from orchestrator.cli import app
from orchestrator.cli.common import emit_json, g, out
from orchestrator.cli.hints import runnable


@app.command("doctor")
def doctor_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check git, the ledger, config, schedule, hooks, sessions, reports and notifications.

    Prints `ok|warn|fail  CHECK: what was found`, with the fix under each warn and fail.
    Exits 0 when nothing fails (warnings allowed), 1 when any check fails, 2 for bad usage.
    """
    from orchestrator.doctor import run as doctor_mod  # imports Alembic: only for this command

    paths = g(ctx).paths()
    findings = doctor_mod.run_checks(paths, g(ctx).db)
    code = doctor_mod.exit_code(findings)
    counts = {s: sum(1 for f in findings if f.status == s) for s in doctor_mod.STATUSES}
    if json_out:
        emit_json({"root": str(paths.root), "ok": code == 0, "counts": counts,
                   "findings": [f.as_dict() for f in findings]}, "doctor")
    else:
        for f in findings:
            out.print(f"{f.status:<4}  {f.check}: {f.detail}", markup=False)
            if f.fix and f.status != "ok":
                out.print(f"      fix: {runnable(f.fix, command=True)}", markup=False)
        out.print(f"{counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail", markup=False)
    if code:
        raise typer.Exit(code)
