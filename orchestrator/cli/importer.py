"""`orch import codex-orchestrator PATH`: bring tasks and history over from codex-orchestrator."""

from __future__ import annotations

from pathlib import Path

import typer

from orchestrator.cli import app
from orchestrator.cli.common import emit_json, err, g, out
from orchestrator.cli.hints import runnable

import_app = typer.Typer(help="Import tasks from another orchestration tool.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("codex-orchestrator")
def import_codex_orchestrator(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A .codex-orchestrator folder, or its ledger.json."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be imported; write nothing."),
    apply_settings: bool = typer.Option(False, "--apply-settings",
                                        help="Also set orch's mode from dispatchMode and max_concurrency from "
                                             "maxConcurrency (default: only report them)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import a codex-orchestrator ledger.json (and events.jsonl beside it) as orch tasks and events."""
    from orchestrator.integrations.codex_orchestrator import load_source, run_import
    from orchestrator.timeutil import utcnow

    load_source(path)  # bad input fails before the ledger is opened
    ledger = g(ctx).ledger()
    res = run_import(ledger, path, utcnow(), dry_run=dry_run, apply_settings=apply_settings)
    if json_out:
        emit_json(res.as_dict(), "import")
        return
    verb = "Would import" if dry_run else "Imported"
    out.print(f"{verb} {len(res.imported)} task(s) and {res.events} event(s) from {res.source}.", markup=False)
    for r in res.imported:
        was = f" (was {r['original_status']})" if r["original_status"] != r["status"] else ""
        orig = f" [id {r['original_id']}]" if r["original_id"] != r["id"] else ""
        out.print(f"  {r['id']}{orig}: {r['status']}{was}, {r['branch']}", markup=False)
    for r in res.skipped:
        out.print(f"Skipped {r['id']}: {r['reason']}.", markup=False)
    for r in res.invalid:
        err.print(f"Invalid task {r['original_id']} (entry {r['index']}): {r['reason']}; not imported.", markup=False)
    extras = []
    if res.project_events:
        extras.append(f"{res.project_events} project event(s)")
    if res.heartbeats_skipped:
        extras.append(f"{res.heartbeats_skipped} heartbeat event(s) left out")
    if res.bad_event_lines:
        extras.append(f"{res.bad_event_lines} unreadable events.jsonl line(s) skipped")
    if extras:
        out.print("Also: " + "; ".join(extras) + ".", markup=False)
    st = res.settings
    if st["dispatch_mode"] is not None or st["max_concurrency"] is not None:
        parts = [f"dispatch mode {st['dispatch_mode']}" if st["dispatch_mode"] else None,
                 f"max concurrency {st['max_concurrency']}" if st["max_concurrency"] is not None else None]
        said = ", ".join(p for p in parts if p)
        if st["applied"] and not dry_run:
            out.print(f"Applied its settings: {said}.", markup=False)
        else:
            out.print(runnable(f"Its settings: {said} (not applied; pass --apply-settings, or use `orch mode` "
                               "and max_concurrency in .orch/config.toml)."), markup=False)
    if res.imported and not dry_run:
        out.print(runnable("Next: `orch tick` to classify the imported tasks."), markup=False)
