"""`orch cleanup` never removes what a live worker uses or what git could not get back; dispatch refuses clashes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.faults


def entries(doc: dict) -> dict[str, dict]:
    return {e["task"]: e for e in doc["entries"]}


def branches(r) -> set[str]:
    return set(r.git("for-each-ref", "--format=%(refname:short)", "refs/heads/").split())


def refused(r, *args) -> str:
    proc = r.orch(*args, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def test_dispatch_refuses_a_taken_worktree_or_branch_and_a_worktree_on_another_branch(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("A", "w", wt)
    assert "branch 'w' already belongs to task 'A'" in refused(r, "dispatch", "B", "--branch", "w")
    # the worker of A moved its worktree to another branch: the worktree is still A's
    r.git("switch", "-q", "-c", "side", cwd=wt)
    err = refused(r, "dispatch", "B", "--branch", "side", "--worktree", wt)
    assert f"worktree {wt} already belongs to task 'A' (status active)" in err
    # a worktree on another branch than --branch, with the command that fixes it
    other = r.worktree("o", "o-branch")
    err = refused(r, "dispatch", "C", "--branch", "feature", "--worktree", other)
    assert "is on branch o-branch, not feature" in err and f"git -C {other} switch -c feature" in err
    # a worktree that does not exist yet: how to make it
    err = refused(r, "dispatch", "C", "--branch", "feature", "--worktree", r.base / "new")
    assert f"git worktree add -b feature {r.base / 'new'}" in err
    # without --worktree a task waits in setup for its worktree: still allowed
    r.orch("dispatch", "C", "--branch", "feature")
    assert {t["id"] for t in r.orch_json("task", "list")["tasks"]} == {"A", "C"}


def test_cleanup_keeps_what_live_tasks_use_unreachable_commits_and_ignored_files(repo):
    r = repo
    r.commit(r.root, ".gitignore", "*.env\n", "ignore env files")
    # A: a decided task and a live one on the same worktree and branch
    wa = r.worktree("wa", "a")
    r.dispatch("DA", "a", wa)
    r.orch("task", "set", "DA", "rejected")
    r.dispatch("EA", "a", wa)
    # B: a new worktree, on another branch, at a decided task's old path
    wb = r.worktree("wb", "b")
    r.dispatch("DB", "b", wb)
    r.commit(wb, "b.txt", "b\n")
    r.git("merge", "-q", "--no-edit", "b")
    r.orch("task", "set", "DB", "merged")
    r.git("worktree", "remove", str(wb))
    r.git("worktree", "add", "-q", "-b", "other", str(wb))
    # C: the branch of a decided task, which a live task in setup will use
    wc = r.worktree("wc", "c")
    r.dispatch("DC", "c", wc)
    r.orch("task", "set", "DC", "merged", "--force", "--note", "nothing to merge")
    r.git("worktree", "remove", str(wc))
    r.orch("dispatch", "EC", "--branch", "c")
    # D: a detached HEAD holding a commit that no branch or tag has
    wd = r.worktree("wd", "d")
    r.dispatch("DD", "d", wd)
    r.git("checkout", "-q", "--detach", cwd=wd)
    lost = r.commit(wd, "d.txt", "only here\n")
    r.orch("task", "set", "DD", "abandoned")
    # E: a clean worktree holding only an ignored file
    we = r.worktree("we", "e")
    r.dispatch("DE", "e", we)
    r.write(we, "secrets.env", "TOKEN=1\n")
    r.orch("task", "set", "DE", "merged", "--force", "--note", "nothing to merge")

    dry = entries(r.orch_json("cleanup"))
    assert "used by task EA (status active)" in " ".join(dry["DA"]["blockers"])
    assert not dry["DA"]["worktree_may_go"] and not dry["DA"]["branch_may_go"]
    assert not dry["DB"]["worktree_may_go"] and dry["DB"]["branch_may_go"]
    assert "on branch other, not b" in " ".join(dry["DB"]["blockers"])
    assert not dry["DC"]["branch_may_go"] and "used by task EC (status setup)" in " ".join(dry["DC"]["blockers"])
    assert not dry["DD"]["worktree_may_go"] and "is on no branch or tag" in " ".join(dry["DD"]["blockers"])
    assert not dry["DE"]["worktree_may_go"] and dry["DE"]["worktree_ignored"] == ["secrets.env"]
    assert "holds 1 ignored file(s) (secrets.env)" in " ".join(dry["DE"]["forceable"])

    applied = entries(r.orch_json("cleanup", "--apply"))
    assert {k: e["removed"] for k, e in applied.items()} == {"DA": [], "DB": ["branch b"], "DC": [], "DD": ["branch d"],
                                                            "DE": []}
    # --force overrides uncommitted and ignored files and unmerged branches, nothing else; its files are shown first
    shown = r.orch("cleanup", "--force", "DE").stdout
    assert "--apply deletes with the worktree: secrets.env" in shown
    forced = entries(r.orch_json("cleanup", "--apply", *[x for k in ("DA", "DB", "DC", "DD", "DE")
                                                          for x in ("--force", k)]))
    assert forced["DE"]["cleaned"] and not we.exists()
    assert wa.is_dir() and wb.is_dir() and wd.is_dir() and {"a", "c", "other"} <= branches(r)
    assert r.git("cat-file", "-t", lost) == "commit" and (wd / "d.txt").exists()
    assert r.git("rev-parse", "--abbrev-ref", "HEAD", cwd=wb) == "other"
    assert forced["DA"]["removed"] == [] and forced["DC"]["removed"] == [] and forced["DD"]["removed"] == []


def test_tool_caches_go_with_a_decided_worktree_but_other_files_keep_it(repo):
    """A gate's pytest run leaves .pytest_cache and __pycache__ behind: they never keep a merged worktree. A note
    the worker left untracked still does."""
    r = repo
    for key in ("c1", "c2"):
        wt = r.worktree(key)
        r.dispatch(key, key, wt)
        r.commit(wt, f"{key}.py", "x = 1\n")
        r.git("merge", "-q", "--no-edit", key)
        r.orch("task", "set", key, "merged")
        r.write(wt, ".pytest_cache/v/cache/lastfailed", "{}\n")
        r.write(wt, ".pytest_cache/.gitignore", "*\n")
        r.write(wt, f"__pycache__/{key}.cpython-311.pyc", "\0")
    r.write(r.base / "c2", "notes.txt", "what I tried\n")
    dry = entries(r.orch_json("cleanup"))
    assert dry["c1"]["worktree_may_go"] and dry["c1"]["branch_may_go"]
    assert "__pycache__/c1.cpython-311.pyc" in dry["c1"]["worktree_caches"]
    assert any("tool cache file(s)" in w and "go with the worktree" in w for w in dry["c1"]["why"])
    assert not dry["c2"]["worktree_may_go"] and dry["c2"]["worktree_dirty"] == ["notes.txt"]
    applied = entries(r.orch_json("cleanup", "--apply"))
    assert applied["c1"]["cleaned"] and not (r.base / "c1").exists()
    assert not applied["c2"]["cleaned"] and (r.base / "c2" / "notes.txt").exists()


def test_a_squash_merged_branch_goes_without_force(repo):
    """Cleanup asks git "is it merged" the way the tick does: a squash merge counts, and `git branch -D` (which a
    squash needs) runs only because git showed the change on main."""
    r = repo
    wt = r.worktree("sq")
    r.dispatch("S", "sq", wt)
    r.commit(wt, "a.txt", "a\n", "a")
    r.commit(wt, "b.txt", "b\n", "b")
    r.git("merge", "-q", "--squash", "sq")
    r.git("commit", "-q", "-m", "squash sq")
    r.orch("tick")
    assert r.orch_json("task", "show", "S")["task"]["status"] == "merged"
    plan = entries(r.orch_json("cleanup"))["S"]
    assert plan["branch_merged"] and plan["branch_may_go"] and plan["worktree_may_go"]
    assert any("(squash)" in w for w in plan["why"])
    assert entries(r.orch_json("cleanup", "--apply"))["S"]["cleaned"]
    assert "sq" not in branches(r) and not wt.exists()


def test_what_the_dry_run_says_may_go_goes_though_the_branch_has_an_upstream_behind_it(repo):
    """A worker pushed with -u, then committed again; its branch was merged into main. `git branch -d` judges by the
    upstream (behind) and refused what the dry run said may go, and --apply still exited 0. Cleanup deletes what
    orch itself found merged, while the branch is still at the commit it inspected."""
    r = repo
    origin = r.base / "origin.git"
    r.git("init", "-q", "--bare", str(origin))
    r.git("remote", "add", "origin", str(origin))
    r.git("push", "-q", "-u", "origin", "main")
    wt = r.worktree("up")
    r.dispatch("U", "up", wt, "--authority", "push")
    r.commit(wt, "b.txt", "b\n", "b")
    r.git("push", "-q", "-u", "origin", "up", cwd=wt)
    r.commit(wt, "c.txt", "c\n", "c")  # origin/up is now behind
    r.orch("tick")
    r.git("merge", "-q", "--no-ff", "-m", "merge up", "up")
    r.orch("tick")
    plan = entries(r.orch_json("cleanup"))["U"]
    assert plan["branch_may_go"] and plan["worktree_may_go"]
    done = entries(r.orch_json("cleanup", "--apply"))["U"]
    assert done["cleaned"] and not done["errors"], done
    assert "up" not in branches(r) and not wt.exists()


def test_apply_exits_1_when_git_refuses_part_of_the_plan(repo):
    """A stale ref lock (a git command killed mid-update) makes `git branch -D` fail for real: the worktree goes,
    the branch stays with its error printed, and --apply exits 1; once the lock is gone, the next run finishes."""
    r = repo
    wt = r.worktree("lk")
    r.dispatch("L", "lk", wt)
    r.commit(wt, "l.txt", "l\n", "l")
    r.git("merge", "-q", "--no-ff", "-m", "merge lk", "lk")
    r.orch("tick")
    lock = r.root / ".git" / "refs" / "heads" / "lk.lock"
    lock.write_text("")
    failed = r.orch("cleanup", "--apply", check=False)
    assert failed.returncode == 1 and "error: git branch -D failed" in failed.stdout, failed.stdout
    assert "cannot lock ref 'refs/heads/lk'" in failed.stdout  # git's reason, not its advice after it
    assert "lk" in branches(r) and not wt.exists()
    shown = r.orch("task", "show", "L").stdout  # before the next tick: what went is not "still there"
    assert "worktree still at" not in shown and "orch cleanup removed worktree" in shown, shown
    lock.unlink()
    assert entries(r.orch_json("cleanup", "--apply"))["L"]["cleaned"]
    assert "lk" not in branches(r)
