"""Run git safely: no prompts, no optional locks, a timeout, bytes out, never a shell."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from orchestrator.system.procs import kill_group

DEFAULT_TIMEOUT = 10.0

_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


def git_env() -> dict[str, str]:
    """Environment for every git call orch makes."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
    env.update(
        LC_ALL="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
    )
    return env


@dataclass(frozen=True)
class GitResult:
    """Outcome of one git call: returncode None means it timed out."""

    args: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def text(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape")

    def error_line(self) -> str:
        if self.timed_out:
            return "git timed out"
        msg = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return (msg[-1] if msg else f"git exited {self.returncode}")[:200]


def run_git(cwd: str | Path, *args: str, timeout: float = DEFAULT_TIMEOUT, input: bytes | None = None,
            env: dict[str, str] | None = None) -> GitResult:
    """Run `git --no-optional-locks -C cwd args...`; a timeout or a missing git is a failed result."""
    argv = ("git", "--no-optional-locks", "-C", str(cwd), *args)
    try:
        # A session of its own, so that a timeout kills git *and* anything it started (hooks, helpers)
        # that would otherwise keep the pipes open and hang us.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**git_env(), **(env or {})},
            start_new_session=True,
        )
    except OSError as exc:
        return GitResult(argv, 127, b"", str(exc).encode())
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        try:
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        return GitResult(argv, None, out or b"", err or b"")
    return GitResult(argv, proc.returncode, out, err)


