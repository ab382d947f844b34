"""Engine set-up: SQLite in WAL with BEGIN IMMEDIATE writes, or PostgreSQL via psycopg 3."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import NullPool

from orchestrator.errors import UserError
from orchestrator.system.files import open_regular, refuse_link

BUSY_TIMEOUT_MS = 30_000
BEGIN_ATTEMPTS = 4  # so a write waits up to 2 minutes for the lock before "database is locked"


def resolve_url(url: str | None, root: Path) -> str:
    """The ledger URL: explicit, else the SQLite file in `.orch/`; relative SQLite paths are from `root`."""
    if not url:
        return f"sqlite:///{root / '.orch' / 'ledger.db'}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"invalid ledger URL {url!r}: expected sqlite:///PATH or postgresql+psycopg://…") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        db = parsed.database or ""
        if not db or db == ":memory:" or parsed.get_driver_name() not in ("pysqlite", "sqlite"):
            raise UserError(f"invalid ledger URL {url!r}: a SQLite ledger needs a file, as in sqlite:///PATH")
        if db and db != ":memory:" and not db.startswith("file:") and not os.path.isabs(db):
            parsed = parsed.set(database=str(root / db))
        return parsed.render_as_string(hide_password=False)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise UserError(f"unsupported ledger URL driver {parsed.drivername!r}: use postgresql+psycopg://… "
                            "(orch talks to PostgreSQL through psycopg 3)")
        return parsed.render_as_string(hide_password=False)
    raise UserError(f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql+psycopg://…")


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets a 0600 file, WAL, a busy timeout, FKs and BEGIN IMMEDIATE."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # never through a link: its target would be chmod-ed before SQLite finds out what it is
            fd = open_regular(path, os.O_CREAT | os.O_RDWR, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise refuse_link(path) from None
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and path.exists():
                raise UserError(f"the ledger {path} cannot be opened for writing ({exc.strerror}): orch needs to "
                                f"write in {path.parent}, even to read (SQLite's WAL journal lives there)") from None
            raise
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _sqlite_hooks(engine)
        return engine
    engine = create_engine(url, poolclass=NullPool, connect_args=_pg_connect_args(url))
    for noisy in ("sqlalchemy.pool", "psycopg"):  # a cut connection's failed reset: the error itself says enough
        logging.getLogger(noisy).addHandler(logging.NullHandler())
    _pg_hooks(engine, make_url(url).query.get("options") or "")
    return engine


# PostgreSQL: every wait is bounded, on the server (statements, locks, a client silent inside a transaction) and on
# the wire (connecting, and TCP keepalives and an unacknowledged-data limit for a peer that vanished).
PG_CONNECT = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3, "tcp_user_timeout": 60_000}
PG_SESSION = {"statement_timeout": "60s", "lock_timeout": "30s", "idle_in_transaction_session_timeout": "60s"}


def _pg_connect_args(url: str) -> dict:
    """orch's connection bounds, except those the URL sets itself (`?connect_timeout=…`)."""
    query = make_url(url).query
    return {k: v for k, v in PG_CONNECT.items() if k not in query}


def _pg_hooks(engine: Engine, url_options: str) -> None:
    session = {k: v for k, v in PG_SESSION.items() if k not in url_options}  # `?options=-c …` in the URL wins
    sql = "; ".join(f"SET {k} = '{v}'" for k, v in session.items())
    in_use: set = set()
    engine.orch_in_use = in_use  # type: ignore[attr-defined] - the connections `sever` cuts

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        if sql:
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            dbapi_conn.execute(sql)
            dbapi_conn.autocommit = autocommit

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, _record, _proxy):  # noqa: ANN001
        in_use.add(dbapi_conn)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn, _record):  # noqa: ANN001
        in_use.discard(dbapi_conn)


def sever(engine: Engine) -> int:
    """Shut down the sockets of the PostgreSQL connections in use, so that a call blocked on a server that went
    silent returns at once with an error (safe from a signal handler); how many were cut."""
    import socket

    cut = 0
    for dbapi_conn in list(getattr(engine, "orch_in_use", ())):
        try:
            fd = dbapi_conn.pgconn.socket
            sock = socket.socket(fileno=os.dup(fd))
        except Exception:  # noqa: BLE001 - already closed
            continue
        try:
            sock.shutdown(socket.SHUT_RDWR)
            cut += 1
        except OSError:
            pass
        finally:
            sock.close()
    return cut


def _sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        readonly = conn.get_execution_options().get("orch_readonly", False)
        if readonly:
            conn.exec_driver_sql("BEGIN")
            return
        # SQLite's busy handler is not fair: under a burst one writer may lose every race for 30 s.
        # Writers queue a little longer instead of failing (BEGIN IMMEDIATE takes the lock or nothing).
        for attempt in range(BEGIN_ATTEMPTS):
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig) or attempt == BEGIN_ATTEMPTS - 1:
                    raise
