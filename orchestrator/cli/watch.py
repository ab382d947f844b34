"""The `orch watch` command: tick on an interval in the foreground until a condition, a timeout or a signal."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import emit_json, g
from orchestrator.errors import UserError
from orchestrator.timeutil import format_duration, parse_duration

EXIT_TIMEOUT = 3


@app.command()
def watch(
    ctx: typer.Context,
    every: Optional[str] = typer.Option(None, "--every", help="Tick interval (default: tick_interval from the config, e.g. 5m; at least 1s)."),
    until: Optional[str] = typer.Option(None, "--until", help="Exit 0 once a task reaches one of these conditions or the overall status matches (comma-separated; `attention` = every condition that needs you)."),
    timeout: Optional[str] = typer.Option(None, "--timeout", help="Give up after this long (exit 3 with --until)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document at the end (tick lines go to stderr)."),
) -> None:
    """Run the tick now and then on an interval, in the foreground."""
    from orchestrator.watch import Watcher, describe, parse_every, parse_until, task_line  # APScheduler: only here

    from orchestrator.redact import safe_text

    target = parse_until(until)
    limit = parse_duration(timeout, what="--timeout") if timeout is not None else None
    interval = parse_every(every) if every is not None else None  # bad input fails before the ledger opens
    ledger = g(ctx).ledger()
    if interval is None:
        interval = parse_every(None, default=ledger.settings.tick_interval)

    def say(line: str) -> None:
        stream = sys.stderr if json_out else sys.stdout
        try:
            stream.write(safe_text(line) + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away (`orch watch | head`)
            if not res_ready:
                raise

    res_ready = False

    watcher = Watcher(ledger, interval, until=target, timeout=limit, say=say)
    say(describe(interval, target, limit))
    res = watcher.run()
    res_ready = True
    if res.reason == "error":
        raise UserError(res.error or "watch stopped: configuration error")
    timeout_text = timeout or (format_duration(limit) if limit else "")
    code = 0
    if res.reason == "matched":
        say(f"until {target.text}: matched after {res.ticks} tick(s)")
        from orchestrator.cli.layout import terminal_width, wrap

        width = terminal_width(sys.stderr if json_out else sys.stdout)
        for t in res.matched:  # like `orch status`'s Act now: wrapped between words in a terminal
            for line in wrap("  ", task_line(t), width, indent=4):
                say(line)
    elif res.reason == "timeout":
        if target is not None:
            say(f"timeout after {timeout_text}: nothing reached {target.text}")
            code = EXIT_TIMEOUT
        else:
            say(f"watch stopped (timeout after {timeout_text}) after {res.ticks} tick(s)")
    else:
        say(f"watch stopped ({res.signal or 'signal'}) after {res.ticks} tick(s)")
    if json_out:
        emit_json({
            "reason": res.reason,
            "ticks": res.ticks,
            "skipped": res.skipped,
            "failed": res.failed,
            "last_tick": res.last_tick,
            "overall": res.overall,
            "until": sorted(target.conditions | target.overall) if target else None,
            "matched": [{k: t.get(k) for k in ("id", "condition", "reason", "next_action", "evidence")}
                        for t in res.matched],
            "signal": res.signal,
            "timeout": timeout_text or None,
            "every": format_duration(interval),
            "elapsed_seconds": round(res.elapsed, 1),
        }, "watch")
    if code:
        raise typer.Exit(code)
