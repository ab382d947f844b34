"""Open the ledger for a repository: engine, automatic migrations under the lock, the project row."""

from __future__ import annotations

import os
import stat
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, event, select
from sqlalchemy.exc import DatabaseError, SQLAlchemyError
from sqlalchemy.orm import Session

from orchestrator.settings import Settings, load_settings
from orchestrator.ledger import describe, identity, version
from orchestrator.ledger.describe import first_line, safe_url  # noqa: F401 - re-exported
from orchestrator.ledger.identity import Identity
from orchestrator.ledger.engine import make_engine, resolve_url, sqlite_path
from orchestrator.ledger.models import Project
from orchestrator.errors import UserError
from orchestrator.ledger.lock import TickSkipped, file_lock
from orchestrator.paths import RepoPaths
from orchestrator.system.files import refuse_link
from orchestrator.timeutil import utcnow


GENERATION_HOST, GENERATION_KEY = "*", "generation"  # the kv row whose token changes with every write


def _mark_written(session: Session, _flush_context) -> None:
    session.info["wrote"] = True


@dataclass
class Ledger:
    """A repository's ledger: where it is, its settings and its engine."""

    paths: RepoPaths
    settings: Settings
    url: str
    engine: Engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    wrote: bool = False  # a write transaction committed since the status cache was last saved
    upgraded_from: str | None = None  # the revision this command migrated the ledger from
    backup_path: Path | None = None  # the copy taken before that migration (SQLite)
    stamped: str | None = None  # the generation token the last write transaction stamped

    @contextmanager
    def session(self, readonly: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error.

        A transaction that wrote anything also stamps a new generation token, so that the status cache
        (report/snapshot.py) knows it is out of date without reading anything else.
        """
        conn_opts = {"orch_readonly": True} if readonly else {}
        with Session(self.engine.execution_options(**conn_opts), expire_on_commit=False) as s:
            with s.begin():
                if not readonly:
                    event.listen(s, "after_flush", _mark_written)
                yield s
                if not readonly and (s.info.get("wrote") or s.new or s.dirty or s.deleted):
                    self._stamp(s)
            if s.info.get("wrote"):
                self.wrote = True

    def _stamp(self, s: Session) -> None:
        proj = s.scalars(select(Project).where(Project.name == self.settings.project)).first()
        if proj is not None:
            from orchestrator.ledger import kv

            self.stamped = uuid.uuid4().hex
            kv.put(s, proj, GENERATION_HOST, GENERATION_KEY, {"token": self.stamped}, utcnow())
            s.flush()

    def project(self, s: Session, create: bool = False) -> Project:
        proj = s.scalars(select(Project).where(Project.name == self.settings.project)).first()
        if proj is None:
            if not create:
                self.project_missing()
            proj = Project(name=self.settings.project, default_branch=self.settings.default_branch,
                           mode="active", created_at=utcnow())
            s.add(proj)
            s.flush()
        return proj

    def project_missing(self):
        raise UserError(f"project {self.settings.project!r} is not in the ledger: run `orch init`")

    def ensure_schema(self, ident: Identity) -> None:
        """Migrate the ledger when it is older than the code, under the tick lock; a SQLite ledger is copied to
        `.orch/backups` first. `ident` says what the database held when it was opened (orch's, or empty for
        `orch init`)."""
        if ident.kind == "orch" and ident.revisions == {version.HEAD}:
            self._chmod()
            return
        where = describe.where(self.url)
        try:
            from orchestrator.ledger import migrate  # Alembic only when the ledger is not current

            if ident.kind == "orch" and not migrate.needs_upgrade(self.engine, where):
                return
            with file_lock(self.paths, wait=120):
                current = version.ledger_revisions(self.engine) or set()
                if current and not migrate.needs_upgrade(self.engine, where):
                    return
                old = ",".join(sorted(current))
                path = sqlite_path(self.url)
                if current and path is not None:
                    from orchestrator.ledger import backup

                    self.backup_path = backup.take(path, self.paths.state, old, utcnow())
                    notice(f"orch: copied the ledger {path} (revision {old}) to {self.backup_path} "
                           f"before upgrading it to {version.HEAD}")
                try:
                    migrate.upgrade(self.engine)
                except migrate.Refused as exc:
                    kept = f" (a copy is also in {self.backup_path})" if self.backup_path else ""
                    fix = exc.fix or ("go on with the orch that wrote this ledger, and report this line to orch's "
                                      "maintainers")
                    raise UserError(f"cannot upgrade the ledger {where} from revision {old} to {version.HEAD}: {exc}; "
                                    f"nothing was changed{kept}: {fix}") from None
                self.upgraded_from = old or None
        except TickSkipped:
            raise UserError(f"the ledger {where} needs a migration but another orch holds the tick lock; "
                            "try again") from None
        except DatabaseError as exc:  # unreachable server, locked, corrupt or full
            raise UserError(describe.ledger_error(exc, self.url, self.paths.state)) from None
        self._chmod()

    def _chmod(self) -> None:
        path = sqlite_path(self.url)
        if path is None:
            return
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise refuse_link(path)
        if stat.S_ISREG(st.st_mode) and (st.st_mode & 0o777) != 0o600:
            try:
                os.chmod(path, 0o600)
            except OSError:
                pass  # a read-only folder: the ledger still opens

    def close(self) -> None:
        self.engine.dispose()


def notice(line: str) -> None:
    """One line on stderr, redacted like every other output."""
    from orchestrator.redact import safe_text

    sys.stderr.write(safe_text(line) + "\n")
    sys.stderr.flush()


def open_ledger(paths: RepoPaths, db_url: str | None = None, require_init: bool = True,
                create: bool = False, migrate: bool = True) -> Ledger:
    """Open (and if needed migrate; not with `migrate=False`, as `orch db current` looks) the ledger of the
    repository at `paths`.

    Only `create` (`orch init`) makes orch's tables, and only in a new or empty database. A database that is
    not an orch ledger is refused with one line before anything is written to it (for SQLite, before the
    engine so much as sets WAL mode or the file mode).
    """
    if require_init and not paths.state.is_dir():
        raise UserError(f"{paths.root}: orch is not set up here: run `orch init`")
    cfg = load_settings(paths.config)
    url = resolve_url(cfg.ledger_url(db_url), paths.root)
    path = sqlite_path(url)
    ident = None
    if path is not None:
        ident = identity.of_sqlite(path)
        if ident.kind == "missing" and not create:
            raise UserError(f"no ledger at {path}: run `orch init`")
        describe.check(ident, url, paths.state, create)
    try:
        engine = make_engine(url)
    except SQLAlchemyError as exc:
        raise UserError(f"cannot open the ledger {safe_url(url)}: {first_line(exc)}") from None
    except OSError as exc:
        raise UserError(f"cannot create the ledger at {path}: {exc.strerror}") from None
    if ident is not None and ident.kind == "unreadable":  # yet opening it for writing worked: still not ours to touch
        engine.dispose()
        raise UserError(describe.sqlite_problem(path, ident.problem or "unable to open database file"))
    ledger = Ledger(paths=paths, settings=cfg, url=url, engine=engine)
    describe.remember(url, paths.state)
    try:
        if ident is None or ident.kind == "missing":
            try:
                ident = identity.of_engine(engine) if path is None else identity.Identity("empty")
            except DatabaseError as exc:
                raise UserError(describe.ledger_error(exc, url, paths.state)) from None
            describe.check(ident, url, paths.state, create)
        if migrate:
            ledger.ensure_schema(ident)
    except BaseException:
        engine.dispose()
        raise
    return ledger
