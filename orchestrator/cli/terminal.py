"""Human output in a terminal: the `orch status` summary (like `systemctl status`), colours by condition, NO_COLOR."""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime, timedelta
from typing import Mapping, TextIO

from orchestrator.classify.heartbeat import AHEAD_TOLERANCE as AHEAD  # a stamp this far ahead is "in the future"
from orchestrator.redact import redact
from orchestrator.timeutil import format_duration, parse_iso

# ANSI colours (SGR codes) per condition and per overall status; the same names rich understands.
COND_STYLE = {
    "setup-pending": "cyan", "setup-overdue": "red", "working": "green", "waiting-input": "yellow",
    "stuck": "red", "finished": "blue", "finished-uncommitted": "yellow", "no-output": "red", "blocked": "red",
    "reviewing": "blue", "cleanup-needed": "magenta", "done": "dim",
}
OVERALL_STYLE = {
    "waiting-input": "yellow", "blocked": "red", "stuck": "red", "review-needed": "blue",
    "cleanup-needed": "magenta", "dispatch-possible": "green", "quiet": "green",
}
_SGR = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "dim": "2",
        "bold": "1"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = sys.stdout if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_colour(stream: TextIO | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def paint(text: str, style: str | None, colour: bool, bold: bool = False) -> str:
    codes = [_SGR[s] for s in ((style,) if style else ()) + (("bold",) if bold else ()) if s in _SGR]
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if colour and codes else text


def one_line(value, limit: int = 160) -> str:
    """Untrusted text on one terminal line: no control characters (no escapes), no secrets, bounded (cut at a
    word, with …)."""
    from orchestrator.cli.layout import cut

    text = _SPACE.sub(" ", _CONTROL.sub("", redact(str(value if value is not None else "")))).strip()
    return text if len(text) <= limit else cut(text, limit)


def evidence_text(view: dict, limit: int = 2, width: int = 90) -> str:
    return "; ".join(f"{e['kind']}: {one_line(e.get('text'), width)}" for e in (view.get("evidence") or [])[:limit])


# --- orch status ----------------------------------------------------------------------------

def schedule_records(globals_, settings) -> tuple[dict, dict]:
    """kv `schedule` and `schedules` of this host: read with sqlite3 for a SQLite ledger (no SQLAlchemy, like
    the status cache), else through the ledger."""
    import json

    from orchestrator.report.snapshot import _sqlite_file

    paths = globals_.paths()
    db = _sqlite_file(settings.ledger_url(globals_.db), paths)
    if db is not None and db.is_file():
        import sqlite3

        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute("SELECT kv.key, kv.value FROM kv JOIN projects ON projects.id = kv.project_id "
                                    "WHERE projects.name = ? AND kv.host = ? AND kv.key IN ('schedule', 'schedules')",
                                    (settings.project, settings.hostname)).fetchall()
            finally:
                conn.close()
            found = {k: json.loads(v) if isinstance(v, str) else v for k, v in rows}
            return (found.get("schedule") or {}), (found.get("schedules") or {})
        except (sqlite3.Error, ValueError):
            pass
    from orchestrator.ledger import kv

    ledger = globals_.ledger()
    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        return kv.get(s, proj, settings.hostname, "schedule"), kv.get(s, proj, settings.hostname, "schedules")


def merge_schedules(last: dict, every: dict) -> list[dict]:
    """Every schedule recorded for this host: kv `schedules` (kind -> value) plus the last one, `schedule`."""
    values = {k: v for k, v in (every or {}).items() if isinstance(v, dict)}
    if last and last.get("kind") not in values:
        values[str(last.get("kind"))] = last
    return [values[k] for k in sorted(values)]


def default_kind() -> str:
    return "launchd" if sys.platform == "darwin" else ("systemd" if sys.platform.startswith("linux") else "cron")


def _ago(delta: timedelta) -> str:
    secs = delta.total_seconds()
    return "just now" if secs < 1 else f"{format_duration(secs)} ago"


def _when(iso_text: str | None) -> str:
    return f"{iso_text[:10]} {iso_text[11:19]} UTC" if iso_text else "?"


TRUST_STYLE = {"high": "red", "medium": "yellow", "low": None, "none": "green"}
TRUST_LINES = 10


def status_lines(ctx: dict, schedules: list[dict], live: list, interval: timedelta, grace: timedelta,
                 now: datetime, colour: bool = False, width: int | None = None) -> list[str]:
    """The summary `orch status` prints: overall state, last and next tick, schedule, counts, Act now. In a
    terminal (`width` columns) long lines wrap between words under a hanging indent (cli/layout.py `wrap`)."""
    from orchestrator.cli.hints import runnable
    from orchestrator.cli.layout import wrap

    overall = ctx["overall"]
    dot = paint("●", OVERALL_STYLE.get(overall), colour)
    lines = [f"{dot} orch: {paint(overall, OVERALL_STYLE.get(overall), colour, bold=True)} ({one_line(ctx['project'])})"]
    rows: list[tuple[str, str]] = []
    running = [(v, st) for v, st in zip(schedules, live) if st.running]
    secs = next((v.get("seconds") for v, _ in running if isinstance(v.get("seconds"), int)), None)
    every = timedelta(seconds=secs) if secs else interval
    last_at = parse_iso(ctx["verdicts_at"]) if ctx.get("tick") else None
    if last_at is None:
        rows.append(("Last tick", paint("none yet", "yellow", colour) + f" on {ctx['host']}"))
    else:
        age = now - last_at
        late = age > every + grace
        ago = paint(_ago(age), "red" if late else None, colour) if age >= -AHEAD else \
            paint(f"stamped {format_duration(-age)} in the future", "yellow", colour)
        rows.append(("Last tick", f"#{ctx['tick']} at {_when(ctx['verdicts_at'])}; {ago} "
                                  f"on {ctx.get('tick_host') or ctx['host']}"))
    if running:
        if last_at is None:
            rows.append(("Next tick", f"due within {format_duration(every)} (every {format_duration(every)})"))
        else:
            left = last_at + every - now
            if now - last_at < -AHEAD:
                rows.append(("Next tick", f"due within {format_duration(every)} (every {format_duration(every)}; "
                                          "the last tick's stamp is ahead of this clock)"))
            elif left.total_seconds() > 0:
                rows.append(("Next tick", f"due in {format_duration(left)} (every {format_duration(every)})"))
            elif -left <= grace:
                rows.append(("Next tick", f"due now (every {format_duration(every)})"))
            else:
                rows.append(("Next tick", paint(f"overdue by {format_duration(-left)}", "red", colour)
                             + f" (every {format_duration(every)}): is the scheduler running? (`orch doctor`)"))
    else:
        rows.append(("Next tick", paint("not scheduled", "yellow", colour)
                     + f": run `orch tick`, or install a schedule with `orch schedule {default_kind()} --install`"))
    if not schedules:
        rows.append(("Schedule", paint("none installed", "yellow", colour) + f" for host {ctx['host']}"))
    for v, st in zip(schedules, live):
        state = {"running": "enabled, running", "stopped": "installed, NOT running",
                 "other-platform": "for another platform", "unknown": "installed, state unknown"}[st.state]
        style = "green" if st.running else ("red" if st.state in ("stopped", "other-platform") else "yellow")
        rows.append(("Schedule", f"{v.get('kind')} {v.get('name')}: " + paint(state, style, colour)
                     + f" ({one_line(st.detail, 200)})"))
    advice = ctx.get("dispatch") or {}
    dispatch = "possible" if advice.get("possible") else "not now" + (
        f" ({'; '.join(advice.get('why_not') or [])})" if advice.get("why_not") else "")
    rows.append(("Mode", f"{ctx['mode']}; dispatch {dispatch}"))
    counts = ctx.get("counts") or {}
    total = sum(counts.values())
    parts = [paint(f"{n} {c}", COND_STYLE.get(c), colour) for c, n in counts.items()]
    rows.append(("Tasks", f"{total}" + (": " + ", ".join(parts) if parts else "")
                 + (f" (+{ctx['cleaned']} cleaned)" if ctx.get("cleaned") else "")))
    rows.append(("Changes", f"{ctx.get('since_last_ack_total', 0)} since the last ack"
                 + (f" ({_when(ctx['last_ack_at'])})" if ctx.get("last_ack_at") else "")))
    for p in (ctx.get("health") or {}).get("problems") or []:
        rows.append(("Problem", paint(one_line(p, 300), "red", colour)))
    trust = ctx.get("trust") or {}
    items = trust.get("open") or []
    risk = trust.get("risk") or "none"
    rows.append(("Trust", paint(f"risk {risk}", TRUST_STYLE.get(risk), colour)
                 + (f", {len(items)} open (worst first):" if items else ": nothing open")))
    label = max(len(k) for k, _ in rows)
    for k, v in rows:
        lines += wrap(f"  {k.rjust(label)}: ", runnable(v), width)  # hints as typed, before measuring
    for m in items[:TRUST_LINES]:
        task = f" {one_line(m['task'], 60)}" if m.get("task") else ""
        where = f" [{one_line(m['where_short'], 160)}]" if m.get("where_short") else ""
        nxt = f" → {one_line(m['next'], 160)}" if m.get("next") else ""
        lines += wrap(f"  {' ' * label}  #{m['id']} ",
                      runnable(f"{paint(m['severity'], TRUST_STYLE.get(m['severity']), colour)}{task}: "
                               f"{one_line(m.get('label') or m['category'], 80)} — {one_line(m['text'], 200)}{where}{nxt}"),
                      width)
    if len(items) > TRUST_LINES:
        lines.append(f"  {' ' * label}  … {len(items) - TRUST_LINES} more: `orch trust`")
    act = ctx.get("act_now") or []
    lines.append("")
    lines.append("Act now:" if act else "Act now: nothing.")
    for i, t in enumerate(act, 1):
        cond = paint(t["condition"], COND_STYLE.get(t["condition"]), colour)
        reason = f" ({t['reason']})" if t.get("reason") else ""
        since = f", for {t['for']}" if t.get("for") else ""
        flags = "".join(f" · {paint(one_line(x, 80), 'red', colour)}" for x in t.get("trust") or [])
        lines += wrap(f"  {i}. ", runnable(f"{paint(one_line(t['id'], 60), None, colour, bold=True)} {cond}{reason} → "
                                  f"{t['next_action']}{flags}{since} — {evidence_text(t)}"), width)
    return lines
