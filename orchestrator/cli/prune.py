"""`orch db prune`: retention you can run, and see, by hand."""

from __future__ import annotations

from typing import Optional

import typer

from orchestrator.cli.common import emit_json, g, out, parse_now
from orchestrator.cli.db import db_app
from orchestrator.timeutil import parse_duration, utcnow


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


@db_app.command("prune")
def db_prune(
    ctx: typer.Context,
    keep: Optional[str] = typer.Option(None, "--keep", help="Keep this much history, e.g. 30d (default: retention)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; remove nothing."),
    now: Optional[str] = typer.Option(None, "--now", help="Set the clock (ISO-8601), for replay and tests."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Remove ledger history older than --keep (never a task's current run, a decision or a misalignment)."""
    from orchestrator.ledger.retention import prune_ledger

    keep_td = parse_duration(keep, "--keep") if keep else None
    clock = parse_now(now) or utcnow()
    ledger = g(ctx).ledger()
    res = prune_ledger(ledger, clock, keep_td, dry_run=dry_run)
    if json_out:
        emit_json(res, "db-prune")
        return
    verb = "Would remove" if dry_run else "Removed"
    rows = res["rows"]
    listed = ", ".join(f"{table} {n}" for table, n in rows.items())
    out.print(f"{verb} rows older than {res['cutoff']}: {listed} ({sum(rows.values())} in all).", markup=False)
    if res["merged_into_runs"]:
        verb = "Would merge" if dry_run else "Merged"
        out.print(f"{verb} {res['merged_into_runs']} per-tick observation(s) into runs.", markup=False)
    if dry_run:
        out.print(f"Ledger size {_size(res['bytes_before'])}; run without --dry-run to remove them.", markup=False)
    elif res["bytes_freed"] is not None:
        out.print(f"VACUUM freed {_size(res['bytes_freed'])}: the ledger is {_size(res['bytes_after'])}.", markup=False)
    else:
        out.print(f"The ledger is {_size(res['bytes_after'])} (PostgreSQL reuses the space; VACUUM FULL returns it).",
                  markup=False)
