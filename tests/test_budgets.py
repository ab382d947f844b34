"""Runtime and review budgets: judged by the pure classifier, crossed with `orch tick --now` on real repositories."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from orchestrator.classify.budget import Budgets, apply, assess
from orchestrator.classify.classifier import classify
from orchestrator.classify.evidence import Evidence, GitFacts, TaskInput, Thresholds
from sessionlogs import later

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def test_budget_overruns_are_reasons_only_where_they_are_the_one_thing_to_act_on():
    b = Budgets(max_runtime=timedelta(hours=2), review=timedelta(minutes=30), started_at=T0)
    now = T0 + timedelta(hours=2, minutes=10)
    working = assess(b, "active", "working", now)
    assert working["over"] == "runtime" and working["text"] == "over its runtime budget: 2h10m of 2h"
    reason, ev = apply("working", "recent-progress", [Evidence("git", "dirty", "1 uncommitted")], working)
    assert reason == "over-runtime" and ev[0].code == "over-runtime-budget"
    # stuck needs the orchestrator anyway: its reason stays, the overrun is its first piece of evidence
    reason, ev = apply("stuck", "no-progress", [], assess(b, "active", "stuck", now))
    assert reason == "no-progress" and ev[0].text.startswith("over its runtime budget")
    # a finished task is not at work any more: its runtime is not judged, its review clock starts now
    fin = assess(b, "active", "finished", now)
    assert "over" not in fin and fin["review_since"] and "used_s" not in fin["runtime"]
    waited = Budgets(**{**b.__dict__, "review_since": now, "prev_condition": "finished"})
    late = assess(waited, "reviewing", "reviewing", now + timedelta(minutes=45))
    assert late["over"] == "review" and late["text"] == "over its review budget: 45m of 30m"
    assert apply("reviewing", "status-reviewing", [], late)[0] == "review-overdue"
    # the review clock restarts when the task went back to work in between
    again = Budgets(**{**waited.__dict__, "prev_condition": "working"})
    assert "over" not in assess(again, "active", "finished", now + timedelta(hours=1))
    # no budget, or a task still in setup: nothing over
    assert "over" not in assess(Budgets(started_at=T0), "active", "working", now)
    assert "over" not in assess(Budgets(max_runtime=timedelta(hours=1)), "setup", "setup-pending", now)


def test_the_classifier_takes_budgets_and_the_clock_as_inputs():
    git = GitFacts(found=True, path="/w", head="a" * 40, branch="b", dirty=1, dirty_paths=("x.py",),
                   dirty_digest="d1")
    inp = TaskInput(key="T", status="active", branch="b", created_at=T0, worktree_recorded=True, git=git,
                    prev_fingerprint="old", prev_progress_at=T0,
                    budgets=Budgets(max_runtime=timedelta(hours=2), started_at=T0))
    v = classify(inp, Thresholds(), T0 + timedelta(hours=3))
    assert (v.condition, v.reason) == ("working", "over-runtime")
    assert v.next_action == "check in, nudge or stop the worker" and v.attention
    assert v.budget["runtime"] == {"budget_s": 7200, "used_s": 10800, "over": True}


def test_budgets_crossed_with_tick_now(repo):
    r = repo
    r.set_config(max_runtime="1h")
    r.dispatch("T2", "t2")  # the config's default budget
    r.dispatch("T3", "t3", None, "--max-runtime", "none", "--review-budget", "NONE")
    budgets = {t["id"]: t["budget"] for t in r.orch_json("task", "list")["tasks"]}
    assert budgets["T2"] == {"max_runtime": "1h", "review_budget": None}
    assert budgets["T3"] == {"max_runtime": None, "review_budget": None}
    for key in ("T2", "T3"):  # out of the way: a worker that never started is not at work
        r.orch("task", "set", key, "abandoned")
    wt = r.worktree("w1")
    r.orch("dispatch", "T1", "--branch", "w1", "--worktree", wt, "--max-runtime", "2h", "--review-budget", "30m")
    r.write(wt, "src/a.py", "a = 1\n")
    r.orch("tick")
    # 2h10m later the worker is still busy (its file changed): it is working, over its runtime budget
    r.write(wt, "src/b.py", "b = 2\n")  # a new file: progress
    r.orch("tick", "--now", later(130))
    data = r.report_json()
    t1 = next(t for t in data["tasks"] if t["id"] == "T1")
    assert (t1["condition"], t1["reason"]) == ("working", "over-runtime")
    assert t1["budget"]["max_runtime"] == "2h" and t1["budget"]["review_budget"] == "30m"
    assert t1["budget"]["over"] == "runtime" and t1["attention"]
    assert data["overall"] == "stuck"
    act = r.report().split("## Act now")[1].split("##")[0]
    assert "**T1** working (over-runtime) → check in, nudge or stop the worker" in act
    assert "over its runtime budget: 2h10m of 2h" in act
    assert "over its runtime budget" in r.report().split("## Since last ack")[1]
    assert "runtime 2h10m of 2h" in (r.root / ".orch/reports/latest.html").read_text()
    shown = r.orch("task", "show", "T1").stdout
    assert "budgets:  runtime 2h (used 2h10m: over); review 30m" in shown
    rescue = r.orch_json("review", "T1")["rescue"]  # a worker over its runtime budget gets a rescue section
    assert rescue["action"] == "nudge" and "over its runtime budget: 2h10m of 2h" in rescue["why"]

    # It finishes: no longer over its runtime; 45 minutes unreviewed later it is over its review budget
    r.commit(wt, "src/a.py", "a = 3\n", "feat")
    r.orch("tick", "--now", later(135))
    t1 = next(t for t in r.report_json()["tasks"] if t["id"] == "T1")
    assert (t1["condition"], t1["reason"]) == ("finished", "committed-clean") and "over" not in t1["budget"]
    r.orch("tick", "--now", later(181))
    t1 = next(t for t in r.report_json()["tasks"] if t["id"] == "T1")
    assert (t1["condition"], t1["reason"]) == ("finished", "review-overdue")
    assert t1["next_action"] == "review now (over the review budget)"
    assert "over its review budget: 46m of 30m" in r.report().split("## Act now")[1].split("##")[0]
    assert r.orch_json("review", "T1")["rescue"] is None  # over its review budget: it waits for you, not the worker

    # A longer budget takes it out of Act now at the next tick; history keeps both overruns
    hist = r.orch_json("history", "--now", later(182))
    assert hist["overruns"]["total"] == 2
    assert [x["kind"] for x in hist["overruns"]["per_task"][0]["overruns"]] == ["runtime", "review"]
    assert sum(d["runtime"] + d["review"] for d in hist["overruns"]["per_day"]) == 2
    assert "Budget overruns: 2 (T1 runtime 2h at" in r.orch("history", "--now", later(182)).stdout


def test_bad_budgets_are_one_line_and_exit_2(repo):
    r = repo
    for args in (("--max-runtime", "2x"), ("--review-budget", "-5m"), ("--max-runtime", "0")):
        p = r.orch("dispatch", "T9", "--branch", "b9", *args, check=False)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert f"invalid {args[0]}" in p.stderr and "none" in p.stderr
    r.set_config(review_budget="soon")
    p = r.orch("dispatch", "T9", "--branch", "b9", check=False)
    assert p.returncode == 2 and "review_budget" in p.stderr and "Traceback" not in p.stderr
