"""Benchmark `orch tick` over many worker worktrees against a floor of the git calls it cannot avoid."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (CORES, DEFAULT_WORKERS, ORCH, dispatch_many, floor_cmd, fmt, git, log, make_env, make_repo,  # noqa: E402
                    orch, parser, repeat, result, set_config, timed, workdir)

TARGET = 1.5
S_TARGET = 1.2  # issue 22: tick <= S + 1.2 x floor, S = python -c "import sqlalchemy"


def build(base: Path, n: int) -> tuple[Path, dict, list[Path]]:
    """A repository with n worker worktrees: a third dirty, a third with commits after base, a third untouched."""
    env = make_env(base)
    root = make_repo(base, env)
    paths = []
    t0 = time.perf_counter()
    for k in range(n):
        wt = base / "wt" / f"w{k:04d}"
        git(root, env, "worktree", "add", "-q", "-b", f"b{k}", str(wt), "main")
        kind = k % 3
        if kind == 0:  # dirty: a few modified and untracked files
            for j in range(3):
                p = wt / f"pkg{j}" / f"mod{j}.py"
                p.write_text(p.read_text() + f"# edit {k}\n")
            for j in range(2):
                (wt / f"new_{j}.txt").write_text(f"untracked {k} {j}\n")
        elif kind == 1:  # 1-2 commits after base
            for c in range(1 + k % 2):
                (wt / f"feature_{c}.py").write_text(f"X = {k * 10 + c}\n")
                git(wt, env, "add", "-A")
                git(wt, env, "commit", "-q", "-m", f"work {c}")
        paths.append(wt)
        if (k + 1) % 50 == 0 or k + 1 == n:
            log(f"  worktrees {k + 1}/{n} ({time.perf_counter() - t0:.1f}s)")
    dispatch_many(root, env, [(f"t{k}", f"b{k}", wt) for k, wt in enumerate(paths)])
    return root, env, paths


def time_pair(root: Path, env: dict, paths: list[Path], workers: int, runs: int,
              s_times: list[float] | None = None) -> tuple[list[float], list[float]]:
    """Interleave tick and floor runs (and S, when asked) so that all see the same machine state."""
    cmd = floor_cmd(root, paths, workers)
    ticks, floors = [], []
    for _ in range(runs):
        ticks.append(timed([ORCH, "tick"], root, env))
        floors.append(timed(cmd, root, env, shell=True))
        if s_times is not None:
            s_times.append(timed([sys.executable, "-c", "import sqlalchemy"], root, env))
    return ticks, floors


def trust_cost(root: Path, env: dict, runs: int) -> tuple[list[float], list[float], list[float]]:
    """Ticks with the trust checks on, off, and re-checking every task (caches ignored), interleaved."""
    off_env, cold_env = {**env, "ORCH_TRUST_CHECKS": "0"}, {**env, "ORCH_TRUST_CHECKS": "always"}
    on, off, cold = [], [], []
    for _ in range(runs):
        on.append(timed([ORCH, "tick"], root, env))
        off.append(timed([ORCH, "tick"], root, off_env))
        cold.append(timed([ORCH, "tick"], root, cold_env))
    return on, off, cold


def merge_cost(root: Path, env: dict, runs: int) -> tuple[list[float], list[float]]:
    """Ticks right after `main` moved (every finished task is asked again whether it was merged: the merge
    facts are cached by task head and default-branch tips) and steady ticks, interleaved."""
    moved, steady = [], []
    for i in range(runs):
        git(root, env, "commit", "-q", "--allow-empty", "-m", f"main moves {i}")
        moved.append(timed([ORCH, "tick"], root, env))
        steady.append(timed([ORCH, "tick"], root, env))
    return moved, steady


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--worktrees", type=int, default=300, help="worker worktrees (default 300)")
    p.add_argument("--workers", type=int, default=0,
                   help=f"git_workers in .orch/config.toml (default 0: orch's own default, min(16, max(8, 2 x cores)) = {DEFAULT_WORKERS})")
    p.add_argument("--sweep", action="store_true", help="also time tick and floor with 2, 4, 8 and 16 workers")
    args = p.parse_args()
    base, cleanup = workdir(args.keep)
    try:
        log(f"building {args.worktrees} worktrees in {base} ...")
        root, env, paths = build(base, args.worktrees)
        workers = args.workers if args.workers > 0 else DEFAULT_WORKERS
        if args.workers > 0:
            set_config(root, git_workers=args.workers)
        log("warm-up tick ...")
        orch(root, env, "tick")
        bare = repeat(lambda: timed([sys.executable, "-c", "pass"], root, env), args.runs)
        helps = repeat(lambda: timed([ORCH, "--help"], root, env), args.runs)
        statuses = repeat(lambda: timed([ORCH, "status"], root, env), args.runs)
        s_times: list[float] = []
        ticks, floors = time_pair(root, env, paths, workers, args.runs, s_times)
        trust_on, trust_off, trust_cold = trust_cost(root, env, args.runs)
        moved, steady = merge_cost(root, env, args.runs)
        empty_base = base / "empty"
        empty_env = make_env(empty_base)
        empty_root = make_repo(empty_base, empty_env, files=1)
        orch(empty_root, empty_env, "tick")
        empties = repeat(lambda: timed([ORCH, "tick"], empty_root, empty_env), args.runs)
        print(f"cores {CORES}, worktrees {args.worktrees}, git workers {workers}, runs {args.runs}")
        print(f"python start  {fmt(bare)}")
        print(f"orch --help   {fmt(helps)}")
        print(f"orch status   {fmt(statuses)}")
        print(f"orch tick     {fmt(ticks)}")
        print(f"floor (git)   {fmt(floors)}")
        s_med, t_med, f_med = statistics.median(s_times), statistics.median(ticks), statistics.median(floors)
        beyond = (t_med - s_med) / f_med
        print(f"S = python -c 'import sqlalchemy' {fmt(s_times)}")
        print(f"orch tick {t_med:.3f}s = S + {beyond:.2f} x floor; target S + {S_TARGET:g} x floor = "
              f"{s_med + S_TARGET * f_med:.3f}s" + ("" if beyond <= S_TARGET else "  MISSED"))
        fixed = statistics.median(empties)
        work = statistics.median(ticks) - fixed
        print(f"orch tick, no tasks (fixed start-up cost) {fmt(empties)}")
        print(f"tick work beyond start-up {work:.3f}s: {work / statistics.median(floors):.2f} x the floor")
        on, off, cold = statistics.median(trust_on), statistics.median(trust_off), statistics.median(trust_cold)
        print(f"trust checks on   {fmt(trust_on)}")
        print(f"trust checks off  {fmt(trust_off)}")
        print(f"trust checks, every task re-checked (no cache) {fmt(trust_cold)}")
        print(f"trust checks add {on - off:+.3f}s ({(on - off) / off * 100:+.1f}%) to a tick at {args.worktrees} "
              f"worktrees, {(cold - off) / off * 100:+.1f}% when every task changed since the last tick "
              f"(target <= 10%)")
        mv, st = statistics.median(moved), statistics.median(steady)
        print(f"tick right after main moved (merge checks of the {args.worktrees // 3} finished tasks) {fmt(moved)}")
        print(f"merge checks add {mv - st:+.3f}s ({(mv - st) / st * 100:+.1f}%) to the tick after main moves; "
              f"0 git calls on a steady tick (cached by head and default-branch tips)")
        if args.sweep:
            print("workers | tick median | floor median | ratio")
            for w in (2, 4, 8, 16):
                set_config(root, git_workers=w)
                orch(root, env, "tick")
                t, f = time_pair(root, env, paths, w, args.runs)
                tm, fm = statistics.median(t), statistics.median(f)
                print(f"{w:7d} | {tm:10.3f}s | {fm:11.3f}s | {tm / fm:5.2f}")
            set_config(root, git_workers=args.workers)
        result("tick", ticks, floors, TARGET)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
