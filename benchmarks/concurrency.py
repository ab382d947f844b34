"""Concurrency: 200 CLI writes (dispatch, task set, ack) from many processes at once, plus 10 overlapping ticks.

Prints the failed commands (with their error line) and the p99 latency of a write, per database, and ends with
`RESULT concurrency: ...`; the target is 0 failures on SQLite and on PostgreSQL. Writers run the real CLI entry
point, several commands per process (one process per command would measure Python start-up, not the ledger).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ORCH, dispatch_many, git, log, make_env, make_repo, parser, set_config, workdir  # noqa: E402

PG_ADMIN = os.environ.get("ORCH_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")

_WRITER = r"""
import io, json, sys, time, contextlib
from orchestrator.cli import main
import orchestrator.ledger.connect, orchestrator.ledger.tasks, orchestrator.report.context  # warm: time the ledger
out = []
for argv in json.loads(sys.stdin.read()):
    err = io.StringIO()
    t0 = time.perf_counter()
    code = 0
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out.append({"argv": argv, "code": code, "seconds": time.perf_counter() - t0, "error": err.getvalue().strip()[-300:]})
print(json.dumps(out))
"""


def writer_commands(proc: int, per: int, tasks: list[str]) -> list[list[str]]:
    cmds = []
    for i in range(per):
        kind = i % 4
        if kind == 0:
            cmds.append(["dispatch", f"w{proc}-{i}", "--branch", f"w{proc}-{i}"])
        elif kind == 1:
            cmds.append(["task", "set", tasks[(proc + i) % len(tasks)], "blocked", "--note", f"p{proc} i{i}"])
        elif kind == 2:
            cmds.append(["task", "set", tasks[(proc + i) % len(tasks)], "active"])
        else:
            cmds.append(["ack", "--note", f"p{proc} i{i}"])
    return cmds


def one_database(label: str, base: Path, db_url: str | None, writers: int, procs: int, ticks: int) -> dict:
    env = make_env(base)
    if db_url:
        env["ORCH_DB"] = db_url
    root = make_repo(base, env, files=8)
    set_config(root, git_timeout="1m")
    tasks = [f"t{i}" for i in range(5)]
    items = []
    for key in tasks:
        wt = base / key
        git(root, env, "worktree", "add", "-q", "-b", key, str(wt), "main")
        items.append((key, key, wt))
    dispatch_many(root, env, items)
    per = max(1, writers // procs)
    log(f"{label}: {procs} writer processes x {per} commands, {ticks} ticks")
    started = time.perf_counter()
    wprocs = []
    for p in range(procs):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER], cwd=root, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdin.write(json.dumps(writer_commands(p, per, tasks)))
        proc.stdin.close()
        wprocs.append(proc)
    tprocs = []
    for _ in range(ticks):
        tprocs.append(subprocess.Popen([ORCH, "tick"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True))
        time.sleep(0.3)
    results, failures = [], []
    for proc in wprocs:
        out = proc.stdout.read()
        proc.wait()
        try:
            results += json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            failures.append({"argv": ["writer process"], "error": proc.stderr.read()[-300:]})
    tick_codes = []
    for proc in tprocs:
        err = proc.stderr.read()
        proc.wait()
        tick_codes.append(proc.returncode)
        if proc.returncode != 0:
            failures.append({"argv": ["tick"], "error": err.strip()[-300:]})
    # Expected refusals are not failures: none of these commands should be refused.
    failures += [r for r in results if r["code"] != 0]
    lat = sorted(r["seconds"] for r in results)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
    wall = time.perf_counter() - started
    for f in failures[:20]:
        print(f"{label} FAILED {' '.join(f['argv'])}: {f['error']}")
    print(f"{label}: {len(results)} writes + {ticks} ticks in {wall:.1f}s; failures {len(failures)}; "
          f"write latency median {statistics.median(lat) if lat else 0:.3f}s p99 {p99:.3f}s; "
          f"ticks ok {tick_codes.count(0)}")
    return {"label": label, "failures": len(failures), "p99": p99, "total": len(results) + ticks}


def _pg_database() -> tuple[str | None, callable]:
    try:
        import psycopg

        name = f"orch_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        log(f"PostgreSQL not available ({exc}); skipped")
        return None, lambda: None

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    conninfo = dict(kv.split("=", 1) for kv in PG_ADMIN.split())
    return f"postgresql+psycopg://{conninfo.get('user', 'postgres')}@{conninfo.get('host')}:{conninfo.get('port')}/{name}", drop


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--writers", type=int, default=200, help="CLI writes in all (default 200)")
    p.add_argument("--procs", type=int, default=20, help="writer processes running at once (default 20)")
    p.add_argument("--ticks", type=int, default=10, help="ticks started 0.3 s apart during the writes (default 10)")
    p.add_argument("--sqlite-only", action="store_true")
    args = p.parse_args()
    base, cleanup = workdir(args.keep)
    out = []
    try:
        out.append(one_database("sqlite", base / "sqlite", None, args.writers, args.procs, args.ticks))
        if not args.sqlite_only:
            url, drop = _pg_database()
            if url:
                try:
                    out.append(one_database("postgresql", base / "pg", url, args.writers, args.procs, args.ticks))
                finally:
                    drop()
    finally:
        cleanup()
    parts = "; ".join(f"{o['label']} failures {o['failures']}/{o['total']} p99 {o['p99']:.3f}s" for o in out)
    line = f"RESULT concurrency: {parts} (target 0 failures)"
    if any(o["failures"] for o in out):
        line += " MISSED"
    print(line, flush=True)


if __name__ == "__main__":
    main()
