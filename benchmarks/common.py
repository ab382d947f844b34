"""Shared helpers for the benchmarks: an isolated environment, real repositories, timing and the RESULT line."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

BIN = Path(sys.executable).parent
ORCH = shutil.which("orch", path=str(BIN)) or shutil.which("orch") or str(BIN / "orch")
CORES = os.cpu_count() or 2
DEFAULT_WORKERS = min(16, max(8, 2 * CORES))  # orch's own default (orchestrator/config.py)


def log(msg: str) -> None:
    """Progress on stderr, so that stdout stays the figures."""
    print(msg, file=sys.stderr, flush=True)


_COMPILED = False


def compile_orch() -> None:
    """Byte-compile orch once, as `pip install` does for a user: a machine with PYTHONDONTWRITEBYTECODE set would
    otherwise time every command compiling its imports from source."""
    global _COMPILED
    if not _COMPILED:
        import compileall

        import orchestrator

        compileall.compile_dir(str(Path(orchestrator.__file__).parent), quiet=1)
        _COMPILED = True


def make_env(base: Path) -> dict:
    """An environment that never reads the machine's real git, Codex, Claude or orch settings (orch byte-compiled,
    PYTHONDONTWRITEBYTECODE dropped so that the timed processes read the compiled files like a user's do)."""
    compile_orch()
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    for sub in (".codex", ".claude"):
        (home / sub).mkdir(exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
                         "[advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "ORCH_", "CODEX_", "CLAUDE_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", ORCH_HOST="bench-host",
               CODEX_HOME=str(home / ".codex"), CLAUDE_CONFIG_DIR=str(home / ".claude"), NO_COLOR="1",
               COLUMNS="200", TZ="UTC", GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com")
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


def run(argv: list[str], cwd: Path, env: dict, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise SystemExit(f"benchmark setup failed: {' '.join(map(str, argv))} exited {proc.returncode}\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def git(cwd: Path, env: dict, *args: str) -> str:
    return run(["git", *args], cwd, env).stdout.strip()


def orch(cwd: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([ORCH, *map(str, args)], cwd, env, check=check)


def make_repo(base: Path, env: dict, files: int = 40) -> Path:
    """A repository with `files` small source files in a few folders, one commit on main, `orch init` done."""
    root = base / "repo"
    root.mkdir(parents=True)
    git(root, env, "init", "-q", "-b", "main")
    for i in range(files):
        p = root / f"pkg{i % 8}" / f"mod{i}.py"
        p.parent.mkdir(exist_ok=True)
        p.write_text("".join(f"def f{j}():\n    return {i * 100 + j}\n\n" for j in range(20)))
    (root / "README.md").write_text("# bench\n")
    git(root, env, "add", "-A")
    git(root, env, "commit", "-q", "-m", "initial")
    orch(root, env, "init")
    return root


def set_config(root: Path, **values) -> None:
    """Change settings in .orch/config.toml, as a person would."""
    import tomli_w

    path = root / ".orch" / "config.toml"
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    data.update(values)
    path.write_text(tomli_w.dumps(data))


_BATCH = r"""
import json, sys
from orchestrator.cli import main
for argv in json.loads(sys.stdin.read()):
    try:
        main(argv)
    except SystemExit as exc:
        if exc.code not in (0, None):
            print(f"FAILED {argv}: exit {exc.code}", file=sys.stderr)
            sys.exit(1)
"""


def dispatch_many(root: Path, env: dict, items: list[tuple[str, str, Path | None]], batch: int = 25) -> None:
    """Dispatch tasks through the real CLI entry point, many per interpreter (one process each is ~1 s)."""
    import json

    t0 = time.perf_counter()
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        argvs = [["dispatch", key, "--branch", branch] + (["--worktree", str(wt)] if wt else [])
                 for key, branch, wt in chunk]
        run([sys.executable, "-c", _BATCH], root, env, input=json.dumps(argvs))
        log(f"  dispatched {start + len(chunk)}/{len(items)} ({time.perf_counter() - t0:.1f}s)")


def floor_cmd(root: Path, paths: list[Path], workers: int) -> str:
    """The shell pipeline that does the unavoidable git work: one worktree list, one status per worktree in parallel."""
    listing = root.parent / "worktrees.lst"
    listing.write_bytes(b"".join(str(p).encode() + b"\0" for p in paths))
    return (f"git --no-optional-locks -C '{root}' worktree list --porcelain -z >/dev/null && "
            f"xargs -0 -P {workers} -I{{}} git --no-optional-locks -C {{}} status --porcelain=v2 --branch -z "
            f"<'{listing}' >/dev/null")


def timed(argv: list[str], cwd: Path, env: dict, check: bool = True, shell: bool = False) -> float:
    """Wall time of one whole process."""
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, shell=shell)
    dt = time.perf_counter() - t0
    if check and proc.returncode != 0:
        raise SystemExit(f"timed command failed: {argv} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return dt


def repeat(fn, runs: int, before=None) -> list[float]:
    """Call fn() `runs` times (before() first each time, untimed) and return the durations."""
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        out.append(fn())
    return out


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f}s min {min(times):.3f}s"


def result(name: str, orch_times: list[float], floor_times: list[float], target: float,
           low: float | None = None) -> str:
    """Print and return the final line: orch and floor medians, ratio, and whether the target was met."""
    o, f = statistics.median(orch_times), statistics.median(floor_times)
    ratio = o / f if f > 0 else float("inf")
    goal = f"target {low:g}-{target:g}" if low is not None else f"target <= {target:g}"
    line = (f"RESULT {name}: orch {o:.3f}s (min {min(orch_times):.3f}s), floor {f:.3f}s "
            f"(min {min(floor_times):.3f}s), ratio {ratio:.2f} ({goal})")
    if ratio > target:
        line += " MISSED"
    print(line, flush=True)
    return line


def workdir(keep: bool) -> tuple[Path, callable]:
    """A temporary directory and a cleanup function (which does nothing with --keep)."""
    base = Path(tempfile.mkdtemp(prefix="orch-bench-"))

    def cleanup() -> None:
        if keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    return base, cleanup


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--runs", type=int, default=5, help="timed runs of each command (default 5)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory and print where it is")
    return p
