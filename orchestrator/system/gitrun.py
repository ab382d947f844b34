"""Run git safely: no prompts, no optional locks, no configured programs (gitguard), a timeout, bytes out."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from orchestrator.system.gitguard import ENV_DROP, FIXED_ENV, SUBCOMMAND_FLAGS, Guard, guard_for
from orchestrator.system.procs import kill_group

DEFAULT_TIMEOUT = 10.0

_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX", *ENV_DROP)


def git_env() -> dict[str, str]:
    """Environment for every git call orch makes."""
    env = {k: v for k, v in os.environ.items()
           if k not in _ENV_DROP and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}
    env.update(FIXED_ENV, LC_ALL="C", GIT_OPTIONAL_LOCKS="0")
    return env


@dataclass(frozen=True)
class GitResult:
    """Outcome of one git call: returncode None means it timed out; filters/merge_drivers: switched off."""

    args: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes
    filters: tuple[str, ...] = ()
    merge_drivers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def text(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape")

    def error_line(self) -> str:
        """git's own reason in one line: its first `fatal:`/`error:` line (the hints and advice after it are not
        the reason), else its last line that is not a hint."""
        if self.timed_out:
            return "git timed out"
        msg = [ln.strip() for ln in self.stderr.decode("utf-8", "replace").strip().splitlines() if ln.strip()]
        said = next((ln for ln in msg if ln.startswith(("fatal:", "error:"))), None)
        said = said or next((ln for ln in reversed(msg) if not ln.startswith("hint:")), None) or (msg[-1] if msg else None)
        return (said or f"git exited {self.returncode}")[:200]


def run_git(cwd: str | Path, *args: str, timeout: float = DEFAULT_TIMEOUT, input: bytes | None = None,
            env: dict[str, str] | None = None) -> GitResult:
    """Run `git --no-optional-locks -C cwd args...`; a timeout or a missing git is a failed result.

    No program that configuration names runs: see gitguard (fixed overrides, every configured filter and merge
    driver switched off, diff programs off, status not descending into submodules)."""
    guard: Guard = guard_for(str(cwd))
    if args and args[0] in SUBCOMMAND_FLAGS:
        args = (args[0], *SUBCOMMAND_FLAGS[args[0]], *args[1:])
    argv = ("git", "--no-optional-locks", "--no-pager", "-C", str(cwd), *args)
    extra = (guard.filters, guard.merge_drivers)
    try:
        # A session of its own, so that a timeout kills git *and* anything it started (hooks, helpers)
        # that would otherwise keep the pipes open and hang us.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**git_env(), **(env or {}), **guard.env()},
            start_new_session=True,
        )
    except OSError as exc:
        return GitResult(argv, 127, b"", str(exc).encode(), *extra)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        try:
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        return GitResult(argv, None, out or b"", err or b"", *extra)
    return GitResult(argv, proc.returncode, out, err, *extra)


