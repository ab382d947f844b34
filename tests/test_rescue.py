"""Rescue: `orch review` on a stuck worker says what its worktree holds and recommends nudge, take over or abandon,
changing nothing."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from orchestrator.review.rescue import WorkFacts, recommend
from sessionlogs import CodexRollout, later

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def test_recommendations_from_the_facts():
    dirty = WorkFacts(changed_count=1, changed_bytes=10)
    assert recommend(dirty, "T", "stuck", "session-silent", {}, None, NOW)["action"] == "nudge"
    gone = recommend(dirty, "T", "stuck", "agent-exited", {}, None, NOW)
    assert gone["action"] == "take-over" and "worker is gone" in gone["text"]
    assert recommend(WorkFacts(commits=2), "T", "stuck", "session-silent", {}, None, NOW)["action"] == "take-over"
    nothing = recommend(WorkFacts(), "T", "no-output", "turn-ended-no-changes", {}, None, NOW)
    assert nothing["action"] == "abandon" and nothing["work"] == ["nothing"]
    assert "`orch task set T abandoned`" in nothing["text"]
    assert recommend(WorkFacts(error="git status failed"), "T", "stuck", None, {}, None, NOW)["action"] == "inspect"


def _untouched(wt: Path) -> tuple:
    """What a read-only review must leave alone: the index, HEAD, and every file's mtime."""
    gitdir = Path(os.popen(f"git -C {wt} rev-parse --absolute-git-dir").read().strip())
    files = sorted((str(p), p.stat().st_mtime_ns) for p in wt.rglob("*") if p.is_file() and ".git" not in p.parts)
    index = gitdir / "index"
    return (index.stat().st_mtime_ns if index.exists() else None, (gitdir / "HEAD").read_text(), files)


def test_rescue_a_stuck_worker_with_uncommitted_work(repo):
    r = repo
    wt = r.worktree("w1")
    r.dispatch("T1", "w1", wt)
    r.commit(wt, "src/done.py", "x = 1\n", "first part")
    r.write(wt, "src/half.py", "y = 2\n" * 50)
    r.write(wt, "src/done.py", "x = 1\nx += 1\n")
    r.orch("tick")
    r.orch("tick", "--now", later(30))
    before = _untouched(wt)
    out = r.orch("review", "T1", check=False).stdout
    assert "rescue: nudge: nudge the same worker" in out
    assert "holds: 1 commit(s) after base; 1 uncommitted change(s) (13 B); 1 untracked file(s) (300 B)" in out
    assert "changed   M src/done.py (13 B +1 -0)" in out and "untracked src/half.py (300 B)" in out
    assert "commit" in out and "first part" in out and "why:   last progress" in out
    data = r.orch_json("review", "T1")["rescue"]
    assert data["action"] == "nudge" and data["uncommitted"]["list"][0]["path"] == "src/done.py"
    assert data["untracked"] == {"count": 1, "bytes": 300, "list": [{"path": "src/half.py", "size": 300}]}
    assert _untouched(wt) == before


def test_rescue_a_silent_worker_with_only_commits(repo):
    r = repo
    wt = r.worktree("w2")
    r.dispatch("T2", "w2", wt)
    log = CodexRollout(Path(r.env["CODEX_HOME"]), wt, approval="never")
    log.start_turn()
    call = log.call("shell")
    log.output(call)
    r.commit(wt, "a.py", "a = 1\n", "all of it")
    r.orch("tick")
    r.orch("tick", "--now", later(30))
    data = r.orch_json("review", "T2")
    assert (data["rescue"]["condition"], data["rescue"]["reason"]) == ("stuck", "session-silent")
    assert data["rescue"]["action"] == "take-over" and data["rescue"]["work"] == ["1 commit(s) after base"]
    assert "take over the branch: its work is committed" in r.orch("review", "T2", check=False).stdout


def test_rescue_a_stuck_worker_with_nothing(repo):
    r = repo
    wt = r.worktree("w3")
    r.dispatch("T3", "w3", wt)
    r.orch("tick")
    r.orch("tick", "--now", later(30))
    out = r.orch("review", "T3", check=False).stdout
    assert "rescue: abandon: nothing to keep" in out and "holds: nothing" in out
    # a task that is simply working gets no rescue section
    r.write(wt, "new.py", "n = 1\n")
    r.orch("tick", "--now", later(31))
    assert r.orch_json("review", "T3")["rescue"] is None
