"""Trust end to end: real repositories, worktrees and session logs in both agents' formats, the real `orch`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sessionlogs import ClaudeTranscript, CodexRollout
from trustlogs import (at, cats, claude_bash, claude_edit, claude_worker_with_a_remote, codex_exec,
                       codex_patch, codex_shell, homes, misaligned, trust)


# --- the tests ------------------------------------------------------------------------------------------------

def test_codex_worker_violations_authority_and_a_contradicted_claim(any_repo):
    r = any_repo
    remote = r.base / "remote.git"
    r.git("init", "-q", "--bare", str(remote))
    r.git("remote", "add", "origin", str(remote))
    r.git("push", "-q", "origin", "main")
    wt = r.worktree("w1", "feat")
    r.dispatch("T1", "feat", wt, "--agent", "codex", "--allow", "src/**", "--forbid", "src/secret/**",
               "--constraint", "do not touch the CI config", "--instruction", "Fix the login bug.\nThen add a test.")
    r.commit(wt, "src/app.py", "x = 1\n", "fix login")
    r.commit(wt, "src/secret/key.txt", "k\n", "oops")
    r.write(wt, "README.md", "changed\n")
    r.git("push", "-q", "origin", "feat", cwd=wt)
    codex, _ = homes(r)
    log = CodexRollout(codex, wt, at=at(0))
    log.start_turn("fix the login bug", at(0.5))
    codex_patch(log, "src/app.py", 1)
    codex_exec(log, "pytest -q", 1, 2, "1 failed, 41 passed")
    codex_exec(log, "git push -u origin feat", 0, 3)
    log.finish("Done: I fixed the login bug and committed it. All tests pass.", at(4))
    r.orch("tick")
    items = misaligned(r)
    got = cats(items)
    assert ("constraint-violation", "git") in got
    # one push, one finding: the session's `git push` and the ref it moved are one event (issue 20)
    pushes = [m for m in items if m["category"] == "authority-exceeded"]
    assert len(pushes) == 1 and pushes[0]["evidence_kind"] == "git" and pushes[0]["severity"] == "high"
    assert pushes[0]["pointer"]["cmd"] == "git push -u origin feat" and pushes[0]["pointer"]["line"] > 0
    assert pushes[0]["label"] == "pushed without push authority" and pushes[0]["next"]
    assert ("self-report-mismatch", "session-log") in got
    texts = "\n".join(m["text"] for m in items)
    assert "src/secret/key.txt, forbidden by --forbid src/secret/**" in texts
    assert "README.md, outside --allow" in texts
    assert "`git push -u origin feat`" in texts and "refs" not in texts
    assert "origin/feat moved past base" in texts
    claims = {c["kind"]: c for c in r.orch_json("task", "show", "T1")["task"]["claims"]}
    assert claims["tests"]["verdict"] == "contradicted" and "exited 1" in claims["tests"]["why"]
    assert claims["committed"]["verdict"] == "unverified"  # committed, but README.md is left uncommitted
    assert claims["done"]["verdict"] == "contradicted"
    # never recorded twice
    before = len(items)
    r.orch("tick")
    r.orch("tick")
    assert len(misaligned(r)) == before
    # the stack, in full
    shown = r.orch("task", "show", "T1").stdout
    assert "authority: commit" in shown and "constraint: do not touch the CI config" in shown
    assert "instruction: Fix the login bug." in shown and "Then add a test." in shown
    # reports
    report = r.report()
    assert "## Trust (risk high)" in report
    trust_at = report.index("## Trust")
    assert report.index("## Act now") < trust_at < report.index("## Since last ack")
    lines = [ln for ln in report[trust_at:].split("## Since")[0].splitlines() if ln.startswith("- #")]
    sev = [ln.split()[2] for ln in lines]
    assert sev == sorted(sev, key=["high", "medium", "low"].index)
    data = r.report_json()
    assert data["trust"]["risk"] == "high"
    assert {"task", "category", "severity", "evidence_kind", "text"} <= set(data["trust"]["open"][0])
    view = next(t for t in data["tasks"] if t["id"] == "T1")
    assert view["instruction"] == "Fix the login bug." and view["authority"] == "commit"
    assert {c["verdict"] for c in view["claims"]} >= {"contradicted"}
    html = (r.root / ".orch" / "reports" / "latest.html").read_text()
    assert 'id="trust"' in html


def test_claude_worker_claims_verified_then_stale_after_a_later_edit(repo):
    r = repo
    wt = r.worktree("w2", "feat2")
    r.dispatch("T2", "feat2", wt, "--agent", "claude", "--authority", "push")
    r.commit(wt, "src/app.py", "x = 2\n", "feature")
    _, claude = homes(r)
    log = ClaudeTranscript(claude, wt)
    log.prompt("add the feature", at(0))
    claude_edit(log, str(wt / "src/app.py"), 1)
    claude_bash(log, "python -m pytest -q", 0, 2, "42 passed")
    claude_bash(log, "git add -A && git commit -m feature", 0, 3)
    log.say("Implemented the feature in `src/app.py` and committed it. All 42 tests pass.", at(4))
    log.end_turn(at(4.1))
    r.orch("tick")
    claims = {c["kind"]: c["verdict"] for c in r.orch_json("task", "show", "T2")["task"]["claims"]}
    assert claims == {"tests": "verified", "committed": "verified", "files": "verified", "done": "verified"}
    assert misaligned(r) == []
    quiet = r.report()
    assert "## Trust" not in quiet
    assert r.report_json()["trust"] == {"risk": "none", "open": []}
    review = r.orch_json("review", "T2")
    claims_item = next(i for i in review["items"] if i["id"] == "claims")
    assert claims_item["status"] == "pass" and review["verdict"] == "ready"
    # a later turn edits again after the passing run: the tests claim no longer holds
    log.prompt("also rename the helper", at(6))
    claude_edit(log, str(wt / "src/app.py"), 7)
    r.write(wt, "src/app.py", "x = 3\n")
    r.orch("tick")
    claims = {c["kind"]: c["verdict"] for c in r.orch_json("task", "show", "T2")["task"]["claims"]}
    assert claims["tests"] == "stale"


def test_claude_contradicted_and_unverified_claims_and_pushback(repo):
    r = repo
    wt = r.worktree("w3", "feat3")
    r.dispatch("T3", "feat3", wt, "--agent", "claude")
    _, claude = homes(r)
    log = ClaudeTranscript(claude, wt)
    log.prompt("fix the flaky test", at(0))
    claude_bash(log, "npm test", 1, 1, "2 failing")
    claude_bash(log, "git config user.email bot@example.com", 0, 2)
    log.prompt("no, don't change the git config - undo that", at(3))
    claude_bash(log, "git branch -D old-work", 0, 4)
    log.interrupt(at(5))
    log.say("I've committed the fix. Tests pass and lint is clean.", at(6))
    log.end_turn(at(6.1))
    r.orch("tick")
    claims = {c["kind"]: c["verdict"] for c in r.orch_json("task", "show", "T3")["task"]["claims"]}
    assert claims == {"tests": "contradicted", "lint": "unverified", "committed": "contradicted"}
    items = misaligned(r)
    got = cats(items)
    assert ("pushback", "session-log") in got and ("pushback", "session-log (inferred)") in got
    assert sum(1 for m in items if m["category"] == "authority-exceeded") == 2  # git config, git branch -D
    assert ("self-report-mismatch", "session-log") in got
    review = r.orch_json("review", "T3")
    claims_item = next(i for i in review["items"] if i["id"] == "claims")
    assert claims_item["status"] == "fail" and review["verdict"] != "ready"
    assert any("open #" in ln for ln in claims_item["lines"])
    # the mismatch becomes resolved by hand; open list shrinks, nothing is re-recorded
    first = next(m for m in items if m["category"] == "self-report-mismatch")
    r.orch("misalign", "resolve", f"#{first['id']}", "--note", "asked the worker to rerun the tests")  # as printed
    r.orch("tick")
    assert first["id"] not in [m["id"] for m in misaligned(r, open_only=True)]
    assert len(misaligned(r)) == len(items)


def test_commits_on_another_branch_rule_files_and_a_push_within_authority(repo):
    r = repo
    remote = r.base / "remote.git"
    r.git("init", "-q", "--bare", str(remote))
    r.git("remote", "add", "origin", str(remote))
    wt = r.worktree("w4", "feat4")
    r.dispatch("T4", "feat4", wt, "--agent", "codex", "--authority", "push")
    r.commit(wt, "AGENTS.md", "be bold\n", "loosen the rules")
    r.git("push", "-q", "origin", "feat4", cwd=wt)
    r.git("checkout", "-q", "-b", "side", cwd=wt)
    r.commit(wt, "side.txt", "s\n", "on a side branch")
    codex, _ = homes(r)
    log = CodexRollout(codex, wt, at=at(0))
    log.start_turn("go", at(0.5))
    codex_shell(log, "git push origin feat4", 0, 1)
    r.orch("tick")
    texts = [m["text"] for m in misaligned(r)]
    assert any("rule file AGENTS.md" in t for t in texts)
    assert any("commits on branch side, not the task's branch feat4" in t for t in texts)
    assert not any("push" in t for t in texts)  # authority push allows it, from git and from the log


def test_secrets_in_a_claim_are_redacted_and_only_the_sentence_is_kept(repo):
    r = repo
    wt = r.worktree("w5", "feat5")
    r.dispatch("T5", "feat5", wt, "--agent", "codex")
    secret = "sk-proj-" + "Zx9" * 8
    codex, _ = homes(r)
    log = CodexRollout(codex, wt, at=at(0))
    log.start_turn("go", at(0.5))
    log.finish("Here is a long explanation of the design that must not be stored. "
               f"All tests pass with OPENAI_API_KEY={secret} exported.", at(2))
    r.orch("tick")
    claims = r.orch_json("task", "show", "T5")["task"]["claims"]
    assert [c["kind"] for c in claims] == ["tests"]
    assert secret not in json.dumps(claims) and "[redacted]" in claims[0]["text"]
    assert "explanation" not in claims[0]["text"]
    db = (r.root / ".orch" / "ledger.db").read_bytes()
    assert secret.encode() not in db and b"must not be stored" not in db
    mism = [m for m in misaligned(r) if m["category"] == "self-report-mismatch"]
    assert mism and secret not in mism[0]["text"]


def test_manual_events_every_category_on_both_ledgers_and_bad_input(any_repo):
    r = any_repo
    wt = r.worktree("w6", "feat6")
    r.dispatch("T6", "feat6", wt)
    for cat in ("constraint-violation", "authority-exceeded", "self-report-mismatch", "pushback", "overreach",
                "setup-failure", "heartbeat-gap", "package-drift"):
        doc = r.orch_json("misalign", "record", "T6", "--category", cat, "--severity", "low",
                          "--note", f"seen by hand: {cat}")
        assert doc["misalignment"]["category"] == cat and doc["misalignment"]["evidence_kind"] == "manual"
    assert len(misaligned(r, open_only=True)) == 8
    assert trust(r)["risk"] == "low"
    first = misaligned(r)[0]["id"]
    res = r.orch_json("misalign", "resolve", first, "--note", "talked to the worker")
    assert res["misalignment"]["resolved_at"] and res["misalignment"]["resolved_note"] == "talked to the worker"
    assert len(misaligned(r, open_only=True)) == 7 and len(misaligned(r)) == 8
    for args in (["misalign", "record", "T6", "--category", "rudeness", "--note", "x"],
                 ["misalign", "record", "T6", "--category", "overreach", "--severity", "huge", "--note", "x"],
                 ["misalign", "record", "NOPE", "--category", "overreach", "--note", "x"],
                 ["misalign", "resolve", str(first)], ["misalign", "resolve", "99999"],
                 ["dispatch", "T7", "--branch", "b7", "--authority", "root"],
                 ["dispatch", "T8", "--branch", "b8", "--instruction", "@/nonexistent/file.txt"]):
        proc = r.orch(*args, check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_misalignments_survive_a_retention_prune(repo):
    import sqlite3

    r = repo
    wt = r.worktree("w7", "feat7")
    r.dispatch("T7", "feat7", wt)
    r.set_config(retention="1d")
    r.orch("misalign", "record", "T7", "--category", "overreach", "--note", "rewrote the parser unasked")
    for days in (5, 4):
        r.orch("tick", "--now", (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds"))
    db = r.root / ".orch" / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute("update misalignments set created_at = '2020-01-01 00:00:00.000000'")
        conn.execute("delete from kv where key = 'retention'")  # as if an hour had passed
    r.orch("tick")
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from ticks").fetchone()[0] == 1  # the prune ran
    assert [m["text"] for m in misaligned(r, open_only=True)] == ["rewrote the parser unasked"]


def test_a_quiet_report_stays_quiet_while_nothing_is_open(repo):
    r = repo
    wt = r.worktree("w8")
    r.write(wt, "a.py", "1\n")
    r.dispatch("T8", "w8", wt)
    r.orch("tick")
    r.orch("ack")
    r.orch("tick")
    assert "Nothing needs you: 1 working." in r.report() and "Trust" not in r.report()
    made = r.orch_json("misalign", "record", "T8", "--category", "overreach", "--severity", "high",
                       "--note", "rewrote the build script unasked")["misalignment"]
    r.orch("tick")
    loud = r.report()
    assert "Nothing needs you" not in loud and "## Trust (risk high)" in loud
    assert f"- #{made['id']} high overreach **T8** [manual] rewrote the build script unasked" in loud
    r.orch("misalign", "resolve", made["id"], "--note", "reverted")
    r.orch("tick")
    quiet = r.report()
    assert "Nothing needs you: 1 working." in quiet and "Trust" not in quiet
    assert r.report_json()["trust"] == {"risk": "none", "open": []}


def test_a_finished_task_resting_on_a_contradicted_claim_is_in_act_now_with_the_claim(repo):
    r = repo
    wt = r.worktree("w9", "feat9")
    r.dispatch("T9", "feat9", wt, "--agent", "claude")
    r.commit(wt, "src/app.py", "x = 9\n", "feature")
    _, claude = homes(r)
    log = ClaudeTranscript(claude, wt)
    log.prompt("add the feature", at(0))
    claude_edit(log, str(wt / "src/app.py"), 1)
    claude_bash(log, "pytest -q", 1, 2, "1 failed")
    log.say("Done - all tests pass.", at(3))
    log.end_turn(at(3.1))
    r.orch("tick")
    data = r.report_json()
    item = next(a for a in data["act_now"] if a["id"] == "T9")
    assert item["condition"] == "finished"
    assert item["evidence"][0]["kind"] == "claim" and "`pytest -q` exited 1" in item["evidence"][0]["text"]
    line = next(ln for ln in r.report().splitlines() if "**T9**" in ln and "finished" in ln)
    assert "claim: claims" in line


def test_status_shows_the_trust_line_and_act_now_carries_the_task_items(repo):
    r = repo
    wt, _ = claude_worker_with_a_remote(r, "T9", "feat9", "src/app.py", "x = 9\n")
    r.git("push", "-q", "-u", "origin", "feat9", cwd=wt)
    _, claude = homes(r)
    log = ClaudeTranscript(claude, wt)
    log.prompt("add the feature", at(0))
    claude_edit(log, str(wt / "src/app.py"), 1)
    claude_bash(log, "python -m pytest -q", 0, 2, "3 passed")
    claude_bash(log, "git push -u origin feat9", 0, 3)
    log.say("Implemented the feature and pushed the branch. All 3 tests pass.", at(4))
    log.end_turn(at(4.1))
    r.orch("tick")
    term = r.orch("status").stdout
    assert "Trust: risk high, 1 open (worst first):" in term
    item = next(ln for ln in term.splitlines() if ln.strip().startswith("#"))
    assert "high T9: pushed without push authority" in item and ".jsonl:6 at " in item  # line 6: the push
    assert "`git push -u origin feat9` exited 0" in item and "→ look at what reached origin/feat9" in item
    act = next(ln for ln in term.splitlines() if ln.strip().startswith("1. T9"))
    assert "finished" in act and "· pushed without push authority" in act
    md = r.orch("status", "--md").stdout
    assert "## Trust (risk high)" in md and "· pushed without push authority" in md
    trust_line = next(ln for ln in md.splitlines() if ln.startswith("- #"))
    assert "— evidence: session " in trust_line and "— next: look at what reached origin/feat9" in trust_line


def test_rule_files_at_dispatch_warn_about_pushes_and_a_rules_change_since_dispatch_is_noted(repo):
    r = repo
    r.commit(r.root, "AGENTS.md", "# Rules\n\nRun the tests.\nWhen done, `git push` your branch.\n", "rules")
    wt = r.worktree("w10", "feat10")
    said = r.orch("dispatch", "T10", "--branch", "feat10", "--worktree", str(wt), "--agent", "codex")
    assert "warning: AGENTS.md:4 tells the worker to push" in said.stderr and "(the default)" in said.stderr
    shown = r.orch("task", "show", "T10").stdout
    assert "authority: commit (the default)" in shown and "rules tell the worker to push: AGENTS.md:4" in shown
    r.commit(wt, "src/app.py", "x = 10\n", "work")
    r.commit(r.root, "AGENTS.md", "# Rules\n\nRun the tests. Never push.\n", "stricter rules")
    r.orch("tick")
    items = misaligned(r)
    assert [(m["category"], m["severity"]) for m in items] == [("rules-changed", "low")]
    assert "the rule files on main changed since dispatch" in items[0]["text"] and items[0]["next"]


def test_the_reports_trust_section_has_one_line_per_item(repo):
    """Each open item on a line of its own, then the hint on its own line (the report and `status --md` alike)."""
    r = repo
    wt = r.worktree("w-m", "feat-m")
    r.dispatch("M", "feat-m", wt)
    r.orch("misalign", "record", "M", "--category", "pushback", "--note", "one")
    r.orch("misalign", "record", "M", "--category", "overreach", "--note", "two")
    r.orch("tick")
    for md in (r.report(), r.orch("status", "--md").stdout):
        section = md.split("## Trust", 1)[1].split("\n## ", 1)[0]
        items = [ln for ln in section.splitlines() if ln.startswith("- #")]
        assert len(items) == 2 and all(ln.count(" #") == 1 for ln in items), section
        assert "\n- read these before accepting work;" in section, section
