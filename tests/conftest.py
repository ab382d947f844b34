"""Shared fixtures: real git repositories with real worktrees, and the real `orch` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ORCH = shutil.which("orch", path=os.path.dirname(sys.executable)) or shutil.which("orch")
PG_ADMIN = os.environ.get("ORCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# `orch` runs in this process by default (the same entry point, argv, environment, working directory, stdin and
# captured stdout/stderr as a real process): a new Python process per command costs about half a second.
# Tests where the process itself is the point (locks, signals, kill -9, start-up, umask) start real processes
# with subprocess directly; ORCH_TEST_SUBPROCESS=1 runs every command as a real process, to compare.
IN_PROCESS = not os.environ.get("ORCH_TEST_SUBPROCESS")


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")  # sys.exit("message"): Python prints it and exits 1
    return 1


def run_orch_in_process(args, cwd, env, input=None) -> subprocess.CompletedProcess:
    """Run `orch args…` through its console entry point in this process, as a process would see it."""
    import contextlib
    import io
    import time

    from orchestrator import entry
    from orchestrator.cli import common
    from orchestrator.cli import hints

    saved_env, saved_cwd, saved_argv, saved_stdin = dict(os.environ), os.getcwd(), sys.argv, sys.stdin
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        os.environ.clear()
        os.environ.update(env if env is not None else saved_env)
        time.tzset()
        os.chdir(cwd)
        sys.argv = [ORCH, *map(str, args[1:])]
        sys.stdin = io.StringIO(input or "")
        for printer in (common.out, common.err):
            printer._console = None  # rich reads the width and colour settings from the environment when made
        hints.orch_word.cache_clear()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                entry.main()
            except SystemExit as exc:
                code = _exit_code(exc.code)
    finally:
        for printer in (common.out, common.err):
            printer._console = None
        sys.stdin = saved_stdin
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        time.tzset()
    return subprocess.CompletedProcess(list(map(str, args)), code, out.getvalue(), err.getvalue())


def run(args, cwd, env=None, input=None, check=True, timeout=120, process=None):
    """`process`: None runs orch in-process unless ORCH_TEST_SUBPROCESS is set; True always as a process; False
    always in-process (a test that patches orch itself)."""
    in_process = (IN_PROCESS if process is None else not process) and args and str(args[0]) == ORCH
    if in_process:
        proc = run_orch_in_process(args, cwd, env, input)
    else:
        proc = subprocess.run(args, cwd=cwd, env=env, input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


class Repo:
    """A temporary repository (`root`) with helpers to make worktrees and run `orch` in it."""

    def __init__(self, base: Path, env: dict):
        self.base = base
        self.root = base / "repo"
        self.env = env

    # --- git -------------------------------------------------------------
    def git(self, *args, cwd=None, check=True):
        return run(["git", *args], cwd=cwd or self.root, env=self.env, check=check).stdout.strip()

    def worktree(self, name: str, branch: str | None = None, detach: bool = False, start: str = "main") -> Path:
        path = self.base / name
        if detach:
            self.git("worktree", "add", "--detach", str(path), start)
        else:
            self.git("worktree", "add", "-b", branch or name, str(path), start)
        return path

    def write(self, where: Path, name: str, text: str) -> Path:
        p = Path(where) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def commit(self, where: Path, name: str = "work.txt", text: str = "work\n", msg: str = "work") -> str:
        self.write(where, name, text)
        self.git("add", "-A", cwd=where)
        self.git("commit", "-q", "-m", msg, cwd=where)
        return self.git("rev-parse", "HEAD", cwd=where)

    def commit_bytes(self, files: dict, msg: str) -> str:
        """Write (None: delete) files named by str or raw bytes at the repository's root, commit them (an empty
        commit when nothing changed) and return the commit."""
        root = os.fsencode(str(self.root))
        for name, data in files.items():
            path = os.path.join(root, name if isinstance(name, bytes) else name.encode())
            if data is None:
                os.unlink(path)
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", msg)
        return self.git("rev-parse", "HEAD")

    # --- orch ------------------------------------------------------------
    def orch(self, *args, check=True, cwd=None, input=None, env=None, timeout=120, process=None):
        """Run orch in this process (`process=True`: as a real process, where the process is the point)."""
        return run([ORCH, *map(str, args)], cwd=cwd or self.root, env={**self.env, **(env or {})}, input=input,
                   check=check, timeout=timeout, process=process)

    def orch_json(self, *args, **kw):
        proc = self.orch(*args, "--json", **kw)
        return json.loads(proc.stdout)

    def report(self) -> str:
        return (self.root / ".orch" / "reports" / "latest.md").read_text()

    def report_json(self) -> dict:
        return json.loads((self.root / ".orch" / "reports" / "latest.json").read_text())

    def set_config(self, **values) -> None:
        """Change settings in .orch/config.toml, as a person would."""
        import tomllib

        import tomli_w

        path = self.root / ".orch" / "config.toml"
        data = tomllib.loads(path.read_text())
        data.update(values)
        path.write_text(tomli_w.dumps(data))

    def dispatch(self, task: str, branch: str, worktree: Path | None = None, *extra) -> None:
        args = ["dispatch", task, "--branch", branch]
        if worktree is not None:
            args += ["--worktree", str(worktree)]
        self.orch(*args, *extra)


def _base_env(tmp: Path) -> dict:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
                         "[advice]\n\tdetachedHead = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ORCH_", "CODEX_", "CLAUDE_"))}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", ORCH_HOST="test-host",
               CODEX_HOME=str(home / ".codex"), CLAUDE_CONFIG_DIR=str(home / ".claude"), NO_COLOR="1",
               COLUMNS="200", TZ="UTC")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture
def env(tmp_path) -> dict:
    return _base_env(tmp_path)


def _new_repo(base: Path, env: dict) -> Repo:
    r = Repo(base, env)
    r.root.mkdir()
    r.git("init", "-q", "-b", "main")
    r.commit(r.root, "README.md", "hello\n", "initial")
    return r


@pytest.fixture(scope="session")
def _initialised_template(tmp_path_factory) -> Path:
    """One repository per test process, made and `orch init`ed the real way; `repo` copies it."""
    base = tmp_path_factory.mktemp("template")
    r = _new_repo(base, _base_env(base))
    r.orch("init")
    return r.root


@pytest.fixture
def bare_repo(tmp_path, env) -> Repo:
    """A repository with one commit on main, not yet `orch init`ed."""
    return _new_repo(tmp_path, env)


@pytest.fixture
def repo(tmp_path, env, _initialised_template) -> Repo:
    """A repository with orch initialised (SQLite ledger): a copy of one made by `orch init` (a repository,
    its SQLite ledger and orch's state folder hold no absolute paths, so a copy is what init would make here)."""
    r = Repo(tmp_path, env)
    shutil.copytree(_initialised_template, r.root, symlinks=True)
    return r


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    if not _pg_available():
        if os.environ.get("ORCH_SKIP_PG"):
            pytest.skip("PostgreSQL not available and ORCH_SKIP_PG is set")
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (set ORCH_SKIP_PG=1 to skip)")
    import psycopg

    name = f"orch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def any_repo(request) -> Repo:
    """An initialised repository on each ledger backend (ORCH_DB set for PostgreSQL)."""
    if request.param == "postgres":
        r = request.getfixturevalue("bare_repo")
        r.env["ORCH_DB"] = request.getfixturevalue("pg_url")
        r.orch("init")
    else:
        r = request.getfixturevalue("repo")
    r.backend = request.param
    return r
