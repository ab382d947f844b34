"""The pure history arithmetic of report/timeline.py: coverage and gaps, runs, totals, waits, flapping, geometry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from orchestrator.report import timeline as tl

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
LIMIT = timedelta(minutes=7)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_coverage_splits_at_gaps_and_after_the_last_tick():
    clocks = [m(-3), m(2), m(7), m(30), m(35)]
    covered, gaps = tl.coverage(clocks, LIMIT, m(0), m(40))
    assert covered == [(m(0), m(7)), (m(30), m(40))]
    assert gaps == [(m(7), m(30))]
    covered, gaps = tl.coverage(clocks, LIMIT, m(0), m(60))  # ticks stopped: the tail is a gap
    assert covered == [(m(0), m(7)), (m(30), m(35))]
    assert gaps == [(m(7), m(30)), (m(35), m(60))]
    assert tl.coverage([], LIMIT, m(0), m(60)) == ([], [])


def test_runs_totals_and_first_observation():
    track = tl.Track("T", "h", start_condition=None,
                     changes=[(m(5), "working"), (m(20), "waiting-input"), (m(25), "working"), (m(50), "finished")])
    covered = [(m(0), m(40)), (m(45), m(70))]
    h = tl.task_history(track, covered, acks=[m(28)], start=m(0), end=m(70))
    assert [(r["condition"], r["seconds"]) for r in h["runs"]] == [
        ("working", 900), ("waiting-input", 300), ("working", 900), ("working", 300), ("finished", 1200)]
    assert h["totals"] == {"working": 2100, "waiting_input": 300, "stuck": 0, "waiting_review": 1200}
    assert h["changes"] == 3  # the first observation is not a change
    assert h["time_to_wake"][0] == {"needed_at": "2026-11-24T08:20:00Z", "since_before_window": False,
                                    "acked_at": "2026-11-24T08:28:00Z", "seconds": 480, "pending": False}
    assert h["time_to_wake"][1]["pending"] and h["time_to_wake"][1]["seconds"] == 1200
    assert h["time_to_review"] == [{"finished_at": "2026-11-24T08:50:00Z", "since_before_window": False,
                                    "decided_at": None, "decision": None, "seconds": 1200, "pending": True}]


def test_condition_at_window_start_and_cleanup_end():
    track = tl.Track("T", "h", start_condition="finished", changes=[(m(30), "cleanup-needed")],
                     decisions=[(m(30), "merged")], end_at=m(40))
    h = tl.task_history(track, [(m(0), m(60))], acks=[], start=m(0), end=m(60))
    assert [(r["condition"], r["seconds"]) for r in h["runs"]] == [("finished", 1800), ("cleanup-needed", 600)]
    assert h["time_to_review"][0]["since_before_window"] is True and h["time_to_review"][0]["seconds"] == 1800
    assert h["decisions"] == [{"at": "2026-11-24T08:30:00Z", "status": "merged"}]


def test_flapping_threshold():
    four = [m(0), m(10), m(20), m(59)]
    assert tl.max_per_hour(four) == 4 and tl.max_per_hour(four[:3] + [m(61)]) == 3
    conds = ["working", "finished", "working", "finished", "working"]
    track = tl.Track("F", "h", start_condition="working", changes=list(zip([m(5), m(15), m(25), m(35), m(45)], conds[1:] + ["finished"])))
    h = tl.task_history(track, [(m(0), m(60))], [], m(0), m(60))
    assert h["changes"] == 5 and h["flapping"] is True and tl.FLAP_PER_HOUR == 3
    slow = tl.Track("S", "h", start_condition="working", changes=[(m(0 + 70 * i), c) for i, c in enumerate(conds)])
    assert tl.task_history(slow, [(m(0), m(400))], [], m(0), m(400))["flapping"] is False


def test_per_day_project_summary_and_picture():
    days = tl.per_day(m(0), m(60 * 30), [(m(10), "A"), (m(20), "A"), (m(60 * 25), "B")], [(m(60 * 26), "A")])
    assert days == [{"day": "2026-11-24", "finished": 1, "merged": 0}, {"day": "2026-11-25", "finished": 1, "merged": 1}]
    t = tl.task_history(tl.Track("A", "h", "working", [(m(30), "stuck")]), [(m(0), m(40)), (m(50), m(60))], [],
                        m(0), m(60))
    p = tl.project_summary([t], {"h": [(m(40), m(50))]}, [m(55)], days)
    assert p["median_seconds_by_condition"] == {"stuck": 600, "working": 1800} and p["missed_heartbeats"] == 1
    assert p["missed_wakeups"] == 1
    hist = {"tasks": [t], "project": p, "acks": ["2026-11-24T08:30:00Z"], "missed_wakeup_at": []}
    pic = tl.picture(hist, m(0), m(60))
    (row,) = pic["rows"]
    assert [(s["x"], s["w"]) for s in row["spans"]] == [(0.0, 500.0), (500.0, 166.7), (833.3, 166.7)]
    assert row["gaps"][0]["x"] == 666.7 and pic["marks"] == [{"kind": "ack", "at": "2026-11-24T08:30:00Z", "x": 500.0}]
    assert [a["label"] for a in tl.axis(m(0), m(60 * 24))] == ["09:00", "12:00", "15:00", "18:00", "21:00", "00:00",
                                                               "03:00", "06:00"]
    assert [a["label"] for a in tl.axis(m(0), m(60 * 24 * 7))][:2] == ["11-25", "11-26"]


def test_a_fitted_axis_starts_at_the_first_activity_with_a_minimum_span():
    day = (m(-60 * 24 + 60), m(60))  # a 24-hour window; the work: the last hour of it
    t = tl.task_history(tl.Track("A", "h", None, [(m(5), "working"), (m(40), "finished")]), [(m(5), m(60))], [],
                        *day)
    hist = {"tasks": [t], "project": tl.project_summary([t], {"h": []}, [], []), "acks": [], "missed_wakeup_at": []}
    whole, fitted = tl.picture(hist, *day), tl.picture(hist, *day, fit=True)
    assert whole["rows"][0]["spans"][0]["x"] > 950 and not whole["fitted"]  # the rightmost few pixels
    assert fitted["from"] == "2026-11-24T08:00:00Z" and fitted["fitted"] and fitted["window"] == "1d"
    assert fitted["rows"][0]["spans"][0]["x"] == round(5 / 60 * 1000, 1) and fitted["length"] == "1h"
    assert [a["label"] for a in fitted["axis"]] == ["08:00", "08:10", "08:20", "08:30", "08:40", "08:50", "09:00"]
    short = tl.task_history(tl.Track("B", "h", None, [(m(55), "working")]), [(m(55), m(60))], [], *day)
    hist["tasks"] = [short]
    assert tl.picture(hist, *day, fit=True)["from"] == "2026-11-24T08:00:00Z"  # at least an hour: 55 min before
    hist["tasks"] = []
    assert tl.picture(hist, *day, fit=True)["from"] == tl.iso(day[0])  # nothing drawn: the whole window
