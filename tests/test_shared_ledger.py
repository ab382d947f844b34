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
