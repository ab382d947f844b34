"""`orch review TASK`: the checklist on real repositories, worktrees and gates run by the real `orch`."""

from __future__ import annotations

import json
import os
import re
import time


def items(doc: dict) -> dict[str, dict]:
    return {i["id"]: i for i in doc["items"]}


def review(r, task, *args) -> dict:
    proc = r.orch("review", task, *args, "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "review" and doc["schema"] == 1
    return doc


def test_clean_finished_task_passes(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "src/app.py", "print('hi')\n", "add app")
    r.commit(wt, "src/util.py", "x = 1\n", "add util")
    r.dispatch("T", "w", wt, "--allow", "src/**", "--forbid", "secrets/**")
    doc = review(r, "T")
    got = items(doc)
    assert doc["verdict"] == "ready", doc
    assert [got[k]["status"] for k in ("worktree-clean", "commits", "write-set", "diff-check", "mergeability")] == ["pass"] * 5
    assert all(i["evidence"] == "direct" for i in doc["items"])
    assert [c["subject"] for c in doc["commits"]] == ["add util", "add app"]
    assert sorted(f["path"] for f in doc["files"]) == ["src/app.py", "src/util.py"]
    text = r.orch("review", "T").stdout
    assert re.search(r"^\[pass\] worktree clean: clean, on branch w \(evidence: direct\)$", text, re.M), text
    assert "add util" in text
    assert text.rstrip().endswith("verdict: ready (7 pass)")  # 5 git items, gates, claims


def test_write_set_forbidden_and_outside_allowed_rename_aware(repo):
    r = repo
    r.commit(r.root, "src/old.py", "".join(f"line {i}\n" for i in range(20)), "a file to rename")
    wt = r.worktree("w")
    r.commit(wt, "src/ok.py", "ok\n")
    r.commit(wt, "secrets/key.txt", "k\n")
    r.commit(wt, "docs/notes.md", "n\n")
    (wt / "lib").mkdir()
    r.git("mv", "src/old.py", "lib/moved.py", cwd=wt)
    r.git("commit", "-q", "-m", "move", cwd=wt)
    r.dispatch("T", "w", wt, "--allow", "src/**", "--allow", "*.toml", "--forbid", "secrets/**")
    doc = review(r, "T")
    ws = items(doc)["write-set"]
    assert ws["status"] == "fail" and ws["evidence"] == "direct"
    offending = {o["path"]: o["why"] for o in ws["offending"]}
    assert offending == {"secrets/key.txt": "forbidden by secrets/**", "docs/notes.md": "outside the allowed set",
                         "lib/moved.py": "outside the allowed set"}
    assert any(f["status"] == "R" and f["old_path"] == "src/old.py" for f in doc["files"])
    assert doc["verdict"] == "needs-work"
    text = r.orch("review", "T").stdout
    assert "[fail] write set: 3 of 4 changed path(s) break the write set" in text
    assert "secrets/key.txt  (forbidden by secrets/**)" in text


def test_whitespace_errors_fail_with_file_and_line(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "src/a.py", "clean = 1\ntrailing = 2   \nok = 3\n")
    r.dispatch("T", "w", wt)
    doc = review(r, "T")
    dc = items(doc)["diff-check"]
    assert dc["status"] == "fail"
    assert {"file": "src/a.py", "line": 2, "problem": "trailing whitespace"} in dc["problems"]
    assert "src/a.py:2: trailing whitespace" in dc["lines"]


def test_conflict_with_main_fails_mergeability_and_touches_nothing(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "README.md", "hello from the branch\n", "branch edit")
    r.commit(r.root, "README.md", "hello from main\n", "main edit")
    r.dispatch("T", "w", wt)
    main_head = r.git("rev-parse", "main")
    doc = review(r, "T")
    mg = items(doc)["mergeability"]
    assert mg["status"] == "fail" and mg["evidence"] == "direct"
    assert mg["conflicts"] == ["README.md"]
    assert doc["verdict"] == "needs-work"
    # merge-tree touched no worktree, no index, no ref.
    assert r.git("status", "--porcelain") == ""
    assert r.git("status", "--porcelain", cwd=wt) == ""
    assert r.git("rev-parse", "main") == main_head
    assert (r.root / "README.md").read_text() == "hello from main\n"


def test_gates_pass_and_fail_are_recorded_and_go_stale(any_repo):
    repo = any_repo
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    r.dispatch("T", "w", wt, "--gate", "test -f f.txt && echo fine", "--gate", "echo boom >&2; exit 3")
    before = items(review(r, "T"))
    assert before["gate-1"]["status"] == "warn" and before["gate-1"]["evidence"] == "blocked"
    assert "never run" in before["gate-1"]["detail"]
    proc = r.orch("review", "T", "--run-gates")
    assert proc.returncode == 0
    assert re.search(r"^\[pass\] gate: test -f f.txt && echo fine: .*\(evidence: local\)$", proc.stdout, re.M)
    assert re.search(r"^\[fail\] gate: echo boom >&2; exit 3: .*\(evidence: local\)$", proc.stdout, re.M)
    assert "gate 2/2" in proc.stderr  # progress goes to stderr
    doc = review(r, "T")
    got = items(doc)
    head = r.git("rev-parse", "HEAD", cwd=wt)
    assert got["gate-1"]["status"] == "pass" and got["gate-1"]["evidence"] == "local"
    assert got["gate-1"]["run"]["commit"] == head and got["gate-1"]["run"]["host"] == "test-host"
    assert "fine" in got["gate-1"]["run"]["output_tail"]
    assert got["gate-2"]["status"] == "fail" and got["gate-2"]["run"]["exit_code"] == 3
    assert "boom" in got["gate-2"]["run"]["output_tail"]
    assert doc["verdict"] == "needs-work"
    shown = r.orch_json("task", "show", "T")
    history = shown["history"]
    assert [h["to"] for h in history if h["kind"] == "gate-run"] == ["pass", "fail"]
    assert [(g["exit_code"], g["commit"]) for g in shown["gate_runs"]] == [(3, head), (0, head)]
    # A new commit: the recorded pass is on an older commit now.
    r.commit(wt, "g.txt", "y\n")
    stale = items(review(r, "T"))["gate-1"]
    assert stale["status"] == "warn" and "run it again" in stale["detail"]


def test_hanging_gate_times_out_and_its_group_is_killed(repo, tmp_path):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    pidfile = tmp_path / "child.pid"
    r.dispatch("T", "w", wt, "--gate", f"sleep 300 & echo $! > {pidfile}; echo started; wait")
    t0 = time.monotonic()
    proc = r.orch("review", "T", "--run-gates", "--gate-timeout", "2s", "--json")
    assert time.monotonic() - t0 < 30
    gate = items(json.loads(proc.stdout))["gate-1"]
    assert gate["status"] == "fail"
    assert gate["run"]["timed_out"] is True and gate["run"]["exit_code"] is None
    assert "started" in gate["run"]["output_tail"] and "timed out after 2s" in gate["run"]["output_tail"]
    pid = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the gate's background child survived the timeout")
    assert r.orch_json("task", "show", "T")["history"][-1]["to"] == "timeout"


def test_gate_printing_megabytes_keeps_only_a_tail(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    r.dispatch("T", "w", wt, "--gate", "yes 0123456789abcdef | head -c 5000000; echo LAST-LINE")
    doc = review(r, "T", "--run-gates")
    run = items(doc)["gate-1"]["run"]
    assert run["exit_code"] == 0
    assert len(run["output_tail"]) < 5000
    assert run["output_tail"].rstrip().endswith("LAST-LINE")
    assert "5000010 bytes of output in all" in run["output_tail"]


def test_task_without_worktree_is_blocked_not_a_crash(repo):
    r = repo
    r.dispatch("T", "feat/later", None, "--gate", "true")
    proc = r.orch("review", "T", "--run-gates", "--json")
    doc = json.loads(proc.stdout)
    got = items(doc)
    assert doc["verdict"] == "blocked"
    assert got["worktree-clean"]["evidence"] == "blocked" and "no worktree" in got["worktree-clean"]["detail"]
    assert got["commits"]["evidence"] == "blocked" and "does not exist" in got["commits"]["detail"]
    assert got["gate-1"]["evidence"] == "blocked" and got["gate-1"]["detail"].startswith("cannot run")
    text = r.orch("review", "T")
    assert "Traceback" not in text.stderr and text.stdout.rstrip().splitlines()[-1].startswith("verdict: blocked")


def test_task_whose_worktree_and_branch_were_deleted(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    r.dispatch("T", "w", wt)
    r.git("worktree", "remove", "--force", str(wt))
    r.git("branch", "-D", "w")
    doc = review(r, "T")
    got = items(doc)
    assert doc["verdict"] == "blocked"
    assert "no longer exists" in got["worktree-clean"]["detail"]
    for key in ("commits", "write-set", "diff-check", "mergeability"):
        assert got[key]["evidence"] == "blocked", got[key]
        assert "branch w does not exist" in got[key]["detail"]


def test_bad_input_exits_2_with_one_line(repo):
    r = repo
    for args in (["review", "nope"], ["review", "bad id!"]):
        proc = r.orch(*args, check=False)
        assert proc.returncode == 2, proc
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    proc = r.orch("review", "T", "--gate-timeout", "soon", check=False)
    assert proc.returncode == 2 and "invalid --gate-timeout" in proc.stderr


def test_forbidden_uncommitted_change_warns_and_counts_match_the_lines(repo):
    """A --forbid file modified but not committed: the write set warns and says so; `blocked` is the evidence label,
    written so that it cannot read as part of the item's name; the verdict counts add up to the lines shown."""
    r = repo
    r.commit(r.root, "Makefile", "all:\n")
    wt = r.worktree("w")
    r.commit(wt, "src/a.py", "a = 1\n")
    r.write(wt, "Makefile", "all: hack\n")  # modified in the worktree, not committed
    r.dispatch("T", "w", wt, "--allow", "src/**", "--forbid", "Makefile", "--gate", "true")
    ws = items(review(r, "T"))["write-set"]
    assert ws["status"] == "warn" and ws["uncommitted"] == [{"path": "Makefile", "why": "forbidden by Makefile"}]
    text = r.orch("review", "T").stdout
    assert ("[warn] write set: 1 committed file(s) within the write set, but 1 uncommitted change(s) break it"
            in text) and "Makefile  (forbidden by Makefile; modified, not committed)" in text
    assert "[warn] gate: true: never run: `orch review T --run-gates` runs it (evidence: blocked)" in text
    assert "blocked gate" not in text
    results = [ln for ln in text.splitlines() if re.match(r"\[(pass|warn|fail)\] ", ln)]
    verdict = text.rstrip().splitlines()[-1]
    counts = dict((k, int(n)) for n, k in re.findall(r"(\d+) (pass|warn|fail)", verdict))
    assert sum(counts.values()) == len(results) == 7, (verdict, results)
    assert verdict == "verdict: needs-work (4 pass, 2 warn, 1 fail; 1 of them could not be checked)", verdict
