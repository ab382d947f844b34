"""A team shares one PostgreSQL ledger: each machine probes only its own tasks, every report shows all."""

from __future__ import annotations

import json

from conftest import Repo


def test_two_machines_one_ledger(bare_repo, pg_url, tmp_path):
    a = bare_repo
    a.env["ORCH_DB"] = pg_url
    a.env["ORCH_HOST"] = "laptop"
    a.orch("init", "--project", "shop")
    # The second machine has its own clone in another place.
    b = Repo(tmp_path / "other-machine", {**a.env, "ORCH_HOST": "server"})
    b.base.mkdir()
    b.git("clone", "-q", str(a.root), str(b.root), cwd=b.base)
    b.orch("init", "--project", "shop")

    wa = a.worktree("wa")
    a.commit(wa, "a.py", "1\n")
    a.dispatch("A1", "wa", wa)
    wb = b.worktree("wb")
    b.write(wb, "b.py", "2\n")
    b.dispatch("B1", "wb", wb)

    a.orch("tick")
    seen_by_a = {t["id"]: (t["host"], t["condition"]) for t in a.report_json()["tasks"]}
    # B1 was never probed (its worktree is on the other machine): recorded, not yet observed.
    assert seen_by_a["A1"] == ("laptop", "finished")
    assert seen_by_a["B1"][0] == "server"
    assert a.orch_json("task", "show", "B1")["observations"] == []

    b.orch("tick")
    seen_by_b = {t["id"]: (t["host"], t["condition"]) for t in b.report_json()["tasks"]}
    assert seen_by_b == {"A1": ("laptop", "finished"), "B1": ("server", "working")}
    # B's tick did not re-judge A's task from B's disk (where A's worktree does not exist).
    assert len(b.orch_json("task", "show", "A1")["observations"]) == 1
    status = json.loads(a.orch("status", "--json").stdout)
    assert {t["id"] for t in status["tasks"]} == {"A1", "B1"}


def test_two_projects_on_one_host_share_session_files_safely(bare_repo, pg_url, tmp_path):
    """Two repositories on one machine, one ledger: a tick of one never marks the other's session lines as read."""
    from pathlib import Path

    from sessionlogs import CodexRollout

    shop = bare_repo
    shop.env["ORCH_DB"] = pg_url
    shop.orch("init", "--project", "shop")
    docs = Repo(tmp_path / "docs-site", dict(shop.env))
    docs.base.mkdir()
    docs.root.mkdir()
    docs.git("init", "-q", "-b", "main")
    docs.commit(docs.root, "index.md", "# docs\n", "initial")
    docs.orch("init", "--project", "docs")
    wt = docs.worktree("w")
    docs.dispatch("D1", "w", wt)
    log = CodexRollout(Path(shop.env["CODEX_HOME"]), wt)
    log.start_turn()
    docs.orch("tick")
    assert {t["id"]: t["condition"] for t in docs.report_json()["tasks"]} == {"D1": "working"}

    docs.write(wt, "page.md", "new page\n")
    log.finish()  # the docs worker ends its turn...
    shop.orch("tick")  # ...and the shop's tick, on the same host and ledger, sees the file grow first
    docs.orch("tick")
    d1 = next(t for t in docs.report_json()["tasks"] if t["id"] == "D1")
    assert (d1["condition"], d1["reason"]) == ("finished-uncommitted", "turn-ended-uncommitted")
    assert [s["task"] for s in docs.orch_json("sessions")["sessions"]] == ["D1"]
