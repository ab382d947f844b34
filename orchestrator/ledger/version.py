"""The ledger schema revision this code expects, checked with plain SQL so that most commands never import Alembic."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Alembic's head revision in alembic/versions; tests/test_ledger.py checks that they agree.
HEAD = "0011_trust_evidence"


def ledger_revisions(engine: Engine) -> set[str] | None:
    """The revisions recorded in the ledger; None when it has no version table yet."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with engine.connect().execution_options(orch_readonly=True) as conn:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except (OperationalError, ProgrammingError):
        return None


def is_current(engine: Engine) -> bool:
    return ledger_revisions(engine) == {HEAD}
