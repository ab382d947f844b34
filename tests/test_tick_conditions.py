"""Every condition that git and timing can produce, from real repositories, worktrees and `orch tick`."""

from __future__ import annotations

import os
from pathlib import Path
import time
from datetime import datetime, timedelta, timezone



def conditions(r) -> dict[str, tuple[str, str]]:
    return {t["id"]: (t["condition"], t["reason"]) for t in r.report_json()["tasks"]}


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_git_and_timing_conditions_in_one_tick(any_repo):
    r = any_repo
    busy = r.worktree("busy")
    done = r.worktree("done")
    idle = r.worktree("idle")
    wrong = r.worktree("wrong")
    detached = r.worktree("det", "det-branch")
    gone = r.worktree("gone")
    r.write(busy, "src/new.py", "x = 1\n")
    r.commit(done, "feature.py", "print('hi')\n")
    for key, branch, wt in [("busy", "busy", busy), ("done", "done", done), ("idle", "idle", idle),
                            ("wrong", "wrong", wrong), ("det", "det-branch", detached), ("gone", "gone", gone)]:
        r.dispatch(key, branch, wt)
    r.git("checkout", "-q", "-b", "elsewhere", cwd=wrong)  # the workers moved away after the dispatch
    r.git("checkout", "-q", "--detach", cwd=detached)
    r.dispatch("later", "not-yet")
    r.git("worktree", "remove", "--force", str(gone))

    r.orch("tick")
    got = conditions(r)
    assert got["busy"] == ("working", "recent-progress")
    assert got["done"] == ("finished", "committed-clean")
    assert got["idle"] == ("working", "recent-progress")
    assert got["wrong"] == ("blocked", "branch-mismatch")
    assert got["det"] == ("blocked", "detached-head")
    assert got["gone"] == ("blocked", "worktree-missing")
    assert got["later"] == ("setup-pending", "awaiting-worktree")
    data = r.report_json()
    assert data["overall"] == "blocked"
    for t in data["tasks"]:
        assert t["evidence"], t
        assert {e["kind"] for e in t["evidence"]} <= {"git", "session-log", "hook", "timing"}

    # 25 minutes later nothing moved: the idle worker is stuck, the busy one too (its files did not change),
    # and the dispatch without a worktree is overdue.
    later = datetime.now(timezone.utc) + timedelta(minutes=25)
    r.orch("tick", "--now", iso(later))
    got = conditions(r)
    assert got["idle"] == ("stuck", "no-progress")
    assert got["busy"] == ("stuck", "no-progress")
    assert got["later"] == ("setup-overdue", "setup-window-passed")
    assert got["done"] == ("finished", "committed-clean")
    md = r.report()
    assert "**idle** stuck (no-progress) → inspect or nudge the worker" in md
    assert "timing: last progress" in md


def test_editing_counts_as_progress_however_dirty(repo):
    r = repo
    wt = r.worktree("w")
    r.write(wt, "a.py", "1\n")
    r.dispatch("T", "w", wt)
    start = datetime.now(timezone.utc)
    r.orch("tick", "--now", iso(start))
    # 30 minutes later the worker is still editing (a file changes between ticks): working, not stuck.
    r.write(wt, "a.py", "2\n")
    r.write(wt, "b.py", "3\n")
    r.orch("tick", "--now", iso(start + timedelta(minutes=30)))
    assert conditions(r)["T"] == ("working", "recent-progress")
    # Then nothing changes for 21 minutes: stuck.
    r.orch("tick", "--now", iso(start + timedelta(minutes=51)))
    assert conditions(r)["T"] == ("stuck", "no-progress")
    # A commit is progress again.
    r.commit(wt, "c.py", "4\n")
    r.orch("tick", "--now", iso(start + timedelta(minutes=52)))
    assert conditions(r)["T"] == ("finished", "committed-clean")


def test_setup_task_becomes_active_when_its_worktree_appears(repo):
    r = repo
    r.dispatch("T", "feat/x")
    r.orch("tick")
    assert conditions(r)["T"][0] == "setup-pending"
    main_before = r.git("rev-parse", "main")
    r.commit(r.root, "other.txt", "main moves on\n")  # main moves after the dispatch
    wt = r.worktree("x", branch="feat/x", start=main_before)
    r.orch("tick")
    shown = r.orch_json("task", "show", "T")
    assert shown["task"]["status"] == "active"
    assert shown["task"]["worktree"] == os.path.realpath(wt)
    assert shown["task"]["condition"] == "working"
    assert any(h["kind"] == "status" and h["to"] == "active" for h in shown["history"])
    # The base is the fork point of the branch, not main's HEAD at dispatch time.
    assert shown["task"]["base_commit"] == main_before


def test_base_defaults_to_fork_point_not_main_head(repo):
    r = repo
    fork = r.git("rev-parse", "HEAD")
    wt = r.worktree("w")
    r.commit(r.root, "later.txt", "main moved\n")
    r.dispatch("T", "w", wt)
    assert r.orch_json("task", "show", "T")["task"]["base_commit"] == fork
    r.orch("tick")
    assert conditions(r)["T"][0] == "working"  # no commits after the fork point yet


def test_decisions_reviewing_cleanup_needed_done_and_cleaned(any_repo):
    r = any_repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    r.dispatch("T", "w", wt)
    r.orch("tick")
    r.orch("task", "set", "T", "reviewing", "--note", "looking")
    r.orch("tick")
    assert conditions(r)["T"] == ("reviewing", "status-reviewing")
    r.orch("task", "set", "T", "blocked", "--note", "needs a decision")
    r.orch("tick")
    assert conditions(r)["T"] == ("blocked", "status-blocked")
    r.git("merge", "-q", "--no-ff", "w", "-m", "merge w")
    r.orch("task", "set", "T", "merged")
    r.orch("tick")
    assert conditions(r)["T"][0] == "cleanup-needed"
    assert r.report_json()["overall"] == "cleanup-needed"
    r.git("worktree", "remove", str(wt))
    r.git("branch", "-d", "w")
    r.orch("tick")
    listed = r.orch_json("task", "list", "--all")["tasks"]
    assert [(t["status"], t["condition"]) for t in listed] == [("cleaned", "done")]
    history = r.orch_json("task", "show", "T")["history"]
    notes = [h["note"] for h in history if h["kind"] == "status"]
    assert "looking" in notes and "needs a decision" in notes


def test_hung_git_marks_only_that_task_blocked(repo):
    r = repo
    ok = r.worktree("ok")
    hung = r.worktree("hung")
    # git hangs in that one worktree (an fsmonitor hook would have done it once; orch runs none now)
    import shutil

    real = shutil.which("git", path=r.env["PATH"])
    folder = r.base / "slowbin"
    folder.mkdir()
    (folder / "git").write_text(f'#!/bin/sh\ncase "$*" in *"{hung}"*) sleep 30;; esac\nexec {real} "$@"\n')
    (folder / "git").chmod(0o755)
    r.dispatch("ok", "ok", ok)
    r.dispatch("hung", "hung", hung)
    r.set_config(git_timeout="2s")
    started = time.monotonic()
    r.orch("tick", env={"PATH": f"{folder}{os.pathsep}{r.env['PATH']}"})
    assert time.monotonic() - started < 20
    got = conditions(r)
    assert got["hung"] == ("blocked", "git-timeout")
    assert got["ok"] == ("working", "recent-progress")


def test_dirty_integration_checkout_blocks(repo):
    r = repo
    r.write(r.root, "scratch.txt", "oops\n")
    r.orch("tick")
    data = r.report_json()
    assert data["overall"] == "blocked"
    assert data["act_now"][0]["reason"] == "integration-dirty"
    assert "scratch.txt" in r.report()
    # .orch/ itself never shows as a dirty change
    assert r.git("status", "--porcelain") == "?? scratch.txt"
    # A worker waiting for an answer is more urgent (SPEC's order): the overall status and Act now agree.
    from sessionlogs import ClaudeTranscript

    wt = r.worktree("q")
    r.dispatch("Q", "q", wt, "--agent", "claude")
    log = ClaudeTranscript(Path(r.env["CLAUDE_CONFIG_DIR"]), wt)
    log.prompt()
    log.tool_use("AskUserQuestion", {"questions": [{"question": "Which DB?"}]})
    r.orch("tick")
    data = r.report_json()
    assert data["overall"] == "waiting-input"
    assert [(a["id"], a["condition"]) for a in data["act_now"][:2]] == [("Q", "waiting-input"),
                                                                       ("(integration)", "blocked")]
    assert r.report().index("**Q** waiting-input") < r.report().index("**(integration)** blocked")
