"""Apply the Alembic migrations shipped with orch, programmatically and only when needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from orchestrator.errors import UserError
from orchestrator.system.resources import data_dir


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(data_dir("alembic")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def code_heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def ledger_heads(engine: Engine) -> set[str]:
    with engine.connect().execution_options(orch_readonly=True) as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def needs_upgrade(engine: Engine) -> bool:
    """True when the ledger is older than the code; an error when it is newer."""
    current, heads = ledger_heads(engine), code_heads()
    if current == heads:
        return False
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = current - known
    if unknown:
        raise UserError(
            f"the ledger is at revision {', '.join(sorted(unknown))}, newer than this orch knows: upgrade orch"
        )
    return True


def upgrade(engine: Engine) -> None:
    """Upgrade to head in one transaction (PostgreSQL: under a global advisory lock)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('orch:migrate'))")
        elif conn.dialect.name == "sqlite":
            # Batch mode rebuilds tables; foreign keys must not cascade while it does.
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        command.upgrade(alembic_config(conn), "head")


def current_revision(engine: Engine) -> str | None:
    heads = ledger_heads(engine)
    return ",".join(sorted(heads)) if heads else None
