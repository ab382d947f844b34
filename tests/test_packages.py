"""Feature packages on real repositories: the lane guard, drift, acceptance on the integration branch, review packs."""

from __future__ import annotations

import json

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"


def lanes(r) -> dict:
    """Two packages; `search` is the active lane, merged in part (T1 merged, T2 still running)."""
    spec = r.write(r.base, "search-spec.md", "# Search by SKU\n\nShoppers find a product by its SKU.\n")
    r.orch("package", "add", "search", "--goal", "Search by SKU", "--accept", "test -f search.txt",
           "--accept", "grep -q sku search.txt", "--spec", spec)
    r.orch("package", "add", "billing", "--goal", "Invoices as PDF")
    r.orch("package", "switch", "search", "--reason", "search first: customers ask for it")
    w1 = r.worktree("w1")
    c1 = r.commit(w1, "search.txt", "sku index\n", "search: SKU index")
    r.dispatch("T1", "w1", w1, "--package", "search", "--title", "SKU index", "--allow", "search.txt")
    r.git("merge", "--no-ff", "-q", "-m", "merge T1", "w1")
    r.orch("task", "set", "T1", "merged")
    w2 = r.worktree("w2")
    r.commit(w2, "search_ui.txt", "box\n", "search: UI box")
    r.dispatch("T2", "w2", w2, "--package", "search", "--title", "Search box")
    return {"w1": w1, "w2": w2, "c1": c1}


def fail_line(proc, *words) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orch: "), proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_lane_guard_refuses_then_switch_reason_overrides(any_repo):
    r = any_repo
    lanes(r)
    w3 = r.worktree("w3")
    proc = r.orch("dispatch", "T3", "--branch", "w3", "--worktree", w3, "--package", "billing", check=False)
    fail_line(proc, "active lane is 'search'", "T2", "--switch-reason")
    assert "T3" not in {t["id"] for t in r.orch_json("task", "list")["tasks"]}
    # Work inside the lane, and work outside any package, is not guarded.
    r.orch("dispatch", "T4", "--branch", "w4", "--package", "search")
    r.orch("dispatch", "T5", "--branch", "w5")
    r.orch("dispatch", "T3", "--branch", "w3", "--worktree", w3, "--package", "billing",
           "--switch-reason", "invoice bug blocks a customer")
    show = r.orch_json("package", "show", "billing")
    assert show["package"]["active"] is True and show["lane"]["name"] == "billing"
    last = show["switches"][-1]
    assert last == {**last, "from": "search", "to": "billing", "reason": "invoice bug blocks a customer",
                    "drift": False, "via": "dispatch"}
    assert r.orch_json("package", "show", "search")["package"]["active"] is False
    # Back into search now needs a reason too, since billing has a running worker.
    fail_line(r.orch("dispatch", "T6", "--branch", "w6", "--package", "search", check=False), "'billing'")


def test_a_switch_without_reason_is_recorded_as_drift(repo):
    r = repo
    lanes(r)
    r.orch("task", "set", "T2", "reviewing")  # the lane has no running worker now: the guard lets it through
    r.orch("dispatch", "T3", "--branch", "w3", "--package", "billing")
    switches = r.orch_json("package", "show", "billing")["switches"]
    assert switches[-1]["drift"] is True and switches[-1]["reason"] is None
    assert switches[-1]["from"] == "search" and switches[-1]["to"] == "billing"
    r.orch("package", "switch", "search", "--reason", "billing fix dispatched; back to search")
    switches = r.orch_json("package", "show", "search")["switches"]
    assert [s["drift"] for s in switches] == [False, True, False]
    # The drift is in the ledger as a package-switch event with data {"drift": true}.
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{r.root / '.orch' / 'ledger.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT reason, data FROM events WHERE kind = 'package-switch' ORDER BY id")).all()
    engine.dispose()
    assert [row[0] for row in rows] == ["switch", "drift", "switch"]
    assert json.loads(rows[1][1])["drift"] is True
    # ... and a package-drift misalignment, recorded once, that Trust shows until someone resolves it.
    drift = [m for m in r.orch_json("misalign", "list", "--open")["misalignments"] if m["category"] == "package-drift"]
    assert len(drift) == 1 and "search to billing without a reason" in drift[0]["text"]
    assert drift[0]["severity"] == "medium"
    # `switch` itself insists on a reason.
    proc = r.orch("package", "switch", "billing", check=False)
    assert proc.returncode == 2 and "--reason" in proc.stderr


def test_acceptance_runs_on_the_integration_branch_passing_and_failing(any_repo):
    r = any_repo
    r.orch("package", "add", "search", "--goal", "Search", "--accept", "test -f search.txt",
           "--accept", f"echo token={SECRET}; grep -q sku search.txt")
    w1 = r.worktree("w1")
    r.commit(w1, "search.txt", "sku\n", "search index")
    r.dispatch("T1", "w1", w1, "--package", "search")
    before = r.orch_json("package", "accept", "search", "--run")
    head = r.git("rev-parse", "HEAD")
    assert before["head"] == head and before["branch"] == "main" and before["ran"] is True
    assert [g["state"] for g in before["gates"]] == ["fail", "fail"]  # not merged yet: main lacks search.txt
    run = before["gates"][1]["last_run"]
    assert run["commit"] == head and run["host"] == "test-host" and run["exit_code"] == 2  # grep: no such file
    assert SECRET not in run["output_tail"] and "[redacted]" in run["output_tail"]
    assert before["tasks"] == [{**before["tasks"][0], "task": "T1", "merged": False, "verdict": "ready", "ready": True}]
    assert before["ready"] is False

    r.git("merge", "--no-ff", "-q", "-m", "merge T1", "w1")
    r.orch("tick")  # the tick sees T1's commits on main
    after = r.orch_json("package", "accept", "search", "--run")
    assert [g["state"] for g in after["gates"]] == ["pass", "pass"]
    assert after["gates"][0]["last_run"]["commit"] == r.git("rev-parse", "HEAD")
    assert after["tasks"][0]["merged"] is True and after["ready"] is True and after["blocks_close"] == []
    # Without --run it reports the last runs; a new commit on main makes them stale.
    r.commit(r.root, "later.txt", "x\n", "later")
    stale = r.orch_json("package", "accept", "search")
    assert stale["ran"] is False and [g["state"] for g in stale["gates"]] == ["stale", "stale"]
    assert any("not on HEAD" in b for b in stale["blocks_close"])
    text = r.orch("package", "accept", "search").stdout
    assert "[stale] test -f search.txt" in text and "T1: merged" in text


def test_acceptance_gate_timeout_kills_and_records(repo):
    r = repo
    r.orch("package", "add", "slow", "--goal", "Slow", "--accept", "sleep 30")
    doc = r.orch_json("package", "accept", "slow", "--run", "--gate-timeout", "1s", timeout=60)
    g = doc["gates"][0]
    assert g["state"] == "timeout" and g["last_run"]["timed_out"] is True and g["last_run"]["duration_ms"] < 10000
    assert "timed out" in r.orch_json("package", "show", "slow")["package"]["blocks_close"][0]


def test_close_is_refused_while_work_is_open_unless_forced_with_a_reason(repo):
    r = repo
    lanes(r)
    proc = r.orch("package", "close", "search", check=False)
    fail_line(proc, "cannot close", "T2 (running)", "--force --reason")
    fail_line(r.orch("package", "close", "search", "--force", check=False), "--reason")
    # billing has no tasks and no gates: nothing blocks it.
    assert r.orch_json("package", "close", "billing")["overridden"] == []
    doc = r.orch_json("package", "close", "search", "--force", "--reason", "T2 moves to the next package")
    assert doc["closed"] is True and any("T2" in b for b in doc["overridden"])
    show = r.orch_json("package", "show", "search")
    assert show["package"]["status"] == "closed" and show["lane"] is None  # closing the lane clears it
    fail_line(r.orch("package", "close", "search", check=False), "closed already")
    fail_line(r.orch("dispatch", "T9", "--branch", "w9", "--package", "search", check=False), "is closed")


def test_pack_contents_are_complete_deterministic_redacted_and_capped(any_repo):
    r = any_repo
    w = lanes(r)
    big = "".join(f"line {i} of a long generated file\n" for i in range(400))
    r.commit(w["w2"], "generated.txt", big + f'api_key = "{SECRET}"\n', "search: generated data")
    r.orch("package", "accept", "search", "--run")
    review = r.write(r.base, "findings.md", "Looks right; T2 needs a test.\n")
    r.orch("package", "review-import", "search", "--reviewer", "second-model", "--file", review, "--status", "passed")
    one, two = r.base / "pack1", r.base / "pack2"
    doc = r.orch_json("package", "pack", "search", "--out", one, "--max-diff-bytes", "4096")
    assert doc["cut"] == ["T2"]
    r.orch("package", "pack", "search", "--out", two, "--max-diff-bytes", "4096")
    files = sorted(p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file())
    assert files == ["README.md", "diffs/T1.diff", "diffs/T2.diff", "pack.json"]
    for name in files:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    readme = (one / "README.md").read_text()
    for needle in ("# Review pack: search", "**Goal:** Search by SKU", "Shoppers find a product by its SKU.",
                   "### T1: SKU index", "### T2: Search box", "search: SKU index", "search: UI box",
                   "search.txt | 1 +", "review checklist: **", "`test -f search.txt`: **pass**",
                   "second-model: **passed**", "search first: customers ask for it", "**cut**",
                   "open misalignments: none"):
        assert needle in readme, needle
    facts = json.loads((one / "pack.json").read_text())
    tasks = {t["task"]: t for t in facts["tasks"]}
    assert tasks["T1"]["merged"] is True and tasks["T2"]["merged"] is False
    assert [c["subject"] for c in tasks["T2"]["commits"]] == ["search: generated data", "search: UI box"]
    assert tasks["T1"]["diff"] == {"file": "diffs/T1.diff", "bytes": tasks["T1"]["diff"]["bytes"], "cut": False,
                                   "note": None}
    assert tasks["T2"]["diff"]["cut"] is True and tasks["T2"]["diff"]["bytes"] > 4096
    assert {i["id"] for i in tasks["T2"]["items"]} >= {"commits", "write-set", "mergeability"}
    assert facts["gates"][0]["state"] == "pass" and facts["reviews"][0]["reviewer"] == "second-model"
    t2diff = (one / "diffs" / "T2.diff").read_text()
    assert len(t2diff.encode()) < 4096 + 200 and "diff cut at" in t2diff.splitlines()[-1]
    assert t2diff.startswith("diff --git a/generated.txt") and "search_ui.txt" not in t2diff  # cut before it
    assert "+sku index" in (one / "diffs" / "T1.diff").read_text()
    for p in one.rglob("*"):
        if p.is_file():
            assert SECRET not in p.read_text(), p
    # The full diff (no cap) carries the redacted secret line.
    full = r.base / "pack3"
    r.orch("package", "pack", "search", "--out", full)
    t2 = (full / "diffs" / "T2.diff").read_text()
    assert 'api_key = "[redacted]"' in t2 and SECRET not in t2 and "+box" in t2
    # A non-empty folder needs --force.
    fail_line(r.orch("package", "pack", "search", "--out", one, check=False), "not empty", "--force")
    r.orch("package", "pack", "search", "--out", one, "--force", "--max-diff-bytes", "4096")
    assert (one / "README.md").read_bytes() == (two / "README.md").read_bytes()


def test_review_import_shows_in_status_and_a_failed_review_blocks_closing(repo):
    r = repo
    r.orch("package", "add", "docs", "--goal", "Docs")
    f = r.write(r.base, "review.md", f"\nMissing examples.\npassword={SECRET}\n")
    rec = r.orch_json("package", "review-import", "docs", "--reviewer", "alice", "--file", f, "--status", "failed")
    assert rec["review"]["summary"] == "Missing examples." and rec["review"]["status"] == "failed"
    st = r.orch_json("package", "show", "docs")["package"]
    assert st["reviews"][0]["reviewer"] == "alice" and st["blocks_close"] == ["outside review by alice failed"]
    assert "outside review: alice failed" in r.orch("package", "show", "docs").stdout
    r.orch("package", "review-import", "docs", "--reviewer", "alice", "--file", f, "--status", "passed")
    assert r.orch_json("package", "show", "docs")["package"]["can_close"] is True


def test_package_status_in_reports(repo):
    r = repo
    lanes(r)
    r.orch("package", "review-import", "search", "--reviewer", "bob",
           "--file", r.write(r.base, "ok.md", "fine\n"), "--status", "passed")
    r.write(r.base / "w2", "search_ui.txt", "box, still editing\n")  # T2's worker is still at it
    r.orch("tick")
    md = r.report()
    line = next(ln for ln in md.splitlines() if ln.startswith("- package **search**"))
    assert "(lane)" in line and "1 running" in line and "1 merged" in line and "acceptance 0/2" in line
    assert "review bob passed" in line and "blocks close: 1 task(s) not merged: T2 (running)" in line
    assert "- package **billing**: no tasks; acceptance 0/0; can close" in md
    assert "spare slots are not a reason to start unrelated work" in md
    data = r.report_json()
    entry = next(p for p in data["packages"] if p["package"] == "search")
    assert entry["registered"] is True and entry["active"] is True
    assert entry["groups"] == {"running": ["T2"], "merged": ["T1"]}
    assert [g["state"] for g in entry["gates"]] == ["never-run", "never-run"]
    assert data["dispatch"]["lane"] == "search"
    html = (r.root / ".orch" / "reports" / "latest.html").read_text()
    assert "<h2>Packages</h2>" in html and "Search by SKU" in html


def test_bad_input_is_one_line_and_exit_2(repo):
    r = repo
    r.orch("package", "add", "a", "--goal", "A")
    fail_line(r.orch("package", "add", "a", "--goal", "again", check=False), "already exists")
    fail_line(r.orch("package", "add", "b", "--goal", "B", "--spec", r.base / "nope.md", check=False),
              "spec file", "does not exist")
    fail_line(r.orch("package", "add", "bad name", "--goal", "B", check=False), "invalid package name")
    for args in (("show", "zz"), ("switch", "zz", "--reason", "r"), ("accept", "zz"), ("close", "zz"),
                 ("pack", "zz", "--out", r.base / "p"), ("review-import", "zz", "--reviewer", "x", "--file",
                                                        r.base / "repo" / "README.md", "--status", "passed")):
        fail_line(r.orch("package", *args, check=False), "unknown package 'zz'")
    fail_line(r.orch("package", "review-import", "a", "--reviewer", "x", "--file", r.base / "none.md",
                     "--status", "passed", check=False), "does not exist")
    fail_line(r.orch("package", "review-import", "a", "--reviewer", "x", "--file", r.root / "README.md",
                     "--status", "maybe", check=False), "invalid status")
    fail_line(r.orch("dispatch", "T1", "--branch", "b1", "--switch-reason", "why", check=False), "--package")
    assert not (r.base / "p").exists()


def test_init_templates_write_starters_and_never_overwrite(repo):
    r = repo
    mine = r.root / ".orch" / "policy.md"
    mine.write_text("# our own policy\n")
    doc = r.orch_json("init", "--templates")
    written = {p["path"].split("/.orch/")[1]: p["written"] for p in doc["templates"]}
    assert written == {"policy.md": False, "packages/README.md": True, "project-map.md": True}
    assert mine.read_text() == "# our own policy\n"
    mine.unlink()
    text = r.orch("init", "--templates").stdout
    assert "Wrote" in text and "Kept existing" in text
    policy = mine.read_text()
    for word in ("migrations", "shared contracts", "payments", "deploys", "`direct`", "`proxy`", "`local`",
                 "`blocked`", "spare slots are not a reason"):
        assert word.lower() in policy.lower(), word
    # A spec written by hand into .orch/packages before `add` is adopted.
    (r.root / ".orch" / "packages" / "s.md").write_text("# S\n")
    assert r.orch_json("package", "add", "s", "--goal", "S")["package"]["spec"] == ".orch/packages/s.md"


def test_dispatch_refuses_a_package_never_added(repo):
    r = repo
    line = fail_line(r.orch("dispatch", "T1", "--branch", "b1", "--package", "perf", check=False),
                     "unknown package 'perf'", "orch package add perf")
    assert "Traceback" not in line
    assert r.orch_json("task", "list", "--all")["tasks"] == []  # nothing recorded: no report lists `perf`
