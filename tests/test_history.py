"""`orch history`: condition runs and durations to the second, review and wake times, gaps, flapping (both ledgers)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def start_clock() -> datetime:
    """A whole minute a little ahead of the wall clock, so that every chosen tick comes after the dispatch."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now + timedelta(minutes=2)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_history_durations_to_the_second(any_repo):
    r = any_repo
    r.set_config(tick_interval="10m", tick_grace="2m")  # a gap is more than 12 minutes without a tick
    wt = r.worktree("w")
    r.write(wt, "draft.py", "x = 1\n")
    r.dispatch("W", "w", wt)
    b = start_clock()

    def at(minutes: int) -> str:
        return iso(b + timedelta(minutes=minutes))

    for m in (0, 10, 15):
        r.orch("tick", "--now", at(m))  # editing recently: working
    r.orch("tick", "--now", at(25))  # no progress for over 20 minutes: stuck
    r.orch("ack", "--now", at(30))
    r.commit(wt, "draft.py", "x = 2\n")
    r.orch("tick", "--now", at(35))  # committed and clean: finished
    r.orch("tick", "--now", at(45))
    r.orch("tick", "--now", at(75))  # 30 minutes without a tick: a gap, not time in a condition
    # the decision (recorded although git does not show the merge): cleanup-needed (the worktree is there)
    r.orch("task", "set", "W", "merged", "--force", "--now", at(80))
    r.orch("tick", "--now", at(85))

    h = r.orch_json("history", "W", "--now", at(90))
    assert h["kind"] == "history" and h["to"] == at(90)
    (t,) = h["tasks"]
    assert [(x["condition"], x["from"], x["to"], x["seconds"]) for x in t["runs"]] == [
        ("working", at(0), at(25), 1500),
        ("stuck", at(25), at(35), 600),
        ("finished", at(35), at(45), 600),
        ("finished", at(75), at(80), 300),
        ("cleanup-needed", at(80), at(90), 600),
    ]
    assert t["totals"] == {"working": 1500, "waiting_input": 0, "stuck": 600, "waiting_review": 900}
    assert t["seconds_by_condition"] == {"cleanup-needed": 600, "finished": 900, "stuck": 600, "working": 1500}
    assert t["time_to_review"] == [{"finished_at": at(35), "since_before_window": False, "decided_at": at(80),
                                    "decision": "merged", "seconds": 2700, "pending": False}]
    assert t["time_to_wake"] == [{"needed_at": at(25), "since_before_window": False, "acked_at": at(30),
                                  "seconds": 300, "pending": False}]
    assert t["changes"] == 3 and t["max_changes_in_an_hour"] == 3 and t["flapping"] is False
    p = h["summary"]
    assert p["missed_heartbeats"] == 1
    assert p["gaps"] == [{"host": "test-host", "from": at(45), "to": at(75), "seconds": 1800}]
    assert sum(d["finished"] for d in p["per_day"]) == 1 and sum(d["merged"] for d in p["per_day"]) == 1
    assert p["median_seconds_by_condition"]["finished"] == 450
    assert h["acks"] == [at(30)]

    # A window that starts inside a run counts from the window's start; the condition there comes from the ledger.
    part = r.orch_json("history", "W", "--since", at(20), "--now", at(40))
    assert [(x["condition"], x["seconds"]) for x in part["tasks"][0]["runs"]] == [("working", 300), ("stuck", 600),
                                                                                ("finished", 300)]
    # The text form says the same, and the ticks that stopped: 10 hours later, the trailing stretch is a gap.
    text = r.orch("history", "W", "--now", at(90)).stdout
    assert "25m" in text and "cleanup-needed" in text and "Missed heartbeats: 1" in text
    late = r.orch_json("history", "--since", "24h", "--now", at(600))
    assert late["summary"]["missed_heartbeats"] == 2
    assert late["summary"]["gaps"][-1] == {"host": "test-host", "from": at(85), "to": at(600), "seconds": 515 * 60}


def test_flapping_task_is_named(repo):
    r = repo
    r.set_config(tick_interval="10m", tick_grace="2m")
    flip = r.worktree("flip")
    calm = r.worktree("calm")
    r.write(flip, "a.py", "0\n")
    r.write(calm, "a.py", "0\n")
    r.dispatch("F", "flip", flip)
    r.dispatch("C", "calm", calm)
    b = start_clock()
    for i in range(6):  # working (dirty) and finished (committed) in turn, every 10 minutes: 5 changes in 50 min
        if i % 2:
            r.commit(flip, "a.py", f"{i}\n", msg=f"step {i}")
        else:
            r.write(flip, f"b{i}.py", f"{i}\n")
        r.orch("tick", "--now", iso(b + timedelta(minutes=10 * i)))
    h = r.orch_json("history", "--now", iso(b + timedelta(minutes=55)))
    by = {t["task"]: t for t in h["tasks"]}
    assert by["F"]["changes"] == 5 and by["F"]["max_changes_in_an_hour"] == 5 and by["F"]["flapping"] is True
    assert by["C"]["changes"] == 1 and by["C"]["flapping"] is False  # working, then stuck
    assert h["summary"]["flapping"] == ["F"] and h["flap_threshold_per_hour"] == 3
    assert "Flapping (more than 3 condition changes within an hour): F" in r.orch(
        "history", "--now", iso(b + timedelta(minutes=55))).stdout


def test_history_bad_input_is_one_line(repo):
    r = repo
    for args in (["--since", "yesterday"], ["--since", "2999-01-01T00:00:00Z"], ["NOPE"], ["bad key!"]):
        proc = r.orch("history", *args, check=False)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert r.orch_json("history")["tasks"] == []


def test_a_cleaned_task_reads_cleaned_not_cleanup_needed(repo):
    """Once `orch cleanup --apply` removed it, a task is `cleaned` in history's "now" column and on the timeline,
    though its last condition run was cleanup-needed."""
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "f.txt", "x\n")
    r.dispatch("T", "w", wt)
    r.git("merge", "-q", "--no-edit", "w")
    r.orch("task", "set", "T", "merged")
    r.orch("tick")  # cleanup-needed: decided, the worktree is still there
    assert r.orch_json("cleanup", "--apply")["applied"] is True
    r.orch("tick")
    (t,) = r.orch_json("history")["tasks"]
    assert t["runs"][-1]["condition"] == "cleanup-needed" and t["cleaned_at"]
    row = next(ln for ln in r.orch("history").stdout.splitlines() if ln.startswith("T "))
    assert row.split()[1] == "cleaned", row
    page = (r.root / ".orch" / "reports" / "latest.html").read_text()
    label = page[page.index('data-task="T"'):].split("</div>")[0]
    assert 'class="pill cleaned"' in label and "cleanup-needed" not in label
