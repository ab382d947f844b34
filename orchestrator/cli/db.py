"""`orch db upgrade|current`: ledger maintenance (`orch db prune` lives in cli/prune.py)."""

from __future__ import annotations

import typer

from orchestrator.cli import app
from orchestrator.cli.common import emit_json, g, out

db_app = typer.Typer(help="Ledger maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Apply pending ledger migrations now (any command does it too); a SQLite ledger is copied to
    .orch/backups first. Refuses a database that is not an orch ledger (`orch init` makes one)."""
    from orchestrator.ledger import version
    from orchestrator.ledger.connect import safe_url

    ledger = g(ctx).ledger()
    backup = str(ledger.backup_path) if ledger.backup_path else None
    if json_out:
        emit_json({"url": safe_url(ledger.url), "from": ledger.upgraded_from, "revision": version.HEAD,
                   "backup": backup}, "db-upgrade")
    elif ledger.upgraded_from:
        kept = f"; the ledger as it was is in {backup}" if backup else ""
        out.print(f"Upgraded the ledger {safe_url(ledger.url)} from revision {ledger.upgraded_from} to "
                  f"{version.HEAD}{kept}.", markup=False)
    else:
        out.print(f"The ledger {safe_url(ledger.url)} is at revision {version.HEAD}, this orch's newest: "
                  "nothing to do.", markup=False)


@db_app.command("current")
def db_current(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the ledger's migration revision (as it is: looking neither migrates nor copies it)."""
    from orchestrator.ledger import migrate
    from orchestrator.ledger.connect import open_ledger, safe_url

    c = g(ctx)
    ledger = open_ledger(c.paths(), c.db, migrate=False)

    rev = migrate.current_revision(ledger.engine)
    heads = sorted(migrate.code_heads())
    if json_out:
        emit_json({"revision": rev, "heads": heads, "url": safe_url(ledger.url)}, "db-current")
    else:
        behind = "; `orch db upgrade` (or any other command) upgrades it" if rev not in heads else ""
        out.print(f"{safe_url(ledger.url)}: revision {rev} (code head {', '.join(heads)}){behind}", markup=False)
