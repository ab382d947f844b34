"""`orch watch`: the real command in a subprocess, ticking a real repository until a match, a timeout or a signal."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import timedelta
from types import SimpleNamespace

from conftest import ORCH

from orchestrator.ledger.lock import TickSkipped
from orchestrator.watch import Watcher, parse_until


def start_watch(r, *args) -> subprocess.Popen:
    return subprocess.Popen([ORCH, "watch", *args], cwd=r.root, env=r.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_until_tick(proc: subprocess.Popen) -> list[str]:
    """Read stdout lines until the first tick line (the first tick runs at once)."""
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if " tick " in line:
            return lines
    raise AssertionError(f"no tick line: {lines!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}")


def test_until_finished_returns_when_the_worker_commits(repo):
    r = repo
    wt = r.worktree("w1")
    r.dispatch("T1", "w1", wt)
    t0 = time.monotonic()
    proc = start_watch(r, "--every", "1s", "--until", "finished", "--timeout", "60s")
    try:
        first = read_until_tick(proc)
        r.commit(wt, "feature.py", "print('done')\n", "feature")
        out, errs = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(first) + out
    assert proc.returncode == 0, (out, errs)
    assert time.monotonic() - t0 < 20
    assert "until finished: matched" in out
    assert "T1 finished (committed-clean) → review" in out
    assert errs == ""


def test_until_times_out_with_exit_3(repo):
    r = repo
    t0 = time.monotonic()
    proc = r.orch("watch", "--every", "1s", "--until", "waiting-input", "--timeout", "3s", check=False, timeout=30)
    assert proc.returncode == 3, proc
    assert proc.stdout.strip().splitlines()[-1] == "timeout after 3s: nothing reached waiting-input"
    assert proc.stdout.count(" tick ") >= 2  # it kept ticking until the deadline
    assert 3 <= time.monotonic() - t0 < 15


def test_sigterm_stops_cleanly_with_a_complete_report(repo):
    r = repo
    wt = r.worktree("w1")
    r.dispatch("T1", "w1", wt)
    proc = start_watch(r, "--every", "1s")
    try:
        read_until_tick(proc)
        time.sleep(0.9)  # likely in the middle of the second tick
        proc.send_signal(signal.SIGTERM)
        out, errs = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (out, errs)
    last = out.strip().splitlines()[-1]
    assert last.startswith("watch stopped (SIGTERM) after ") and last.endswith(" tick(s)"), out
    assert "Traceback" not in errs
    md = r.report()
    assert md.startswith("---") and "Health:" in md
    assert not list((r.root / ".orch" / "reports").glob(".*.tmp"))


def test_bad_input_is_one_line_exit_2(repo):
    r = repo
    for args, words in [(["--until", "foo"], "invalid --until 'foo': choose from attention"),
                        (["--every", "soon"], "invalid --every 'soon'"),
                        (["--every", "0.5s"], "at least 1s")]:
        proc = r.orch("watch", *args, check=False, timeout=30)
        assert proc.returncode == 2, (args, proc)
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, proc.stderr)


def test_until_attention_returns_at_once_when_already_blocked(repo):
    r = repo
    wrong = r.worktree("wrong")
    r.dispatch("wrong", "wrong", wrong)
    r.git("checkout", "-q", "-b", "elsewhere", cwd=wrong)  # the worker moves off its branch after the dispatch
    t0 = time.monotonic()
    proc = r.orch("watch", "--every", "1h", "--until", "attention", "--timeout", "30s", "--json",
                  check=False, timeout=30)
    assert proc.returncode == 0, proc
    assert time.monotonic() - t0 < 10
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "watch" and doc["reason"] == "matched" and doc["ticks"] == 1
    assert [(m["id"], m["condition"], m["reason"]) for m in doc["matched"]] == [("wrong", "blocked", "branch-mismatch")]
    assert "wrong blocked (branch-mismatch) → resolve the blocker" in proc.stderr

    # Once the orchestrator acknowledged it, the same blocked task no longer wakes it: the wait times out.
    r.orch("ack", "--note", "asked the worker to switch branch")
    again = r.orch("watch", "--every", "1s", "--until", "attention", "--timeout", "3s", check=False, timeout=30)
    assert again.returncode == 3, again
    assert "timeout after 3s: nothing reached attention" in again.stdout


def test_loop_survives_failed_and_skipped_ticks():
    """The loop itself, in-process: a failing tick and a skipped tick do not end the watch."""
    calls = []
    ctx = {"overall": "review-needed", "act_now": [], "tasks": [
        {"id": "T", "condition": "finished", "reason": "committed-clean", "next_action": "review", "evidence": []}]}

    def tick(_ledger):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        if len(calls) == 2:
            raise TickSkipped("another tick is running")
        return SimpleNamespace(context=ctx, tick_id=7, changes=[{"task": "T"}])

    lines = []
    w = Watcher(None, timedelta(seconds=1), until=parse_until("finished"), timeout=timedelta(seconds=20),
                say=lines.append, tick=tick)
    res = w.run()
    assert res.reason == "matched" and res.failed == 1 and res.skipped == 1 and res.ticks == 1, lines
    assert "tick failed: RuntimeError: database is locked (will retry)" in lines[0]
    assert "tick skipped" in lines[1]
    assert lines[2].endswith("tick 7: review-needed (0 to act on, 1 change(s))")
    assert [m["id"] for m in res.matched] == ["T"]
