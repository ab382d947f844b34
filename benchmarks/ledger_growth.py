"""Benchmark how the ledger grows: bytes per quiet tick, per busy tick, and 30 days projected (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import dispatch_many, log, orch, parser, run, set_config, workdir  # noqa: E402
from tick import build  # noqa: E402

PG_ADMIN = os.environ.get("ORCH_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")
QUIET_TARGET = 2 * 1024  # bytes per quiet tick
MONTH_TARGET = 100 * 1024 * 1024  # 30 days at 5-minute ticks, 1% of tasks changing per tick
MONTH_TICKS = 30 * 24 * 12
CHANGING = 0.01

# Many ticks per interpreter, as dispatch_many does for dispatches: each step first touches some worktree files
# (a busy tick), then runs `orch tick --now CLOCK` through the real CLI entry point.
_TICKS = r"""
import json, sys
from orchestrator.cli import main
for step in json.loads(sys.stdin.read()):
    for path in step["touch"]:
        with open(path, "a") as fh:
            fh.write("# more work\n")
    try:
        main(["tick", "--now", step["clock"]])
    except SystemExit as exc:
        if exc.code not in (0, None, 3):
            print(f"FAILED tick at {step['clock']}: exit {exc.code}", file=sys.stderr)
            sys.exit(1)
"""


def ticks(root: Path, env: dict, clocks: list[datetime], touches: list[list[str]]) -> None:
    steps = [{"clock": c.isoformat(timespec="seconds"), "touch": t} for c, t in zip(clocks, touches)]
    run([sys.executable, "-c", _TICKS], root, env, input=json.dumps(steps))


def sqlite_size(root: Path) -> int:
    """The ledger file's size once its WAL is checkpointed into it."""
    db = root / ".orch" / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db.stat().st_size


def pg_size(name: str) -> int:
    import psycopg

    with psycopg.connect(_conninfo(name), autocommit=True) as conn:
        return conn.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchone()[0]


def _conninfo(name: str) -> str:
    return " ".join(kv if not kv.startswith("dbname=") else f"dbname={name}" for kv in PG_ADMIN.split())


def row_counts(root: Path, env: dict) -> str:
    code = ("import sys\nfrom sqlalchemy import text\nfrom orchestrator.ledger.connect import open_ledger\n"
            "from orchestrator.paths import find_repo\nled = open_ledger(find_repo(None))\n"
            "with led.engine.connect() as c:\n"
            "    print(', '.join(f'{t} ' + str(c.execute(text(f'SELECT count(*) FROM {t}')).scalar()) "
            "for t in ('ticks', 'observations', 'events')))\n")
    return run([sys.executable, "-c", code], root, env).stdout.strip()


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def measure(label: str, root: Path, env: dict, paths: list[Path], size, n_ticks: int, start: datetime) -> dict:
    """Warm up, then `n_ticks` quiet ticks and `n_ticks` busy ones (1% of the tasks, at least one, change in
    each), 5 minutes apart by the ticks' own clock."""
    step = timedelta(minutes=5)
    changing = max(1, round(len(paths) * CHANGING))
    clocks = [start + step * i for i in range(3 + 2 * n_ticks)]
    log(f"{label}: warm-up ticks ...")
    ticks(root, env, clocks[:3], [[]] * 3)
    base = size()
    print(f"{label}: after warm-up: {row_counts(root, env)}; {fmt_bytes(base)}")
    t0 = time.perf_counter()
    log(f"{label}: {n_ticks} quiet ticks ...")
    ticks(root, env, clocks[3:3 + n_ticks], [[]] * n_ticks)
    quiet_end = size()
    log(f"{label}: {n_ticks} busy ticks ({changing} of {len(paths)} tasks change in each) ...")
    touches = [[str(paths[(i * changing + j) % len(paths)] / "busy.txt") for j in range(changing)]
               for i in range(n_ticks)]
    ticks(root, env, clocks[3 + n_ticks:], touches)
    busy_end = size()
    quiet = (quiet_end - base) / n_ticks
    busy = (busy_end - quiet_end) / n_ticks
    month = base + MONTH_TICKS * max(busy, quiet)
    print(f"{label}: after {2 * n_ticks} more ticks: {row_counts(root, env)} ({time.perf_counter() - t0:.0f}s)")
    print(f"{label} quiet tick: {fmt_bytes(quiet)} per tick (target <= {fmt_bytes(QUIET_TARGET)})"
          + ("" if quiet <= QUIET_TARGET else "  MISSED"))
    print(f"{label} busy tick ({changing} of {len(paths)} tasks change): {fmt_bytes(busy)} per tick")
    print(f"{label} 30 days of 5-minute ticks ({MONTH_TICKS} ticks, {CHANGING:.0%} of tasks changing per tick): "
          f"{fmt_bytes(base)} + {MONTH_TICKS} x {fmt_bytes(busy)} = {fmt_bytes(month)} "
          f"(target <= {fmt_bytes(MONTH_TARGET)})" + ("" if month <= MONTH_TARGET else "  MISSED"))
    return {"label": label, "quiet": quiet, "busy": busy, "month": month}


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--worktrees", type=int, default=300, help="worker worktrees (default 300)")
    p.add_argument("--ticks", type=int, default=50, help="quiet ticks, then as many busy ones (default 50)")
    p.add_argument("--sqlite-only", action="store_true")
    args = p.parse_args()
    base, cleanup = workdir(args.keep)
    results = []
    try:
        log(f"building {args.worktrees} worktrees in {base} ...")
        root, env, paths = build(base, args.worktrees)
        # A month of quiet must stay quiet: nobody turns stuck while the replayed clock runs.
        set_config(root, stale_after="365d", tick_interval="5m")
        start = datetime.now(timezone.utc) + timedelta(minutes=1)  # after the dispatches
        results.append(measure("sqlite", root, env, paths, lambda: sqlite_size(root), args.ticks, start))
        if not args.sqlite_only:
            name = f"orch_bench_{uuid.uuid4().hex[:10]}"
            try:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
            except Exception as exc:  # noqa: BLE001
                log(f"PostgreSQL not available ({exc}); skipped")
                name = None
            if name:
                try:
                    info = dict(kv.split("=", 1) for kv in PG_ADMIN.split())
                    pg_env = {**env, "ORCH_DB": f"postgresql+psycopg://{info.get('user', 'postgres')}@"
                                                f"{info.get('host')}:{info.get('port')}/{name}"}
                    orch(root, pg_env, "init")
                    dispatch_many(root, pg_env, [(f"t{k}", f"b{k}", wt) for k, wt in enumerate(paths)])
                    later = start + timedelta(minutes=5 * (3 + 2 * args.ticks + 1))
                    results.append(measure("postgresql", root, pg_env, paths, lambda: pg_size(name), args.ticks,
                                           later))
                finally:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        cleanup()
    parts = "; ".join(f"{r['label']} quiet {fmt_bytes(r['quiet'])}/tick, busy {fmt_bytes(r['busy'])}/tick, "
                      f"30 days {fmt_bytes(r['month'])}" for r in results)
    line = (f"RESULT ledger_growth: {parts} (target quiet <= {fmt_bytes(QUIET_TARGET)}, "
            f"30 days <= {fmt_bytes(MONTH_TARGET)})")
    if any(r["quiet"] > QUIET_TARGET or r["month"] > MONTH_TARGET for r in results):
        line += " MISSED"
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
