"""The `orch history` command: time in each condition, review and wake times, flapping, tick gaps; text, JSON, HTML."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import check_task_key, emit_json, g, out, parse_now
from orchestrator.errors import UserError
from orchestrator.timeutil import format_duration, parse_duration, parse_iso, utcnow


def parse_since(text: str | None, now: datetime, default: timedelta) -> datetime:
    """`7d`, `90m` (that long before now) or an ISO-8601 time."""
    if text is None:
        return now - default
    try:
        return now - parse_duration(text, what="--since")
    except UserError:
        pass
    try:
        when = parse_iso(text, what="--since")
    except UserError:
        raise UserError(f"invalid --since {text!r}: use a duration such as 24h or 7d, or an ISO-8601 time") from None
    if when >= now:
        raise UserError(f"invalid --since {text!r}: it is not before now ({now.isoformat()})")
    return when


def _dur(seconds: int | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def _waits(items: list[dict]) -> str:
    done = [w["seconds"] for w in items if not w["pending"]]
    open_ = [w["seconds"] for w in items if w["pending"]]
    parts = [", ".join(_dur(x) for x in done[-3:])] if done else []
    if open_:
        parts.append(f"waiting {_dur(open_[-1])}")
    return "; ".join(parts) or "-"


def _now(t: dict) -> str:
    """The task's condition at the end of the period; `cleaned` once it was cleaned up (no condition after)."""
    if t.get("cleaned_at"):
        return "cleaned"
    return t["runs"][-1]["condition"] if t["runs"] else "-"


def print_history(h: dict, one_task: bool) -> None:
    from orchestrator.cli.layout import terminal_width, wrap
    from orchestrator.cli.render import print_table
    from orchestrator.cli.terminal import COND_STYLE, one_line

    lines = [f"History from {h['from']} to {h['to']}" + (" (clipped to `retention`)" if h["clipped_to_retention"] else "")]
    out.print(lines[0], markup=False)
    if not h["tasks"]:
        out.print("No task was observed in this period.", markup=False)
    else:
        from orchestrator.cli.layout import Column, Table

        # In a narrow terminal: short headers, then the least needed columns left out; cells never wrap.
        table = Table([Column("task"), Column("now"), Column("working", "work"), Column("waiting-input", "input"),
                       Column("stuck"), Column("waiting review", "unreviewed"), Column("to review"),
                       Column("to wake"), Column("changes", "chg"), Column("flapping", "flap")],
                      drop=("flapping", "changes", "to wake", "stuck", "to review"))
        for t in h["tasks"]:
            tot = t["totals"]
            now = _now(t)
            table.add_row(one_line(t["task"], 64), (now, COND_STYLE.get(now)), _dur(tot["working"]),
                          _dur(tot["waiting_input"]), _dur(tot["stuck"]), _dur(tot["waiting_review"]),
                          _waits(t["time_to_review"]), _waits(t["time_to_wake"]), str(t["changes"]),
                          f"yes ({t['max_changes_in_an_hour']}/h)" if t["flapping"] else "no")
        print_table(table, "orch history --json")
    if one_task:
        for t in h["tasks"]:
            out.print(f"{t['task']} condition runs:", markup=False)
            for r in t["runs"]:
                out.print(f"  {r['from']} → {r['to']}  {r['condition']:<22} {_dur(r['seconds'])}", markup=False)
    width = terminal_width()

    def say(prefix: str, body: str) -> None:  # like `orch status`: wrapped between words in a terminal
        out.print("\n".join(wrap(prefix, body, width)), markup=False)

    p = h["project"]
    days = [f"{d['day']}: {d['finished']} finished, {d['merged']} merged" for d in p["per_day"]]
    say("Per day (UTC): ", "; ".join(days) if days else "-")
    medians = ", ".join(f"{c} {_dur(v)}" for c, v in p["median_seconds_by_condition"].items())
    say("Median run: ", medians or "-")
    gaps = "; ".join(f"{g['host']} {g['from']} → {g['to']} ({_dur(g['seconds'])})" for g in p["gaps"][-5:])
    say("Missed heartbeats: ", f"{p['missed_heartbeats']}" + (f" ({gaps})" if gaps else "")
        + f"; missed wake-ups: {p['missed_wakeups']}")
    flap = ", ".join(p["flapping"])
    say(f"Flapping (more than {h['flap_threshold_per_hour']} condition changes within an hour): ", flap or "none")


@app.command()
def history(
    ctx: typer.Context,
    task: Optional[str] = typer.Argument(None, help="Only this task (and list its condition runs)."),
    since: Optional[str] = typer.Option(None, "--since", help="Start of the period: a duration before now (24h, 7d) or an ISO-8601 time (default: timeline_window, 24h)."),
    now: Optional[str] = typer.Option(None, "--now", help="End of the period (ISO-8601; default: now), for replay and tests."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the timeline and figures as a standalone HTML page to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Look back: condition runs and time in each, time to review and to wake, flapping, missed heartbeats."""
    from orchestrator.report import history as history_mod
    from orchestrator.ledger import overruns
    from orchestrator.ledger.tasks import get_task

    if task is not None:
        check_task_key(task)
    until = parse_now(now) or utcnow()
    ledger = g(ctx).ledger()
    start = parse_since(since, until, ledger.settings.timeline_window)
    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        if task is not None:
            get_task(s, proj, task)
        h = history_mod.load(s, proj, ledger.settings, start, until, task)
        over = overruns.load(s, proj, start, until, task)
        project = proj.name
    if html is not None:
        from orchestrator.report.render import render_history_html
        from orchestrator.system.files import write_atomic

        try:
            write_atomic(html, render_history_html(h, project, until, fit=since is None))
        except OSError as exc:
            raise UserError(f"cannot write {html}: {exc.strerror}") from None
    if json_out:
        emit_json({"project": project, **{k: v for k, v in h.items() if k != "project"}, "summary": h["project"],
                   "overruns": over, **({"html": str(html)} if html else {})}, "history")
    else:
        print_history(h, task is not None)
        out.print("\n".join(overruns.text_lines(over)), markup=False)
        if html is not None:
            out.print(f"Wrote {html}", markup=False)
