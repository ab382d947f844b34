"""A squash merge whose neighbouring lines changed on main first has another patch id than the branch: git's
merge of the branch into main would change nothing, and that is what orch asks last (probes/mergetree.py)."""

from __future__ import annotations

from orchestrator.probes.mergetree import adds_nothing

LINES = "".join(f"line {i}\n" for i in range(1, 21))


def _edit(path, changes: dict[int, str]) -> str:
    lines = path.read_text().splitlines(keepends=True)
    for no, text in changes.items():
        lines[no - 1] = text + "\n"
    return "".join(lines)


def _objects(r) -> str:
    return r.git("count-objects", "-v")


def test_a_squash_merge_after_main_changed_the_next_line_is_merged(repo):
    r = repo
    base = r.commit(r.root, "shared.txt", LINES, "a shared file")
    wts = {}
    for key in ("T1", "T2", "T3", "T4", "T5"):
        wts[key] = r.worktree(key.lower())
    # T1: two commits changing lines 10 and 11, squash-merged after main changed line 8 (in their diff's context)
    r.commit(wts["T1"], "shared.txt", _edit(wts["T1"] / "shared.txt", {10: "ten, by T1"}), "T1: line 10")
    r.commit(wts["T1"], "shared.txt", _edit(wts["T1"] / "shared.txt", {11: "eleven, by T1"}), "T1: line 11")
    # T2: one commit changing line 16, squash-merged after main changed line 14
    r.commit(wts["T2"], "shared.txt", _edit(wts["T2"] / "shared.txt", {16: "sixteen, by T2"}), "T2: line 16")
    # T3: two commits; only the first one reaches main (by hand): not merged
    r.commit(wts["T3"], "t3.txt", "first\n", "T3: first")
    r.commit(wts["T3"], "t3b.txt", "second\n", "T3: second")
    # T4: changes line 3, which main changes differently: a conflict, not merged
    r.commit(wts["T4"], "shared.txt", _edit(wts["T4"] / "shared.txt", {3: "three, by T4"}), "T4: line 3")
    # T5: a file added, then removed again: commits that change nothing in sum are not a merge
    r.commit(wts["T5"], "tmp.txt", "scratch\n", "T5: scratch")
    r.git("rm", "-q", "tmp.txt", cwd=wts["T5"])
    r.git("commit", "-q", "-m", "T5: no scratch", cwd=wts["T5"])
    for key, wt in wts.items():
        r.dispatch(key, key.lower(), wt)
    r.orch("tick")
    assert {t["id"]: t["condition"] for t in r.report_json()["tasks"]} == {k: "finished" for k in wts}

    r.commit(r.root, "shared.txt", _edit(r.root / "shared.txt", {8: "eight, on main", 14: "fourteen, on main",
                                                                   3: "three, on main"}), "main moves on")
    r.git("merge", "--squash", "-q", "t1")
    r.git("commit", "-q", "-m", "T1 squashed")
    r.git("merge", "--squash", "-q", "t2")
    r.git("commit", "-q", "-m", "T2 squashed")
    r.commit(r.root, "t3.txt", "first\n", "T3's first file, by hand")
    assert adds_nothing(r.root, "refs/heads/main", r.git("rev-parse", "t1"), base, 10)
    assert not adds_nothing(r.root, "refs/heads/main", r.git("rev-parse", "t3"), base, 10)
    assert not adds_nothing(r.root, "refs/heads/main", r.git("rev-parse", "t4"), base, 10)  # conflicts
    assert not adds_nothing(r.root, "refs/heads/main", r.git("rev-parse", "t5"), base, 10)  # nothing in sum
    assert not adds_nothing(r.root, "refs/heads/main", "no-such-commit", base, 10)

    before = _objects(r)
    r.orch("tick")
    assert _objects(r) == before  # the in-memory merges wrote nothing into the repository
    tasks = {t["id"]: t for t in r.orch_json("task", "list", "--all")["tasks"]}
    got = {k: (t["status"], (t["decision"] or {}).get("how"), (t["decision"] or {}).get("ref")) for k, t in tasks.items()}
    assert got == {"T1": ("merged", "squash", "main"), "T2": ("merged", "squash", "main"),
                   "T3": ("active", None, None), "T4": ("active", None, None), "T5": ("active", None, None)}
    assert "its whole change (squash) is already in main" in tasks["T1"]["decision"]["git"]
    # `task set` gives the same answer
    assert r.orch("task", "set", "T3", "merged", check=False).returncode == 2
