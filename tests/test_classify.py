"""The pure classifier: each condition from evidence alone, without git or a database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from orchestrator.classify.classifier import classify
from orchestrator.classify.evidence import CONDITIONS, NEXT_ACTION, AgentState, Evidence, GitFacts, TaskInput, Thresholds

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
TH = Thresholds(stale_after=timedelta(minutes=20), setup_window=timedelta(minutes=15))


def git(**kw) -> GitFacts:
    base = dict(found=True, path="/w/t1", path_exists=True, head="b" * 40, branch="feat")
    base.update(kw)
    return GitFacts(**base)


def task(**kw) -> TaskInput:
    base = dict(key="T1", status="active", branch="feat", created_at=NOW - timedelta(minutes=5),
                worktree_recorded=True, git=git())
    base.update(kw)
    return TaskInput(**base)


def verdict(**kw):
    return classify(task(**kw), TH, NOW)


def test_setup_pending_then_overdue():
    v = verdict(status="setup", worktree_recorded=False, git=None)
    assert (v.condition, v.reason) == ("setup-pending", "awaiting-worktree")
    v = verdict(status="setup", worktree_recorded=False, git=None, created_at=NOW - timedelta(minutes=16))
    assert v.condition == "setup-overdue"
    assert v.next_action == "inspect the dispatch"


def test_setup_worktree_found_but_branch_not_yet_created_stays_in_setup():
    v = verdict(status="setup", worktree_recorded=False, git=git(branch=None))
    assert v.condition == "setup-pending"
    assert "branch not checked out yet" in v.evidence[0].text


def test_busy_worker_with_dirty_tree_is_working_not_stuck():
    v = verdict(git=git(dirty=7, dirty_paths=("a.py",), dirty_mtime=NOW - timedelta(minutes=1), dirty_digest="x"))
    assert (v.condition, v.reason) == ("working", "recent-progress")
    assert any(e.code == "dirty" and e.kind == "git" for e in v.evidence)


def test_no_progress_for_stale_after_is_stuck():
    v = verdict(created_at=NOW - timedelta(minutes=30),
                git=git(dirty=1, dirty_mtime=NOW - timedelta(minutes=25), dirty_digest="x"))
    assert (v.condition, v.reason) == ("stuck", "no-progress")
    assert any(e.kind == "timing" for e in v.evidence)


def test_stale_clock_counts_from_last_evidence_change_not_from_ledger_write():
    # The fingerprint changed since the previous tick: that is progress now, whatever the mtimes say.
    old = NOW - timedelta(hours=2)
    t = task(created_at=old, git=git(dirty=1, dirty_mtime=old, dirty_digest="new"),
             prev_fingerprint="something-else", prev_progress_at=old)
    assert classify(t, TH, NOW).condition == "working"
    # Unchanged fingerprint: progress stays where it was.
    v1 = classify(t, TH, NOW)
    t2 = task(created_at=old, git=git(dirty=1, dirty_mtime=old, dirty_digest="new"),
              prev_fingerprint=v1.fingerprint, prev_progress_at=old)
    assert classify(t2, TH, NOW).condition == "stuck"


def test_clean_with_commits_is_finished():
    v = verdict(git=git(has_commits=True, head_time=NOW - timedelta(hours=3)))
    assert (v.condition, v.next_action) == ("finished", "review")


@pytest.mark.parametrize("facts,reason", [
    (dict(branch="other"), "branch-mismatch"),
    (dict(branch=None), "detached-head"),
    (dict(found=False, path_exists=False), "worktree-missing"),
    (dict(found=False, path_exists=True), "not-a-worktree"),
    (dict(error="git-timeout", error_text="git timed out"), "git-timeout"),
    (dict(error="git-failed", error_text="fatal: bad object"), "git-failed"),
])
def test_blockers(facts, reason):
    v = verdict(git=git(**facts))
    assert (v.condition, v.reason) == ("blocked", reason)
    assert v.evidence[0].kind == "git"


def test_status_blocked_and_reviewing():
    assert verdict(status="blocked").condition == "blocked"
    assert verdict(status="reviewing").condition == "reviewing"


@pytest.mark.parametrize("status", ["merged", "rejected", "abandoned"])
def test_decided_tasks_need_cleanup_until_nothing_is_left(status):
    assert verdict(status=status, git=git(branch_exists=True)).condition == "cleanup-needed"
    gone = git(found=False, path_exists=False, branch_exists=False)
    assert verdict(status=status, git=gone).condition == "done"
    assert verdict(status="cleaned", git=None).condition == "done"


def agent(state: str, **kw) -> AgentState:
    return AgentState(state=state, observed=kw.pop("observed", True), at=NOW, last_activity=kw.pop("last", NOW),
                      evidence=(Evidence("session-log", state, f"agent {state}"),), fingerprint=kw.pop("fp", "f"))


@pytest.mark.parametrize("state,facts,expected", [
    ("waiting-approval", {}, "waiting-input"),
    ("waiting-input", {"dirty": 2}, "waiting-input"),
    ("turn-ended", {"dirty": 2}, "finished-uncommitted"),
    ("turn-ended", {}, "no-output"),
    ("turn-ended", {"has_commits": True}, "finished"),
    ("interrupted", {}, "no-output"),
    ("running", {"has_commits": True}, "working"),
    ("usage-limit", {}, "blocked"),
])
def test_agent_evidence(state, facts, expected):
    v = verdict(agent=agent(state), git=git(**facts))
    assert v.condition == expected
    assert any(e.kind == "session-log" for e in v.evidence)


def test_open_turn_silent_for_stale_after_is_stuck_session_silent():
    old = NOW - timedelta(minutes=40)
    v = verdict(created_at=old, agent=agent("running", last=old))
    assert (v.condition, v.reason) == ("stuck", "session-silent")


def test_log_moving_keeps_task_working_when_git_is_still():
    old = NOW - timedelta(hours=1)
    first = classify(task(created_at=old, agent=agent("running", last=old, fp="a")), TH, NOW)
    later = task(created_at=old, agent=agent("running", last=old, fp="b"),
                 prev_fingerprint=first.fingerprint, prev_progress_at=old)
    assert classify(later, TH, NOW).condition == "working"


statuses = st.sampled_from(["setup", "active", "reviewing", "merged", "rejected", "blocked", "abandoned", "cleaned"])
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc))
git_facts = st.none() | st.builds(
    GitFacts, found=st.booleans(), path=st.just("/w"), path_exists=st.booleans(),
    head=st.none() | st.text("0123456789abcdef", min_size=40, max_size=40), branch=st.none() | st.sampled_from(["feat", "x"]),
    dirty=st.integers(0, 50), dirty_mtime=st.none() | times, dirty_digest=st.text(max_size=8),
    has_commits=st.booleans(), head_time=st.none() | times, branch_exists=st.booleans(), merged=st.booleans(),
    error=st.none() | st.sampled_from(["git-timeout", "git-failed"]))
agents = st.none() | st.builds(
    AgentState, state=st.sampled_from(["running", "turn-ended", "interrupted", "errored", "waiting-approval",
                                       "waiting-input", "usage-limit"]),
    observed=st.booleans(), at=st.none() | times, last_activity=st.none() | times, fingerprint=st.text(max_size=4))


@settings(max_examples=300, deadline=None)
@given(status=statuses, g=git_facts, a=agents, created=times, now=times, recorded=st.booleans(),
       prev=st.none() | st.text(max_size=4), prev_at=st.none() | times)
def test_classifier_is_total(status, g, a, created, now, recorded, prev, prev_at):
    t = TaskInput(key="T", status=status, branch="feat", created_at=created, worktree_recorded=recorded, git=g,
                  agent=a, prev_fingerprint=prev, prev_progress_at=prev_at)
    v = classify(t, TH, now)
    assert v.condition in CONDITIONS
    assert v.next_action == NEXT_ACTION[v.condition]
    assert v.reason and v.evidence
    assert v.progress_at is not None and v.progress_at <= max(now, created)
    assert classify(t, TH, now) == v  # pure: same input, same verdict
