"""`merged` is git's word: `orch task set T merged` checks it, and the tick records merges that git shows by itself
(a plain merge, a squash merge, a rebase merge, a pull request merged on the server, a branch deleted after merging)."""

from __future__ import annotations

from conftest import run
from orchestrator.ledger.merged import is_merged
from orchestrator.classify.merged import (MergeFacts, cached_verdict, merge_verdict, records_merge,
                                          wants_check)

TIPS = {"main": "m" * 40}


def test_merge_verdict_says_what_git_shows():
    head = "a" * 40
    assert merge_verdict(None, "feat").text == "git shows no feat and orch never saw its head"
    no = merge_verdict(MergeFacts(head=head, base=head, checked=("main",)), "feat")
    assert (no.merged, no.how) == (False, "no-commits") and "no commits after its base" in no.text
    plain = merge_verdict(MergeFacts(head=head, base="b" * 40, commits=2, contained_in=("origin/main",),
                                     checked=("main", "origin/main")), "feat")
    assert (plain.merged, plain.how, plain.ref) == (True, "merge", "origin/main")
    assert plain.text == "feat at aaaaaaaaa (2 commit(s)) is in origin/main"
    squash = merge_verdict(MergeFacts(head=head, head_from="last-seen", base="b" * 40, commits=3,
                                      patch_in=(("main", "squash"),), checked=("main",)), "feat")
    assert (squash.merged, squash.how) == (True, "squash")
    assert squash.text.startswith("feat (gone; last seen at aaaaaaaaa) (3 commit(s)): its whole change")
    not_yet = merge_verdict(MergeFacts(head=head, base="b" * 40, commits=1, checked=("main", "origin/main")), "feat")
    assert not not_yet.merged and not_yet.text.endswith("is not in main or origin/main, and no squash or rebase of it is there")


def test_the_tick_records_only_settled_merges_and_asks_git_only_when_something_moved():
    yes = merge_verdict(MergeFacts(head="a" * 40, base="b" * 40, commits=1, contained_in=("main",)))
    assert records_merge("active", "finished", "committed-clean", yes)
    assert records_merge("reviewing", "reviewing", "status-reviewing", yes)
    assert records_merge("active", "blocked", "worktree-missing", yes)  # removed after merging
    assert not records_merge("active", "working", "agent-running", yes)  # still busy: left to finish
    assert not records_merge("blocked", "blocked", "status-blocked", yes)  # a person's decision stands
    assert not records_merge("active", "finished", "committed-clean", merge_verdict(None))
    ask = dict(status="active", found=True, dirty=0, has_commits=True, error=None, head="a" * 40, base="b" * 40,
               cached=None, tips=TIPS)
    assert wants_check(**ask)
    assert not wants_check(**{**ask, "dirty": 2})  # not done yet
    assert not wants_check(**{**ask, "status": "merged"})
    assert not wants_check(**{**ask, "head": "b" * 40})  # nothing after base
    assert wants_check(**{**ask, "found": False, "has_commits": False})  # the worktree is gone: its last head
    cached = {**yes.to_dict(), "tips": TIPS}
    assert not wants_check(**{**ask, "cached": cached})  # same head, same tips: the recorded answer holds
    assert wants_check(**{**ask, "cached": cached, "tips": {"main": "n" * 40}})  # main moved
    assert cached_verdict(cached, "a" * 40, TIPS).merged and cached_verdict(cached, "c" * 40, TIPS) is None


def test_is_merged_is_the_decision_also_after_cleanup():
    assert is_merged("merged") and is_merged("cleaned", "merged")
    assert not is_merged("cleaned", "abandoned") and not is_merged("active") and not is_merged("reviewing")
    assert is_merged("cleaned", None, merged_at_set=True)  # rows from before decisions kept their status


def _one_line_exit_2(proc, *words):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_task_set_merged_is_checked_against_git(repo):
    r = repo
    w = r.worktree("w")
    r.commit(w, "a.txt", "a\n", "a")
    r.dispatch("T", "w", w)
    empty = r.worktree("e")
    r.dispatch("E", "e", empty)
    line = _one_line_exit_2(r.orch("task", "set", "T", "merged", check=False),
                            "T is not merged", "w at", "is not in main", "--force")
    assert "orch task set T merged --force --note WHY" in line
    _one_line_exit_2(r.orch("task", "set", "E", "merged", check=False), "no commits after its base")
    assert r.orch_json("task", "show", "T")["task"]["status"] == "active"
    # --force records it, as unverified, with what git showed
    forced = r.orch_json("task", "set", "E", "merged", "--force", "--note", "nothing to merge; closing")
    assert forced["evidence"]["verified"] is False and "no commits" in forced["evidence"]["git"]
    shown = r.orch_json("task", "show", "E")
    assert shown["task"]["decision"]["verified"] is False and shown["task"]["merged"] is True
    assert [h["reason"] for h in shown["history"] if h["kind"] == "status"] == ["decision-unverified"]
    _one_line_exit_2(r.orch("task", "set", "T", "active", "--force", check=False), "--force applies to `merged`")
    # merged with git: verified, and said so
    r.git("merge", "--no-ff", "-q", "-m", "merge w", "w")
    out = r.orch("task", "set", "T", "merged").stdout
    assert out.startswith("T: status merged (git: w at ") and "is in main" in out
    decision = r.orch_json("task", "show", "T")["task"]["decision"]
    assert decision == {**decision, "verified": True, "how": "merge", "ref": "main", "by": "user"}


def test_the_tick_notices_plain_squash_rebase_remote_and_deleted_branch_merges(repo):
    r = repo
    origin = r.base / "origin.git"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], cwd=r.base, env=r.env)
    r.git("remote", "add", "origin", str(origin))
    r.git("push", "-q", "-u", "origin", "main")
    wts = {}
    for key, files in (("T1", ["one.txt"]), ("T2", ["sq1.txt", "sq2.txt", "sq1.txt"]), ("T3", ["pr.txt"]),
                       ("T4", ["rb1.txt", "rb2.txt"]), ("T5", ["gone.txt"]), ("T6", ["open1.txt", "open2.txt"])):
        wt = wts[key] = r.worktree(key.lower())
        for i, name in enumerate(files):
            r.commit(wt, name, f"{key} {i}\n", f"{key}: {name} {i}")
        r.dispatch(key, key.lower(), wt)
    r.orch("tick")  # all finished; T5's head is seen now
    assert {t["id"]: t["condition"] for t in r.report_json()["tasks"]} == {k: "finished" for k in wts}
    r.orch("ack")

    r.git("merge", "--no-ff", "-q", "-m", "merge T1", "t1")  # plain merge
    r.commit(r.root, "elsewhere.txt", "main moved\n", "main moves on")
    r.git("merge", "--squash", "-q", "t2")  # a squash merge of three commits, after main moved
    r.git("commit", "-q", "-m", "T2 squashed")
    base4 = r.git("merge-base", "main", "t4")
    r.git("cherry-pick", f"{base4}..t4")  # a rebase merge: each commit applied again
    r.git("push", "-q", "origin", "t3")  # a pull request merged on the server, then fetched
    server = r.base / "server"
    run(["git", "clone", "-q", str(origin), str(server)], cwd=r.base, env=r.env)
    run(["git", "merge", "--no-ff", "-q", "-m", "Merge pull request #3", "origin/t3"], cwd=server, env=r.env)
    run(["git", "push", "-q", "origin", "main"], cwd=server, env=r.env)
    r.git("fetch", "-q", "origin")
    r.git("merge", "--no-ff", "-q", "-m", "merge T5", "t5")  # merged, then its worktree and branch removed
    r.git("worktree", "remove", str(wts["T5"]))
    r.git("branch", "-d", "t5")

    r.orch("tick")  # no command typed: the tick records what git shows
    tasks = {t["id"]: t for t in r.orch_json("task", "list", "--all")["tasks"]}
    got = {k: (t["status"], t["condition"], (t["decision"] or {}).get("how"), (t["decision"] or {}).get("ref"))
           for k, t in tasks.items()}
    assert got == {"T1": ("merged", "cleanup-needed", "merge", "main"),
                   "T2": ("merged", "cleanup-needed", "squash", "main"),
                   "T3": ("merged", "cleanup-needed", "merge", "origin/main"),
                   "T4": ("merged", "cleanup-needed", "rebase", "main"),
                   "T5": ("cleaned", "done", "merge", "main"),
                   "T6": ("active", "finished", None, None)}
    assert all(tasks[k]["merged"] for k in ("T1", "T2", "T3", "T4", "T5")) and not tasks["T6"]["merged"]
    assert tasks["T5"]["decision"]["git"].startswith("t5 (gone; last seen at ")
    assert all(tasks[k]["decision"]["verified"] and tasks[k]["decision"]["by"] == "tick" for k in ("T1", "T3"))
    md = r.report()
    since = md.split("## Since last ack", 1)[1]
    assert "**T2** active → merged (merged-in-git) — git: t2 at " in since and "whole change (squash)" in since
    assert "**T3** finished → cleanup-needed (merged-leftovers)" in since
    assert "**T6**" not in since
    # The recorded answer holds until the head or a default tip moves: the next tick asks git nothing more.
    recorded = r.orch_json("task", "show", "T6")["task"]["merge"]
    assert recorded["merged"] is False and "is not in main or origin/main" in recorded["text"]

    def merge_calls() -> list[str]:
        trace = r.base / "git-trace.txt"
        trace.unlink(missing_ok=True)
        r.orch("tick", env={"GIT_TRACE": str(trace)})
        words = (" --contains ", " --merged=", " --independent ", " cherry ", " diff ", " patch-id ", " rev-list ",
                 " log ", " merge-tree ")
        return [w.strip() for ln in trace.read_text().splitlines() if "built-in:" in ln for w in words if w in ln]

    assert merge_calls() == []
    r.commit(r.root, "later.txt", "x\n", "main moves again")
    # only the open, finished task is asked again: main and origin/main have both moved on (--independent keeps
    # both), one --merged per ref for every branch asked and, beside them, one walk (`git log -p`) over both refs
    # and T6's head with one `git patch-id` of its commits, answering the rebase (no `git cherry`) and the squash
    # check (the refs' commits that touch T6's files, none here, against T6's whole-change patch id kept from the
    # last answer: no `git diff`, no second `git patch-id`); and no in-memory `git merge-tree` (whether merging
    # T6 would change nothing): neither ref touched T6's files since its base
    assert sorted(merge_calls()) == sorted(["--independent", "--merged=", "--merged=", "log", "patch-id"])
