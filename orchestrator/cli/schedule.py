"""`orch schedule` (print or install the units that run `orch tick`) and `orch notify test`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import choice, emit_json, err, g, out
from orchestrator.settings import Settings, load_settings
from orchestrator.errors import UserError
from orchestrator.timeutil import iso, parse_duration, utcnow

if TYPE_CHECKING:  # imported by the commands themselves, not at every start-up
    from orchestrator.integrations import schedule as sched

notify_app = typer.Typer(help="Notifications sent when a task needs attention.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


def _config(ctx: typer.Context) -> Settings | None:
    """The repository's settings, or None when orch is not set up here."""
    paths = g(ctx).paths()
    if not paths.state.is_dir():
        return None
    return load_settings(paths.config)


def _record(ctx: typer.Context, plan: sched.Plan, changes: list[sched.Change]) -> bool:
    """Remember what was installed (kv `schedule`) so that `orch doctor` can check it; skip without a ledger."""
    from orchestrator.ledger import kv

    if not g(ctx).paths().state.is_dir():
        return False
    try:
        ledger = g(ctx).ledger()
    except UserError:
        return False
    now = utcnow()
    value = {"kind": plan.kind, "name": plan.name, "path": str(plan.files[0].path),
             "paths": [str(f.path) for f in plan.files], "interval": plan.interval, "seconds": plan.seconds,
             "command": plan.argv, "enable": plan.enable, "installed_at": iso(now)}
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with ledger.session() as s:
            kv.put(s, ledger.project(s), ledger.settings.hostname, "schedule", value, now)
    except (UserError, SQLAlchemyError) as exc:  # the files are in place; the record is a convenience
        from orchestrator.ledger.connect import first_line

        err.print(f"orch: note: could not record the schedule in the ledger: {first_line(exc)}", markup=False)
        return False
    return True


@app.command("schedule")
def schedule_cmd(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="cron, systemd or launchd."),
    every: Optional[str] = typer.Option(None, "--every", help="Interval between ticks (default: tick_interval, 5m)."),
    install: bool = typer.Option(False, "--install", help="Write the files where they belong and print the one "
                                                          "command that enables them."),
    force: bool = typer.Option(False, "--force", help="With --install: replace files that differ."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print (or install) the units that run `orch tick` for this repository on an interval."""
    from orchestrator.integrations import schedule as sched

    choice(kind, sched.KINDS, "scheduler")
    paths = g(ctx).paths()
    if every is None:
        cfg = _config(ctx)
        every_td = cfg.tick_interval if cfg else parse_duration("5m")
        what = "tick_interval"
    else:
        every_td = parse_duration(every, what="--every")
        what = "--every"
    seconds = sched.interval_seconds(every_td, what=what)
    target = sched.make_target(paths.root)
    plan = sched.build_plan(kind, target, seconds)
    changes: list[sched.Change] = []
    recorded = False
    if install:
        changes = sched.install(plan, paths.root, force=force)
        recorded = _record(ctx, plan, changes)
    if json_out:
        emit_json({"scheduler": kind, "name": plan.name, "interval": plan.interval, "seconds": plan.seconds,
                   "command": plan.argv, "installed": install, "recorded": recorded, "enable": plan.enable,
                   "files": [{"path": str(f.path), "content": f.content} for f in plan.files],
                   "changes": [{"path": str(c.path), "action": c.action} for c in changes],
                   "notes": plan.notes}, "schedule")
        return
    if install:
        for c in changes:
            out.print(f"{c.action}: {c.path}", markup=False)
        if not recorded:
            out.print("(orch is not set up here, so the ledger does not record this schedule: run `orch init`)",
                      markup=False)
        out.print("Enable it with:", markup=False)
        out.print(f"  {plan.enable}", markup=False)
        for note in plan.notes:
            out.print(f"Note: {note}", markup=False)
        return
    # Print mode: the unit text on stdout (so it can be redirected), guidance on stderr.
    for f in plan.files:
        if len(plan.files) > 1:
            out.print(f"# --- {f.path} ---", markup=False)
        out.print(f.content, markup=False, end="")
    err.print(f"orch: {kind} units for {paths.root}, every {plan.interval}. Install with "
              f"`orch schedule {kind} --install`, then run: {plan.enable}", markup=False)


@notify_app.command("test")
def notify_test(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Send a fake transition through the configured notify_command now and show the result."""
    from orchestrator.integrations import notify as notify_mod

    paths = g(ctx).paths()
    cfg = _config(ctx)
    if cfg is None:
        raise UserError(f"{paths.root}: orch is not set up here: run `orch init`")
    if not cfg.notify_command.strip():
        raise UserError(f"no notify_command is configured: set notify_command in {paths.config}")
    log_path = paths.state / "logs" / "notify.log"
    transition = notify_mod.fake_transition(cfg.project, paths.reports / "latest.md")
    results = notify_mod.send(cfg, [transition], paths.root, log_path)
    res = results[0] if results else {"task": transition["task"], "ok": False, "exit_code": None,
                                      "timed_out": False, "error": "nothing was sent"}
    if json_out:
        emit_json({"command": cfg.notify_command, "transition": transition, "result": res,
                   "log": str(log_path)}, "notify-test")
    elif res["ok"]:
        out.print(f"Sent a test notification through: {cfg.notify_command}", markup=False)
    else:
        out.print(f"The notification failed: {res['error']} (logged in {log_path})", markup=False)
    if not res["ok"]:
        raise typer.Exit(1)
