"""The tick lock: a file lock per host, plus a transaction-level advisory lock on PostgreSQL."""

from __future__ import annotations

import errno
import json
import os
import time
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import filelock
from sqlalchemy import text
from sqlalchemy.orm import Session

from orchestrator.paths import RepoPaths
from orchestrator.system.files import check_not_link, read_regular, refuse_link, write_atomic


class TickSkipped(Exception):
    """Another tick holds the lock; this one exits 0 at once with this note."""


def advisory_key(project: str, host: str) -> int:
    """A stable signed 64-bit key per (project, host): ticks of different hosts may overlap."""
    value = zlib.crc32(f"orch:tick:{project}".encode()) << 32 | zlib.crc32(host.encode())
    return value - (1 << 64) if value >= 1 << 63 else value


def owner_file(paths: RepoPaths) -> Path:
    return paths.state / "tick.owner"


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
    owner = owner_file(paths)
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


def overdue_holder(paths: RepoPaths, default_limit: float) -> dict | None:
    """The live process that holds the tick lock past its time limit, if any (read only: never takes the lock)."""
    try:
        info = json.loads(read_regular(owner_file(paths), 4096))
        pid, started = int(info["pid"]), float(info["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    limit = float(info.get("limit") or default_limit)
    age = time.time() - started
    if age <= limit:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # killed without clean-up: the lock went with it
    except PermissionError:
        pass
    return {"pid": pid, "held_seconds": int(age), "limit_seconds": int(limit)}


def hung_tick_problem(paths: RepoPaths, default_limit: float) -> str | None:
    """One line for `orch status` and `orch doctor` when a tick holds the lock past its time limit."""
    from orchestrator.timeutil import format_duration

    h = overdue_holder(paths, default_limit)
    if h is None:
        return None
    return (f"the tick lock is held by process {h['pid']} for {format_duration(h['held_seconds'])}, past a tick's "
            f"time limit ({format_duration(h['limit_seconds'])}): that tick is hung and every later tick is skipped "
            f"(kill {h['pid']})")


def tick_limit(cfg) -> float:
    """How long one tick may take: an interval plus the grace (after that, the next tick would skip)."""
    return (cfg.tick_interval + cfg.tick_grace).total_seconds()


def ledger_lock(s: Session, project: str, host: str) -> None:
    """On PostgreSQL, take the advisory lock for this transaction or raise TickSkipped."""
    if s.get_bind().dialect.name != "postgresql":
        return  # SQLite: the file lock plus BEGIN IMMEDIATE serialise ticks
    got = s.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": advisory_key(project, host)}).scalar()
    if not got:
        raise TickSkipped("another tick for this project and host holds the ledger lock; skipped")
