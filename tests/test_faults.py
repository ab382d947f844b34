"""Fault injection: FIFOs, kill -9 mid-tick, a decision during a slow tick, symlink traps, secrets in names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ORCH
from sessionlogs import ClaudeTranscript, CodexRollout

pytestmark = pytest.mark.faults  # with the upgrade, git-trap and cleanup tests: `pytest -m faults`


def homes(r) -> tuple[Path, Path]:
    return Path(r.env["CODEX_HOME"]), Path(r.env["CLAUDE_CONFIG_DIR"])


def hook(r, payload: dict, cwd) -> None:
    proc = subprocess.run([ORCH, "hook", "claude"], cwd=cwd, env=r.env, input=json.dumps(payload),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


# --- 1. a FIFO never blocks the heartbeat ---------------------------------------------------------------------

def test_fifo_session_files_and_transcript_path_do_not_stall_the_tick(repo):
    r = repo
    codex, claude = homes(r)
    wt = r.worktree("f1")
    r.dispatch("f1", "f1", wt, "--agent", "claude")
    good = CodexRollout(codex, wt)
    good.start_turn()
    fifo_rollout = good.path.parent / "rollout-2026-01-01T00-00-00-fifo.jsonl"
    os.mkfifo(fifo_rollout)
    real = ClaudeTranscript(claude, wt)
    real.prompt()
    fifo_claude = real.path.parent / "fifo-session.jsonl"
    os.mkfifo(fifo_claude)
    fifo_elsewhere = r.base / "transcript-fifo.jsonl"
    os.mkfifo(fifo_elsewhere)
    hook(r, {"session_id": "s-fifo", "transcript_path": str(fifo_elsewhere), "cwd": str(wt),
             "hook_event_name": "Stop"}, cwd=wt)

    r.orch("tick", timeout=90)  # a blocked open would hang here (and hold the lock) for ever
    r.orch("tick", timeout=90)  # and the next one too: nothing is left holding the lock
    status = r.orch_json("status")
    assert status["health"]["skipped_ticks"] == 0


def slow_git(r, seconds: float, on: str = "status") -> Path:
    """Put a `git` first on PATH that sleeps before `git <on>`: a hung or very slow repository, for real."""
    import shutil

    real = shutil.which("git", path=r.env["PATH"])
    folder = r.base / "slowbin"
    folder.mkdir(exist_ok=True)
    script = folder / "git"
    script.write_text(f"#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = {on} ] && sleep {seconds} && break; done\n"
                      f"exec {real} \"$@\"\n")
    script.chmod(0o755)
    return folder


def test_a_hung_tick_is_reported_and_skipped_ticks_are_said(repo):
    r = repo
    r.set_config(tick_interval="1s", tick_grace="1s", git_timeout="1m")
    wt = r.worktree("h1")
    r.dispatch("h1", "h1", wt)
    slow = slow_git(r, 15)
    env = {**r.env, "PATH": f"{slow}{os.pathsep}{r.env['PATH']}"}
    hung = subprocess.Popen([ORCH, "tick"], cwd=r.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        owner = r.root / ".orch" / "tick.owner"
        deadline = time.monotonic() + 30
        while not owner.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.5)  # past the time limit (tick_interval + tick_grace = 2s)
        skipped = r.orch("tick")
        assert skipped.returncode == 0 and "skipped" in skipped.stderr
        problems = r.orch_json("status")["health"]["problems"]
        text = "\n".join(problems)
        assert f"held by process {hung.pid}" in text and "past a tick's time limit" in text
        assert "ticks are being skipped: 1 since the last recorded tick" in text
        doctor = r.orch_json("doctor", check=False)
        lock = [f for f in doctor["findings"] if f["check"] == "tick.lock"]
        assert lock and lock[0]["status"] == "fail" and str(hung.pid) in lock[0]["detail"]
    finally:
        hung.wait(60)
    assert hung.returncode == 0
    assert not any("held by process" in p for p in r.orch_json("status")["health"]["problems"])


# --- 2. a person's decision taken during a slow tick wins ------------------------------------------------------

def test_a_decision_during_a_slow_tick_wins(any_repo):
    r = any_repo
    r.set_config(git_timeout="1m")
    r.dispatch("race", "race")  # setup: no worktree yet
    r.worktree("race-wt", branch="race")  # the tick will see it and want to promote setup -> active
    slow = slow_git(r, 9)
    env = {**r.env, "PATH": f"{slow}{os.pathsep}{r.env['PATH']}"}
    tick = subprocess.Popen([ORCH, "tick"], cwd=r.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(2)
    r.orch("task", "set", "race", "abandoned", "--note", "not needed")
    assert tick.poll() is None, "the decision waited for the tick's git probe"
    _, err = tick.communicate(timeout=60)
    assert tick.returncode == 0, err
    shown = r.orch_json("task", "show", "race")
    assert shown["task"]["status"] == "abandoned"
    steps = [(h["from"], h["to"], h["actor"]) for h in shown["history"] if h["kind"] in ("status", "dispatch")]
    assert steps == [(None, "setup", "user"), ("setup", "abandoned", "user")]
    r.orch("tick")  # the next tick leaves the decision alone
    assert r.orch_json("task", "show", "race")["task"]["status"] == "abandoned"


# --- 4. symbolic links inside .orch are refused, never followed -------------------------------------------------

def _one_line_refusal(proc, path) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"refusing to use {path}: it is a symbolic link" in proc.stderr


def test_symlink_traps_in_the_state_folder(repo):
    r = repo
    state = r.root / ".orch"
    r.orch("tick")
    victim = r.base / "victim"
    victim.mkdir()
    (victim / "old.md").write_text("keep me\n")
    (victim / "notes.txt").write_text("keep me too\n")

    # reports/history -> elsewhere: refused, nothing written or deleted there
    import shutil

    shutil.rmtree(state / "reports" / "history")
    (state / "reports" / "history").symlink_to(victim)
    r.set_config(history_keep=1)
    _one_line_refusal(r.orch("tick", check=False), state / "reports" / "history")
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt", "old.md"]
    (state / "reports" / "history").unlink()

    # logs/ticks.jsonl and hooks/events.jsonl and logs/hook.log -> elsewhere: never appended through
    target = victim / "notes.txt"
    for name in ("logs/ticks.jsonl", "hooks/events.jsonl", "logs/hook.log"):
        link = state / name
        link.parent.mkdir(exist_ok=True)
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
    wt = r.worktree("s1")
    subprocess.run([ORCH, "hook", "claude"], cwd=wt, env=r.env, input="not json", text=True, timeout=30)
    subprocess.run([ORCH, "hook", "claude"], cwd=wt, env=r.env, text=True, timeout=30,
                   input=json.dumps({"session_id": "x", "cwd": str(wt), "hook_event_name": "Stop"}))
    r.orch("tick", check=False)
    assert target.read_text() == "keep me too\n"
    for name in ("logs/ticks.jsonl", "hooks/events.jsonl", "logs/hook.log"):
        (state / name).unlink()

    # tick.lock -> elsewhere: a one-line refusal, not "internal error: OSError ELOOP"
    (state / "tick.lock").unlink(missing_ok=True)
    (state / "tick.lock").symlink_to(victim / "lockfile")
    _one_line_refusal(r.orch("tick", check=False), state / "tick.lock")
    (state / "tick.lock").unlink()

    # ledger.db -> some other file: refused before anything chmods its target
    other = victim / "not-a-db"
    other.write_text("data\n")
    other.chmod(0o644)
    (state / "ledger.db").rename(state / "ledger.real")
    (state / "ledger.db").symlink_to(other)
    _one_line_refusal(r.orch("status", check=False), state / "ledger.db")
    assert (other.stat().st_mode & 0o777) == 0o644 and other.read_text() == "data\n"
    (state / "ledger.db").unlink()
    (state / "ledger.real").rename(state / "ledger.db")
    r.orch("tick")


# --- 5. a secret in a branch name never leaves the process -------------------------------------------------------

def test_a_secret_in_a_branch_name_is_redacted_in_every_output(any_repo):
    r = any_repo
    token = "ghp_" + "A1b2C3d4" * 4 + "XyZw"
    branch = f"feat/{token}"
    wt = r.worktree("s2", branch=branch)
    r.commit(wt, "a.txt", "a\n")
    r.dispatch("s2", branch, wt)
    outputs = {"tick": r.orch("tick").stdout}
    reports = r.root / ".orch" / "reports"
    for name in ("latest.md", "latest.json", "latest.html"):
        outputs[name] = (reports / name).read_text()
    outputs["history"] = "".join(p.read_text() for p in (reports / "history").iterdir())
    for argv in (["status"], ["status", "--json"], ["task", "show", "s2"], ["task", "show", "s2", "--json"],
                 ["task", "list"], ["task", "list", "--json"], ["review", "s2"], ["review", "s2", "--json"]):
        proc = r.orch(*argv, check=False)
        outputs[" ".join(argv)] = proc.stdout + proc.stderr
    for where, text in outputs.items():
        assert token not in text, f"the token leaked through {where}"
    assert "feat/[redacted]" in outputs["task show s2"] and "feat/[redacted]" in outputs["latest.json"]


# --- kill -9 mid-tick leaves the ledger, the reports and the next tick intact ----------------------------------

def test_kill_9_mid_tick_on_both_ledgers(any_repo):
    r = any_repo
    r.set_config(git_timeout="1m")
    for i in range(3):
        wt = r.worktree(f"k{i}")
        r.commit(wt, "k.txt", f"{i}\n")
        r.dispatch(f"k{i}", f"k{i}", wt)
    r.orch("tick")
    slow = slow_git(r, 1)
    env = {**r.env, "PATH": f"{slow}{os.pathsep}{r.env['PATH']}"}
    for delay in (0.8, 2.0, 3.5):
        proc = subprocess.Popen([ORCH, "tick"], cwd=r.root, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)  # orch and the git it runs, mid-probe or mid-write
        proc.wait()
        json.loads((r.root / ".orch" / "reports" / "latest.json").read_text())  # whole, old or new
        r.orch("tick")  # the lock went with the process
        status = r.orch_json("status")
        assert {t["id"] for t in status["tasks"]} == {"k0", "k1", "k2"}
        assert not any("held by process" in p for p in status["health"]["problems"])
    if r.backend == "sqlite":
        import sqlite3

        with sqlite3.connect(r.root / ".orch" / "ledger.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ticks = r.orch_json("task", "show", "k0")["observations"]
    assert len(ticks) >= 4  # every completed tick recorded its observation
