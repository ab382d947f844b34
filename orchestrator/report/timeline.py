"""Pure history arithmetic: condition runs, tick gaps, totals, review and wake times, flapping, SVG geometry."""

from __future__ import annotations

import statistics
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orchestrator.classify.evidence import ATTENTION
from orchestrator.timeutil import format_duration, iso, parse_iso

FLAP_PER_HOUR = 3  # more than this many condition changes within any 60 minutes: the task flaps
WAITING_REVIEW = ("finished", "reviewing")  # finished work nobody has decided on yet
HEADLINE = {"working": ("working",), "waiting_input": ("waiting-input",), "stuck": ("stuck",),
            "waiting_review": WAITING_REVIEW}
WIDTH = 1000.0  # SVG user units across the window
_iso = lru_cache(maxsize=8192)(iso)  # runs start and end at tick times, which every task shares


@dataclass
class Track:
    """What the ledger says about one task in a window: its condition at the start and every change after."""

    key: str
    host: str
    start_condition: str | None = None  # the condition at the window's start (None: not yet observed)
    changes: list[tuple[datetime, str]] = field(default_factory=list)  # (at, new condition), in time order
    decisions: list[tuple[datetime, str]] = field(default_factory=list)  # (at, status) set by a person
    end_at: datetime | None = None  # cleaned up: no condition after this
    title: str | None = None


def secs(td: timedelta) -> int:
    return int(round(td.total_seconds()))


def coverage(clocks: list[datetime], limit: timedelta, start: datetime, end: datetime
             ) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """(covered, gaps) within [start, end] for one host's ok ticks, in the order they ran (the last one before
    start included).

    The time after a tick belongs to what that tick saw, until the next tick; when the next tick (or, for the
    last one, `end`) comes more than `limit` later, that whole stretch is a gap: nobody looked. A next tick
    stamped before the one it follows (the clock went back) makes no gap, and a stretch that another pair of
    ticks covers is none either: gaps are judged by the host's own sequence, not by sorting its stamps."""
    covered: list[tuple[datetime, datetime]] = []
    gaps: list[tuple[datetime, datetime]] = []
    for i, a in enumerate(clocks):
        b = clocks[i + 1] if i + 1 < len(clocks) else end
        lo, hi = max(a, start), min(b, end)
        if b <= a or hi <= lo:
            continue
        (gaps if b - a > limit else covered).append((lo, hi))
    covered = _union(covered)
    return covered, _minus(_union(gaps), covered)


def _union(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _minus(spans: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]
           ) -> list[tuple[datetime, datetime]]:
    out = []
    for lo, hi in spans:
        for h_lo, h_hi in holes:
            if h_hi <= lo or h_lo >= hi:
                continue
            if h_lo > lo:
                out.append((lo, h_lo))
            lo = max(lo, h_hi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


def condition_intervals(track: Track, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    """The task's condition as a step function over [start, end] (before its first observation: nothing)."""
    out: list[tuple[datetime, datetime, str]] = []
    stop = min(end, track.end_at) if track.end_at else end
    cur, since = track.start_condition, start
    for at, cond in track.changes:
        at = max(at, start)
        if at >= stop:
            break
        if cur is not None and at > since:
            out.append((since, at, cur))
        cur, since = cond, at
    if cur is not None and stop > since:
        out.append((since, stop, cur))
    return out


def runs_of(intervals: list[tuple[datetime, datetime, str]], covered: list[tuple[datetime, datetime]]
            ) -> list[tuple[datetime, datetime, str]]:
    """Intersect condition intervals with the covered time; join touching pieces of one condition into runs."""
    out: list[tuple[datetime, datetime, str]] = []
    j = 0
    for a, b, cond in intervals:
        while j < len(covered) and covered[j][1] <= a:
            j += 1
        k = j
        while k < len(covered) and covered[k][0] < b:
            lo, hi = max(a, covered[k][0]), min(b, covered[k][1])
            if hi > lo:
                if out and out[-1][2] == cond and out[-1][1] == lo:
                    out[-1] = (out[-1][0], hi, cond)
                else:
                    out.append((lo, hi, cond))
            k += 1
    return out


def max_per_hour(times: list[datetime]) -> int:
    """The most changes within any 60 minutes."""
    best, i = 0, 0
    for j, t in enumerate(times):
        while t - times[i] >= timedelta(hours=1):
            i += 1
        best = max(best, j - i + 1)
    return best


def _entries(track: Track, start: datetime, pred) -> list[tuple[datetime, bool]]:
    """When the task entered a condition matching `pred`: (at, True if already so at the window's start)."""
    out = [(start, True)] if track.start_condition and pred(track.start_condition) else []
    prev = track.start_condition
    for at, cond in track.changes:
        if pred(cond) and not (prev and pred(prev)):
            out.append((at, False))
        prev = cond
    return out


def task_history(track: Track, covered: list[tuple[datetime, datetime]], acks: list[datetime],
                 start: datetime, end: datetime) -> dict:
    """Runs, totals, time to review, time to wake and flapping of one task (all durations in whole seconds)."""
    runs = runs_of(condition_intervals(track, start, end), covered)
    by_cond: dict[str, int] = {}
    for a, b, cond in runs:
        by_cond[cond] = by_cond.get(cond, 0) + secs(b - a)
    totals = {name: sum(by_cond.get(c, 0) for c in conds) for name, conds in HEADLINE.items()}
    reviews = []
    for at, before in _entries(track, start, lambda c: c == "finished"):
        decision = next(((d, st) for d, st in track.decisions if d >= at), None)
        reviews.append({"finished_at": iso(at), "since_before_window": before,
                        "decided_at": iso(decision[0]) if decision else None,
                        "decision": decision[1] if decision else None,
                        "seconds": secs((decision[0] if decision else end) - at), "pending": decision is None})
    wakes = []
    for at, before in _entries(track, start, lambda c: c in ATTENTION):
        ack = next((a for a in acks if a >= at), None)
        wakes.append({"needed_at": iso(at), "since_before_window": before, "acked_at": iso(ack),
                      "seconds": secs((ack or end) - at), "pending": ack is None})
    change_times, prev = [], track.start_condition
    for at, cond in track.changes:  # a first observation is not a change
        if prev is not None and start <= at <= end:
            change_times.append(at)
        prev = cond
    observed = sum(secs(b - a) for a, b, _ in runs)
    peak = max_per_hour(change_times)
    return {
        "task": track.key,
        "title": track.title,
        "host": track.host,
        "runs": [{"condition": c, "from": _iso(a), "to": _iso(b), "seconds": secs(b - a)} for a, b, c in runs],
        "seconds_by_condition": dict(sorted(by_cond.items())),
        "totals": totals,
        "observed_seconds": observed,
        "time_to_review": reviews,
        "time_to_wake": wakes,
        "changes": len(change_times),
        "changes_per_hour": round(len(change_times) / (observed / 3600), 2) if observed else 0.0,
        "max_changes_in_an_hour": peak,
        "flapping": peak > FLAP_PER_HOUR,
        "decisions": [{"at": iso(d), "status": st} for d, st in track.decisions if start <= d <= end],
        "cleaned_at": iso(track.end_at) if track.end_at and track.end_at <= end else None,
    }


def per_day(start: datetime, end: datetime, finished: list[tuple[datetime, str]], merged: list[tuple[datetime, str]]
            ) -> list[dict]:
    """Tasks that reached `finished`, and tasks merged, per UTC day (each task once per day)."""
    days: dict[str, dict[str, set]] = {}
    d = start.date()
    while d <= end.date():
        days[d.isoformat()] = {"finished": set(), "merged": set()}
        d += timedelta(days=1)
    for name, items in (("finished", finished), ("merged", merged)):
        for at, key in items:
            if start <= at <= end and at.date().isoformat() in days:
                days[at.date().isoformat()][name].add(key)
    return [{"day": day, "finished": len(v["finished"]), "merged": len(v["merged"])} for day, v in days.items()]


def project_summary(tasks: list[dict], gaps: dict[str, list[tuple[datetime, datetime]]], missed_wakeups: list[datetime],
                    days: list[dict]) -> dict:
    """Medians per condition over every run, missed heartbeats (tick gaps) and missed wake-ups."""
    lengths: dict[str, list[int]] = {}
    for t in tasks:
        for r in t["runs"]:
            lengths.setdefault(r["condition"], []).append(r["seconds"])
    all_gaps = sorted((a, b, host) for host, items in gaps.items() for a, b in items)
    return {
        "per_day": days,
        "median_seconds_by_condition": {c: int(statistics.median(v)) for c, v in sorted(lengths.items())},
        "runs_by_condition": {c: len(v) for c, v in sorted(lengths.items())},
        "missed_heartbeats": len(all_gaps),
        "gaps": [{"host": h, "from": iso(a), "to": iso(b), "seconds": secs(b - a)} for a, b, h in all_gaps],
        "missed_wakeups": len(missed_wakeups),
        "flapping": [t["task"] for t in tasks if t["flapping"]],
    }


# --- the picture ---------------------------------------------------------------------------------------------

def _x(at: datetime, start: datetime, span: float) -> float:
    return round(max(0.0, min(WIDTH, (at - start).total_seconds() / span * WIDTH)), 1)


# (the longest period, the step between labels): about four to nine labels across the axis
_STEPS = ((timedelta(minutes=90), timedelta(minutes=10)), (timedelta(hours=3), timedelta(minutes=30)),
          (timedelta(hours=8), timedelta(hours=1)), (timedelta(days=1), timedelta(hours=3)),
          (timedelta(days=3), timedelta(hours=6)))
MIN_SPAN = timedelta(hours=1)  # a fitted axis spans at least this long, so that minutes of work are not a blur


def axis(start: datetime, end: datetime) -> list[dict]:
    """Labelled instants along the window: every 10 min up to 90 min, 30 min up to 3 h, 1 h up to 8 h, 3 h up to a
    day, 6 h up to 3 days, else every day."""
    length = end - start
    step = next((st for most, st in _STEPS if length <= most), None) or timedelta(days=max(1, length.days // 8))
    first = start.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0)
    elif step >= timedelta(hours=1):
        first = first.replace(hour=first.hour - first.hour % int(step.total_seconds() // 3600))
    out, t = [], first
    span = length.total_seconds() or 1.0
    while t <= end:
        if t >= start:
            out.append({"at": iso(t), "pct": round((t - start).total_seconds() / span * 100, 2),
                        "label": t.strftime("%m-%d") if step >= timedelta(days=1) else t.strftime("%H:%M"),
                        "day": step >= timedelta(days=1)})
        t += step
    return out


def first_activity(history: dict, start: datetime, end: datetime) -> datetime:
    """Where a fitted axis starts: at the first thing drawn in the window (a condition run, a decision, a gap in the
    ticks, an ack, a missed wake-up), floored to 10 minutes, spanning at least MIN_SPAN; `start` if nothing was."""
    times = [r["from"] for t in history["tasks"] for r in t["runs"]]
    times += [d["at"] for t in history["tasks"] for d in t["decisions"]]
    times += [g["from"] for g in history["project"]["gaps"]] + list(history["acks"]) + list(history["missed_wakeup_at"])
    if not times:
        return start
    first = min(parse_iso(x) for x in times)
    first = min(first, end - MIN_SPAN)
    first = first.replace(minute=first.minute - first.minute % 10, second=0, microsecond=0)
    return max(start, first)


def picture(history: dict, start: datetime, end: datetime, fit: bool = False) -> dict:
    """Geometry for the SVG timeline: spans, gaps and marks of each task row in 0..WIDTH user units. With `fit`
    the axis starts at the first activity in the window (`first_activity`), so that an hour of work fills it."""
    window = end - start
    if fit:
        start = first_activity(history, start, end)
    span = (end - start).total_seconds() or 1.0
    xs: dict[str, float] = {}  # runs start and end at tick times, shared by every task: parse each once

    def mark(at: str) -> float:
        x = xs.get(at)
        if x is None:
            x = xs[at] = _x(parse_iso(at), start, span)
        return x

    def piece(a: str, b: str) -> tuple[float, float]:
        x0 = mark(a)
        return x0, round(max(mark(b) - x0, 0.5), 1)

    gaps_by_host = {}
    for g in history["project"]["gaps"]:
        x, w = piece(g["from"], g["to"])
        gaps_by_host.setdefault(g["host"], []).append({**g, "x": x, "w": w, "for": format_duration(g["seconds"])})
    rows = []
    for t in history["tasks"]:
        spans = []
        for r in t["runs"]:
            x, w = piece(r["from"], r["to"])
            spans.append({**r, "x": x, "w": w, "for": format_duration(r["seconds"])})
        current = "cleaned" if t.get("cleaned_at") else (t["runs"][-1]["condition"] if t["runs"] else None)
        rows.append({"task": t["task"], "title": t["title"], "current": current, "spans": spans,
                     "gaps": gaps_by_host.get(t["host"], []), "flapping": t["flapping"],
                     "decisions": [{**d, "x": mark(d["at"])} for d in t["decisions"]]})
    marks = [{"kind": "ack", "at": a, "x": mark(a)} for a in history["acks"]]
    marks += [{"kind": "missed-wakeup", "at": a, "x": mark(a)} for a in history["missed_wakeup_at"]]
    heartbeat = [g for host_gaps in gaps_by_host.values() for g in host_gaps]
    return {"from": iso(start), "to": iso(end), "length": format_duration(end - start), "rows": rows,
            "window": format_duration(window), "fitted": end - start < window,
            "marks": marks, "gaps": heartbeat, "axis": axis(start, end),
            "conditions": sorted({s["condition"] for r in rows for s in r["spans"]})}


def summary(history: dict) -> dict:
    """The few figures latest.json carries about the window (the picture itself is only in the HTML)."""
    p = history["project"]
    return {"from": history["from"], "to": history["to"], "missed_heartbeats": p["missed_heartbeats"],
            "missed_wakeups": p["missed_wakeups"], "flapping": p["flapping"]}
