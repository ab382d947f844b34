"""Open the ledger for a repository: engine, automatic migrations under the lock, the project row."""

from __future__ import annotations

import os
import stat
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Engine, event, select
from sqlalchemy.exc import DatabaseError, SQLAlchemyError
from sqlalchemy.orm import Session

from orchestrator.settings import Settings, load_settings
from orchestrator.ledger import version
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

    def ensure_schema(self) -> None:
        """Migrate the ledger when it is older than the code, under the tick lock."""
        try:
            if version.is_current(self.engine):
                self._chmod()
                return
            from orchestrator.ledger import migrate  # Alembic only when the ledger is not current

            if not migrate.needs_upgrade(self.engine):
                return
            with file_lock(self.paths, wait=120):
                if migrate.needs_upgrade(self.engine):
                    migrate.upgrade(self.engine)
        except TickSkipped:
            raise UserError("the ledger needs a migration but another orch holds the tick lock; try again") from None
        except DatabaseError as exc:  # unreachable server, locked or corrupt file
            raise UserError(f"cannot open the ledger {safe_url(self.url)}: {first_line(exc)}") from None
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


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_ledger(paths: RepoPaths, db_url: str | None = None, require_init: bool = True) -> Ledger:
    """Open (and if needed migrate) the ledger of the repository at `paths`."""
    if require_init and not paths.state.is_dir():
        raise UserError(f"{paths.root}: orch is not set up here: run `orch init`")
    cfg = load_settings(paths.config)
    url = resolve_url(cfg.ledger_url(db_url), paths.root)
    path = sqlite_path(url)
    if require_init and path is not None and not path.exists():
        raise UserError(f"no ledger at {path}: run `orch init`")
    try:
        engine = make_engine(url)
    except SQLAlchemyError as exc:
        raise UserError(f"cannot open the ledger {safe_url(url)}: {first_line(exc)}") from None
    except OSError as exc:
        raise UserError(f"cannot create the ledger at {path}: {exc.strerror}") from None
    ledger = Ledger(paths=paths, settings=cfg, url=url, engine=engine)
    ledger.ensure_schema()
    return ledger
