"""The tick lock: a file lock per host, plus a transaction-level advisory lock on PostgreSQL."""

from __future__ import annotations

import errno
import json
import os
import time
import zlib
from contextlib import contextmanager
from typing import Iterator

import filelock
from sqlalchemy import text
from sqlalchemy.orm import Session

from orchestrator.paths import RepoPaths
from orchestrator.system.files import check_not_link, refuse_link, write_atomic
from orchestrator.system.tickwatch import owner_file, tick_limit  # noqa: F401 - tick_limit is used by the tick


class TickSkipped(Exception):
    """Another tick holds the lock; this one exits 0 at once with this note."""


def advisory_key(project: str, host: str) -> int:
    """A stable signed 64-bit key per (project, host): ticks of different hosts may overlap."""
    value = zlib.crc32(f"orch:tick:{project}".encode()) << 32 | zlib.crc32(host.encode())
    return value - (1 << 64) if value >= 1 << 63 else value


@contextmanager
def file_lock(paths: RepoPaths, wait: float = 0.0, limit: float | None = None) -> Iterator[None]:
    """Hold `.orch/tick.lock` for the whole tick, or raise TickSkipped (at once, or after `wait` seconds).

    The holder writes `tick.owner` (pid, start, time limit) so that `orch status` and `orch doctor` can
    tell a lock held past its tick's time limit: a hung tick that makes every later tick skip.
    """
    paths.state.mkdir(parents=True, exist_ok=True)
    check_not_link(paths.lock)
    lock = filelock.FileLock(str(paths.lock), timeout=wait, mode=0o600)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise TickSkipped("another tick is running on this host (file lock held); skipped") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refuse_link(paths.lock) from None
        raise
    owner = owner_file(paths.state)
    try:
        try:
            write_atomic(owner, json.dumps({"pid": os.getpid(), "started": time.time(), "limit": limit}), mode=0o600)
        except OSError:
            pass  # a read-only or full disk: the lock still works, only the report of a hung holder is lost
        yield
    finally:
        try:
            owner.unlink()
        except OSError:
            pass
        lock.release()


def ledger_lock(s: Session, project: str, host: str) -> None:
    """On PostgreSQL, take the advisory lock for this transaction or raise TickSkipped."""
    if s.get_bind().dialect.name != "postgresql":
        return  # SQLite: the file lock plus BEGIN IMMEDIATE serialise ticks
    got = s.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": advisory_key(project, host)}).scalar()
    if not got:
        raise TickSkipped("another tick for this project and host holds the ledger lock; skipped")
