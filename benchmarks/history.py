"""Benchmark `orch tick` on a ledger holding a year of history against the same repository with a fresh ledger,
and `orch history --since 7d` on that year (target: at most 1 s as a whole process)."""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ORCH, dispatch_many, fmt, git, log, make_env, make_repo, orch, parser, result, timed, workdir  # noqa: E402

TARGET = 1.2
HISTORY_TARGET = 1.0  # seconds for `orch history --since 7d` over a year of ledger, start-up included
BATCH = 20000
CONDITIONS = ("working", "working", "working", "stuck", "finished", "waiting-input", "finished-uncommitted")
TABLES = ("ticks", "observations", "events")


def build(base: Path, tasks: int) -> tuple[Path, dict]:
    """`orch init`, `tasks` worker worktrees dispatched, one real tick so that the schema and one of each row exist."""
    env = make_env(base)
    root = make_repo(base, env)
    items = []
    for k in range(tasks):
        wt = base / "wt" / f"w{k}"
        git(root, env, "worktree", "add", "-q", "-b", f"b{k}", str(wt), "main")
        if k % 2:
            (wt / "work.txt").write_text(f"work {k}\n")
        items.append((f"t{k}", f"b{k}", wt))
    dispatch_many(root, env, items)
    orch(root, env, "tick")
    return root, env


def engine_for(root: Path):
    from sqlalchemy import create_engine, event

    eng = create_engine(f"sqlite:///{root / '.orch' / 'ledger.db'}")

    @event.listens_for(eng, "connect")
    def _pragmas(dbapi_conn, _rec):  # noqa: ANN001
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=OFF")

    return eng


def counts(root: Path) -> dict[str, int]:
    from sqlalchemy import text

    eng = engine_for(root)
    with eng.connect() as c:
        out = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    eng.dispose()
    return out


def fill(root: Path, ticks: int, span: timedelta = timedelta(days=365), rate: float = 0.02) -> None:
    """Insert `span` (a year) of ticks, one observation per task per tick and the events of condition changes (Core bulk)."""
    from sqlalchemy import func, select

    from orchestrator.ledger.models import Event, Observation, Task, Tick

    eng = engine_for(root)
    rng = random.Random(1)
    with eng.begin() as c:
        real_tick = c.execute(select(Tick.__table__).order_by(Tick.id.desc()).limit(1)).mappings().one()
        tasks = c.execute(select(Task.__table__.c.id, Task.__table__.c.host, Task.__table__.c.project_id)).all()
        tmpl = {r.task_id: r for r in c.execute(select(Observation.__table__).where(
            Observation.tick_id == real_tick["id"])).mappings()}
        next_id = (c.execute(select(func.max(Tick.id))).scalar_one() or 0) + 1
    now = datetime.now(timezone.utc)
    start, step = now - span, span / (ticks + 1)
    state = {t.id: "working" for t in tasks}
    t0 = time.perf_counter()
    tick_rows, obs_rows, ev_rows = [], [], []

    def flush(conn) -> None:
        if tick_rows:
            conn.execute(Tick.__table__.insert(), tick_rows)
        if obs_rows:
            conn.execute(Observation.__table__.insert(), obs_rows)
        if ev_rows:
            conn.execute(Event.__table__.insert(), ev_rows)
        tick_rows.clear(), obs_rows.clear(), ev_rows.clear()

    with eng.begin() as conn:
        for i in range(ticks):
            tid, at = next_id + i, start + step * i
            tick_rows.append(dict(id=tid, project_id=real_tick["project_id"], host=real_tick["host"], started_at=at,
                                  clock=at, finished_at=at + timedelta(milliseconds=400), outcome="ok",
                                  overall="quiet", counts=real_tick["counts"], health=real_tick["health"],
                                  duration_ms=400, error=None))
            for t in tasks:
                cond = state[t.id]
                if rng.random() < rate:
                    new = rng.choice(CONDITIONS)
                    if new != cond:
                        ev_rows.append(dict(project_id=t.project_id, task_id=t.id, tick_id=tid, at=at, kind="condition",
                                            from_value=cond, to_value=new, reason="bench", note=None, actor="tick",
                                            host=t.host, data={"evidence": [{"kind": "git", "text": "bench"}]}))
                        state[t.id] = cond = new
                ob = tmpl.get(t.id)
                obs_rows.append(dict(tick_id=tid, task_id=t.id, at=at, condition=cond, reason=ob["reason"] if ob else "bench",
                                     next_action=ob["next_action"] if ob else None,
                                     evidence=ob["evidence"] if ob else [], facts=ob["facts"] if ob else {},
                                     fingerprint=f"{rng.getrandbits(64):016x}", progress_at=at))
            if len(obs_rows) >= BATCH:
                flush(conn)
            if (i + 1) % 20000 == 0:
                log(f"  ticks {i + 1}/{ticks} ({time.perf_counter() - t0:.1f}s)")
        flush(conn)
    eng.dispose()
    log(f"  history inserted in {time.perf_counter() - t0:.1f}s")


def allow_prune(root: Path) -> None:
    """Forget when retention last ran, so that the next tick prunes (it runs at most once an hour)."""
    from sqlalchemy import delete

    from orchestrator.ledger.models import KeyValue

    eng = engine_for(root)
    with eng.begin() as conn:
        conn.execute(delete(KeyValue.__table__).where(KeyValue.__table__.c.key == "retention"))
    eng.dispose()


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--ticks", type=int, default=100000, help="tick rows of history (default 100000: a year at ~5 min)")
    p.add_argument("--tasks", type=int, default=5, help="worker tasks (default 5)")
    p.add_argument("--prune", action="store_true",
                   help="let the warm-up tick prune the year down to `retention` (as on a ledger that grew before"
                        " retention existed); without it the timed ticks run on the whole unpruned year")
    args = p.parse_args()
    base, cleanup = workdir(args.keep)
    try:
        log(f"building two repositories with {args.tasks} tasks in {base} ...")
        big, env_big = build(base / "big", args.tasks)
        fresh, env_fresh = build(base / "fresh", args.tasks)
        log(f"inserting {args.ticks} ticks of history ...")
        fill(big, args.ticks)
        if args.prune:
            allow_prune(big)
        before = counts(big)
        size_mb = (big / ".orch" / "ledger.db").stat().st_size / 1e6
        log("warm-up ticks (with --prune: until retention has caught up, a batch per tick) ...")
        catch_up = []
        prev = before
        while len(catch_up) < 40:
            t0 = time.perf_counter()
            orch(big, env_big, "tick")
            catch_up.append(time.perf_counter() - t0)
            after = counts(big)
            if not args.prune or after["ticks"] >= prev["ticks"]:  # this tick pruned nothing: caught up
                break
            prev = after
        first = catch_up[0]
        ticks, floors = [], []
        for _ in range(args.runs):
            ticks.append(timed([ORCH, "tick"], big, env_big))
            floors.append(timed([ORCH, "tick"], fresh, env_fresh))
        print(f"ticks of history {args.ticks}, tasks {args.tasks}, runs {args.runs}, ledger {size_mb:.1f} MB before")
        print("rows before warm-up: " + ", ".join(f"{t} {before[t]}" for t in TABLES))
        print("rows after warm-up:  " + ", ".join(f"{t} {after[t]}" for t in TABLES))
        print(f"warm-up tick on the big ledger {first:.3f}s")
        if args.prune:
            print(f"catch-up: {len(catch_up)} tick(s) pruned the year down to `retention`, "
                  f"slowest {max(catch_up):.3f}s")
        hist = [timed([ORCH, "history", "--since", "7d"], big, env_big) for _ in range(args.runs)]
        hist_json = [timed([ORCH, "history", "--since", "7d", "--json"], big, env_big) for _ in range(args.runs)]
        helps = [timed([ORCH, "--help"], big, env_big) for _ in range(args.runs)]
        print(f"orch tick, big ledger    {fmt(ticks)}")
        print(f"orch tick, fresh ledger  {fmt(floors)}")
        import statistics

        h = statistics.median(hist)
        print(f"orch history --since 7d, big ledger  {fmt(hist)} (--json {fmt(hist_json)}; orch --help {fmt(helps)})")
        print(f"RESULT history-command: orch history --since 7d {h:.3f}s (min {min(hist):.3f}s), target <= "
              f"{HISTORY_TARGET:g}s" + (" MISSED" if h > HISTORY_TARGET else ""), flush=True)
        result("history", ticks, floors, TARGET)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
