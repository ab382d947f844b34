"""The worker's brief: rendered from the dispatch record the checks enforce; stable, redacted, short; its hash kept."""

from __future__ import annotations

SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_full_brief_from_the_record_the_trust_check_enforces(repo):
    r = repo
    r.commit(r.root, "AGENTS.md", "be careful\n", "rules")
    wt = r.worktree("w1")
    out = r.orch("dispatch", "T1", "--branch", "w1", "--worktree", wt, "--title", "Fast search",
                 "--instruction", f"Make search fast.\nUse the index; token {SECRET}", "--accept", "search p95 < 100ms",
                 "--accept", "empty query returns []", "--allow", "src/**", "--forbid", "secrets/**",
                 "--gate", "pytest -q", "--constraint", "no new dependencies", "--authority", "push",
                 "--max-runtime", "2h", "--review-budget", "30m", "--brief").stdout
    assert out.startswith("Recorded T1 on w1")
    brief = out.split("\n", 2)[2]
    lines = brief.splitlines()
    assert lines[0] == "# Brief T1: Fast search" and len(lines) <= 80
    for text in ("> Make search fast.", "- [ ] search p95 < 100ms", "- [ ] empty query returns []",
                 "- branch: `w1`: work and commit only on it", f"- worktree: `{wt}`",
                 "- allowed: `src/**`", "- forbidden: `secrets/**`", "- no new dependencies",
                 "- read the rule files first: `AGENTS.md`", "## Authority: push",
                 "- you may: commit on your branch and push it", "- you may not: merge", "- `pytest -q`",
                 "- runtime: 2h from when you start", "- review: 30m", "- `direct`:", "- `blocked`:",
                 "3. the gates you ran, each with its command and result (exit code)", "6. what was not done"):
        assert text in brief, text
    assert SECRET not in brief
    base = r.git("rev-parse", "main")
    assert f"- base: `{base[:12]}`" in brief
    # stable: the same record gives the same text; the hash printed is the one kept
    again = r.orch_json("brief", "T1")
    assert again["text"] == brief and again["recorded"]
    assert f"7. this brief: `{again['hash']}`" in brief
    assert f"brief:    {again['hash']} at " in r.orch("task", "show", "T1").stdout
    # the forbidden path in the brief is exactly the one the trust check flags
    r.commit(wt, "secrets/key.txt", "k\n", "oops")
    r.orch("tick")
    texts = [m["text"] for m in r.orch_json("trust")["open"]]
    assert "changed secrets/key.txt, forbidden by --forbid secrets/**" in texts
    review = r.orch("review", "T1", check=False).stdout
    assert "[check] accept: search p95 < 100ms (by hand" in review
    assert r.orch_json("review", "T1")["accept"] == ["search p95 < 100ms", "empty query returns []"]


def test_minimal_brief_and_a_record_changed_after_the_brief(repo):
    r = repo
    r.dispatch("T2", "later")
    brief = r.orch("brief", "T2").stdout
    assert brief.startswith("# Brief T2\n")
    for text in ("No outcome was recorded", "- none recorded: the review checks the gates",
                 "- worktree: not created yet: it is made for branch `later`", "head at dispatch; the fork point",
                 "- allowed: anything not forbidden", "- forbidden: none", "## Authority: commit",
                 "- none recorded: say which checks you ran", "- runtime: none", "- review: none"):
        assert text in brief, text
    assert len(brief.splitlines()) <= 60
    assert "(current)" in r.orch("task", "show", "T2").stdout

    # The worktree appearing is not a change to the brief; a constraint added afterwards is
    wt = r.worktree("later-wt", branch="later")
    r.orch("tick")
    assert "(current)" in r.orch("task", "show", "T2").stdout
    assert "1 constraint(s)" in r.orch("task", "amend", "T2", "--constraint", "do not touch the API").stdout
    shown = r.orch("task", "show", "T2").stdout
    assert "the worker was briefed on an older version (constraints changed since)" in shown
    r.orch("tick")
    stale = [m for m in r.orch_json("trust")["open"] if m["category"] == "setup-failure"]
    assert len(stale) == 1 and "briefed on an older version" in stale[0]["text"] and stale[0]["task"] == "T2"
    # Re-briefing resolves it; --no-record only shows the brief
    fresh = r.orch("brief", "T2").stdout
    assert "- do not touch the API" in fresh and f"`{wt}`" in fresh
    assert not [m for m in r.orch_json("trust")["open"] if m["category"] == "setup-failure"]
    assert "(current)" in r.orch("task", "show", "T2").stdout
    r.orch("task", "amend", "T2", "--max-runtime", "3h")
    assert not r.orch_json("brief", "T2", "--no-record")["recorded"]
    assert "budgets changed since" in r.orch("task", "show", "T2").stdout
    p = r.orch("task", "amend", "T2", check=False)
    assert p.returncode == 2 and "nothing to change" in p.stderr


def test_budgets_criteria_and_the_brief_hash_round_trip(any_repo):
    r = any_repo
    got = r.orch_json("dispatch", "T4", "--branch", "b4", "--max-runtime", "90m", "--accept", "it works", "--brief")
    assert got["task"]["budget"] == {"max_runtime": "1h30m", "review_budget": None}
    shown = r.orch_json("task", "show", "T4")["task"]
    assert shown["accept"] == ["it works"] and shown["brief"]["hash"] == got["brief"]["hash"]
    assert shown["brief"]["stale"] is False
