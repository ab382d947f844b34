"""A first end-to-end pass: init, dispatch, tick, report, on both ledgers."""


def test_tick_reports_finished_and_working(any_repo):
    r = any_repo
    w1 = r.worktree("w1")
    w2 = r.worktree("w2")
    r.write(w1, "a.txt", "editing\n")
    r.commit(w2, "b.txt", "done\n")
    r.dispatch("T1", "w1", w1)
    r.dispatch("T2", "w2", w2)
    r.orch("tick")
    data = r.report_json()
    conds = {t["id"]: t["condition"] for t in data["tasks"]}
    assert conds == {"T1": "working", "T2": "finished"}
    assert data["overall"] == "review-needed"
    assert "**T2** finished" in r.report()
