"""Overlapping ticks never run: the second exits 0 at once with a note (file lock, PostgreSQL advisory lock)."""

from __future__ import annotations

import time

import filelock
import psycopg

from orchestrator.ledger.lock import advisory_key


def tick_count(r) -> int:
    return len([e for e in r.orch_json("task", "show", "T")["observations"]])


def test_second_tick_exits_zero_while_the_file_lock_is_held(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.orch("tick")
    lock = filelock.FileLock(str(r.root / ".orch" / "tick.lock"), timeout=0)
    with lock:
        started = time.monotonic()
        proc = r.orch("tick")
        assert time.monotonic() - started < 10
        assert proc.returncode == 0
        assert "skipped" in proc.stderr and "Traceback" not in proc.stderr
        skipped = r.orch_json("tick")
        assert skipped["skipped"] is True
    assert tick_count(r) == 1  # the skipped ticks recorded nothing
    r.orch("tick")
    assert tick_count(r) == 2
    # The next tick that got the lock reports the two skipped ones in its health.
    assert r.report_json()["health"]["skipped_ticks"] == 2
    assert "2 skipped" in r.report()


def test_postgres_advisory_lock_serialises_ticks_across_processes(bare_repo, pg_url):
    r = bare_repo
    r.env["ORCH_DB"] = pg_url
    r.orch("init")
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    project = r.root.name
    with psycopg.connect(dsn, autocommit=False) as conn:
        # Another machine's tick for the same project and host holds the transaction lock.
        assert conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (advisory_key(project, "test-host"),)).fetchone()[0]
        proc = r.orch("tick")
        assert proc.returncode == 0 and "skipped" in proc.stderr
        # A tick of another host is not blocked by it.
        other = r.orch("tick", env={"ORCH_HOST": "other-host"})
        assert "skipped" not in other.stderr
        conn.rollback()
    assert tick_count(r) == 0  # the only tick that ran was the other host's, which owns no task
    r.orch("tick")
    assert tick_count(r) == 1
