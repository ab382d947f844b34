"""Dispatch advice in each mode, with free slots, a dirty integration checkout and work waiting for review; packages."""

from __future__ import annotations


def advice(r) -> dict:
    return r.report_json()["dispatch"]


def test_dispatch_advice_in_each_mode(repo):
    r = repo
    r.set_config(max_concurrency=2)
    a = r.worktree("a")
    r.dispatch("A", "a", a)
    r.orch("tick")
    d = advice(r)
    assert (d["possible"], d["free_slots"], d["running"]) == (True, 1, 1)
    assert r.report_json()["overall"] == "dispatch-possible"
    assert "1 of 2 slots free: dispatch possible" in r.report()

    for mode in ("drain", "paused"):
        r.orch("mode", mode, "--note", "release freeze")
        r.orch("tick")
        d = advice(r)
        assert d["possible"] is False and d["why_not"] == [f"mode is {mode}"]
        assert r.report_json()["overall"] == "quiet"
        assert "dispatch possible" not in r.report().lower()
        assert f"do not dispatch: mode is {mode}" in r.report() or f"mode {mode}" in r.report()

    r.orch("mode", "active")
    b = r.worktree("b")
    r.dispatch("B", "b", b)
    r.orch("tick")
    assert advice(r)["why_not"] == ["all 2 slots are taken"]

    r.write(r.root, "scratch.txt", "oops\n")  # the integration checkout is dirty
    r.commit(b, "b.py", "b = 1\n")  # and B waits for review
    r.orch("tick")
    data = r.report_json()
    assert data["overall"] == "blocked"
    assert advice(r)["why_not"] == ["the integration checkout has uncommitted changes", "1 task(s) wait for review"]
    assert data["act_now"][0]["reason"] == "integration-dirty"


def test_packages_are_grouped_and_spread_is_warned(repo):
    r = repo
    for pkg in ("search", "billing"):
        r.orch("package", "add", pkg, "--goal", pkg)  # dispatch refuses a package never added
    for key, pkg in (("S1", "search"), ("S2", "search"), ("B1", "billing")):
        wt = r.worktree(key.lower())
        r.dispatch(key, key.lower(), wt, "--package", pkg)
    r.orch("tick")
    data = r.report_json()
    assert [{k: p[k] for k in ("package", "tasks", "conditions")} for p in data["packages"]] == [
        {"package": "billing", "tasks": 1, "conditions": {"working": 1}},
        {"package": "search", "tasks": 2, "conditions": {"working": 2}}]
    assert data["dispatch"]["package_warning"] is True
    report = r.report()
    assert "- package **billing**: 1 running" in report and "- package **search**: 2 running" in report
    assert "warning: running workers spread over packages billing, search" in report
