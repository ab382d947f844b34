"""What a database is before orch touches it: missing, empty, an orch ledger (at which revisions) or not orch's."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import UserError
from orchestrator.system.files import refuse_link

ORCH_TABLES = frozenset({"projects", "tasks", "ticks", "events"})  # every orch ledger since revision 0001


@dataclass
class Identity:
    """`kind` is missing (no SQLite file), empty (no table), orch (Alembic revisions recorded next to orch's
    tables), foreign (tables, but not orch's), damaged (a file SQLite cannot read: `problem` says why) or
    unreadable (SQLite cannot even open it read-only)."""

    kind: str
    revisions: set[str] = field(default_factory=set)
    tables: list[str] = field(default_factory=list)
    problem: str | None = None


def classify(tables: list[str], revisions: set[str]) -> Identity:
    if not tables:
        return Identity("empty")
    if "alembic_version" in tables and revisions and ORCH_TABLES <= set(tables):
        return Identity("orch", revisions, tables)
    return Identity("foreign", revisions, tables)


def of_sqlite(path: Path) -> Identity:
    """Read-only, through the standard library: nothing is created, converted to WAL or chmod-ed."""
    import sqlite3

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Identity("missing")
    if stat.S_ISLNK(st.st_mode):
        raise refuse_link(path)
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"the ledger {path} is not a regular file: point --db/ORCH_DB at orch's ledger")
    if st.st_size == 0:
        return Identity("empty")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            revisions = set()
            if "alembic_version" in tables:
                revisions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        from orchestrator.ledger import describe

        if describe.is_damage(str(exc)):  # "file is not a database", "database disk image is malformed"
            return Identity("damaged", problem=str(exc))
        if "unable to open" in str(exc):  # a read-only folder, say: opening it for writing tells the real reason
            return Identity("unreadable", problem=str(exc))
        raise UserError(describe.sqlite_problem(path, str(exc))) from None  # full, locked...: not the file's fault
    return classify(tables, revisions)


def of_engine(engine) -> Identity:  # noqa: ANN001 - a SQLAlchemy Engine (PostgreSQL)
    """The tables of the connection's current schema, and Alembic's revisions if it has the table."""
    from sqlalchemy import text

    with engine.connect().execution_options(orch_readonly=True) as conn:
        tables = list(conn.execute(text("SELECT tablename FROM pg_catalog.pg_tables "
                                        "WHERE schemaname = current_schema()")).scalars())
        revisions = set()
        if "alembic_version" in tables:
            revisions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return classify(sorted(tables), revisions)
