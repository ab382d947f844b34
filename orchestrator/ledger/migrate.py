"""Apply the Alembic migrations shipped with orch, programmatically and only when needed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

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


def needs_upgrade(engine: Engine, where: str = "") -> bool:
    """True when the ledger is older than the code; an error naming `where` when it is newer."""
    current, heads = ledger_heads(engine), code_heads()
    if current == heads:
        return False
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = current - known
    if unknown:
        raise UserError(
            f"the ledger {where + ' ' if where else ''}is at revision {', '.join(sorted(unknown))}, newer than this "
            f"orch knows (its newest is {', '.join(sorted(heads))}): upgrade orch (`pipx upgrade orch`, or pip "
            "install the newer version), or use the orch that wrote it"
        )
    return True


class Refused(Exception):
    """A migration that cannot keep every row: the upgrade was rolled back and the ledger is unchanged.

    A migration that meets rows it cannot keep raises it itself, with what is wrong and how to fix it:
    `raise Refused("two open tasks record worktree W", fix="decide one of them with the orch that wrote them")`.
    """

    def __init__(self, reason: str, fix: str | None = None):
        super().__init__(reason)
        self.fix = fix


def upgrade(engine: Engine, target: str = "head") -> None:
    """Upgrade to `target` in one transaction that keeps every row, or raise Refused having changed nothing."""
    _apply(engine, command.upgrade, target)


def downgrade(engine: Engine, target: str) -> None:
    """Go back to `target` the same way (for tests and developers: orch itself never downgrades a ledger)."""
    _apply(engine, command.downgrade, target)


def _apply(engine: Engine, step, target: str) -> None:  # noqa: ANN001 - alembic.command.upgrade or downgrade
    """Run Alembic's `step` to `target` in one transaction.

    PostgreSQL: under a global advisory lock. SQLite: batch mode rebuilds a table by dropping it, and a DROP
    deletes (ON DELETE CASCADE) every child row while foreign keys are on; `defer_foreign_keys` does not stop
    that. So foreign keys are switched off for the upgrade (a pragma that only works outside a transaction),
    and `foreign_key_check` must find no broken reference that was not already there before it commits.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(conn, False)
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":  # a big table's rebuild may take longer than a tick's query
                    conn.exec_driver_sql("SET LOCAL statement_timeout = '15min'; SET LOCAL lock_timeout = '2min'")
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('orch:migrate'))")
                broken = _broken_references(conn) if sqlite else set()
                try:
                    step(alembic_config(conn), target)
                except IntegrityError as exc:
                    raise Refused(f"a migration cannot keep every row ({_first_line(exc)})") from None
                if sqlite:
                    new = _broken_references(conn) - broken
                    if new:
                        table, rowid, parent = sorted(new)[0]
                        raise Refused(f"a migration would leave {len(new)} row(s) pointing at nothing "
                                      f"({table} row {rowid} -> {parent})")
        finally:
            if sqlite:
                _foreign_keys(conn, True)


def _foreign_keys(conn: Connection, on: bool) -> None:
    """Straight on the driver connection: SQLAlchemy would open a transaction first, where the pragma is a no-op."""
    conn.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _broken_references(conn: Connection) -> set[tuple]:
    return {(row[0], row[1], row[2]) for row in conn.exec_driver_sql("PRAGMA foreign_key_check")}


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def current_revision(engine: Engine) -> str | None:
    heads = ledger_heads(engine)
    return ",".join(sorted(heads)) if heads else None
