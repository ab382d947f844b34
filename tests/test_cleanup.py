"""`orch cleanup`: leftovers of decided tasks, listed by default, removed only with --apply, never by force unasked."""

from __future__ import annotations



def worktrees(r) -> str:
    return r.git("worktree", "list", "--porcelain")


def branches(r) -> set[str]:
    return set(r.git("for-each-ref", "--format=%(refname:short)", "refs/heads/").split())


def entries(doc: dict) -> dict[str, dict]:
    return {e["task"]: e for e in doc["entries"]}


def test_dry_run_lists_and_changes_nothing_then_apply_cleans(any_repo):
    repo = any_repo
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    r.dispatch("T", "w", wt)
    r.git("merge", "-q", "--no-edit", "w")  # the integration checkout merged the branch
    r.orch("task", "set", "T", "merged")  # git shows it: the decision is verified
    before_wt, before_br = worktrees(r), branches(r)

    dry = r.orch("cleanup")
    assert dry.returncode == 0
    assert f"T: worktree {wt}: may go; branch w: may go" in dry.stdout
    assert "why: decided merged on " in dry.stdout and "branch merged into main" in dry.stdout
    assert "Dry run: nothing changed" in dry.stdout
    doc = r.orch_json("cleanup")
    e = entries(doc)["T"]
    assert doc["applied"] is False and e["worktree_may_go"] and e["branch_may_go"] and e["blockers"] == []
    assert worktrees(r) == before_wt and branches(r) == before_br
    assert wt.is_dir()

    applied = r.orch_json("cleanup", "--apply")
    e = entries(applied)["T"]
    assert applied["applied"] is True and e["cleaned"] is True
    assert e["removed"] == [f"worktree {wt}", "branch w"]
    assert not wt.exists() and "w" not in branches(r)
    shown = r.orch_json("task", "show", "T")
    assert shown["task"]["status"] == "cleaned" and shown["task"]["condition"] == "done"
    assert [e["code"] for e in shown["task"]["evidence"]] == ["cleaned"]  # not the stale "worktree still at"
    assert any(h["kind"] == "cleanup" and "branch w" in h["note"] for h in shown["history"])
    assert any(h["kind"] == "status" and h["to"] == "cleaned" for h in shown["history"])
    # Nothing left: a second run has nothing to do.
    assert "Nothing to clean up" in r.orch("cleanup", "--apply").stdout


def test_refuses_dirty_and_unmerged_until_forced(repo):
    r = repo
    dirty = r.worktree("dirty")
    r.commit(dirty, "a.txt", "a\n")
    r.git("merge", "-q", "--no-edit", "dirty")
    r.write(dirty, "scratch.txt", "uncommitted\n")
    unmerged = r.worktree("unmerged")
    r.commit(unmerged, "b.txt", "b\n")
    r.dispatch("D", "dirty", dirty)
    r.dispatch("U", "unmerged", unmerged)
    r.orch("task", "set", "D", "abandoned")
    r.orch("task", "set", "U", "rejected")

    doc = r.orch_json("cleanup", "--apply")
    got = entries(doc)
    assert got["D"]["blockers"] == ["worktree has 1 uncommitted change(s)"]
    assert got["D"]["removed"] == [] and got["D"]["cleaned"] is False
    # The unmerged task's clean worktree goes; its branch stays.
    assert got["U"]["removed"] == [f"worktree {unmerged}"]
    assert got["U"]["blockers"] == ["branch unmerged is not merged into main"]
    assert dirty.is_dir() and (dirty / "scratch.txt").exists()
    assert {"dirty", "unmerged"} <= branches(r)
    assert r.orch_json("task", "show", "U")["task"]["status"] == "rejected"

    text = r.orch("cleanup").stdout
    assert "blocks: worktree has 1 uncommitted change(s) (--force D overrides)" in text
    assert "branch unmerged: stays" in text

    forced = r.orch_json("cleanup", "--apply", "--force", "D", "--force", "U")
    got = entries(forced)
    assert got["D"]["cleaned"] and got["U"]["cleaned"]
    assert not dirty.exists() and not {"dirty", "unmerged"} & branches(r)
    assert r.orch_json("task", "show", "U")["task"]["status"] == "cleaned"


def test_running_task_is_left_alone(repo):
    r = repo
    busy = r.worktree("busy")
    r.write(busy, "wip.txt", "editing\n")
    r.dispatch("A", "busy", busy)
    proc = r.orch("cleanup", "--apply")
    assert "A: not decided, left alone (status active)" in proc.stdout
    doc = r.orch_json("cleanup", "--apply")
    assert doc["entries"] == [] and doc["left_alone"] == [{"task": "A", "status": "active", "why": "not decided, left alone"}]
    forced = r.orch("cleanup", "--apply", "--force", "A", check=False)
    assert forced.returncode == 2 and "not decided" in forced.stderr and forced.stderr.count("\n") == 1
    unknown = r.orch("cleanup", "--force", "ghost", check=False)
    assert unknown.returncode == 2
    assert busy.is_dir() and (busy / "wip.txt").exists() and "busy" in branches(r)
    assert r.orch_json("task", "show", "A")["task"]["status"] == "active"
