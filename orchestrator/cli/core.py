"""Core commands: init, dispatch, tick, status, ack, mode, demo."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import List, Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.hints import runnable
from orchestrator.cli.common import check_task_key, choice, emit_json, err, g, out, parse_now
from orchestrator.errors import UserError
from orchestrator.timeutil import parse_duration, utcnow


ATTENTION_OVERALL = ("waiting-input", "blocked", "stuck", "review-needed", "cleanup-needed")


@app.command()
def init(
    ctx: typer.Context,
    default_branch: Optional[str] = typer.Option(None, help="The integration branch (default: detected)."),
    project: Optional[str] = typer.Option(None, help="Project name in the ledger (default: the folder name)."),
    max_concurrency: Optional[int] = typer.Option(None, min=0, help="How many workers may run at once."),
    stale_after: Optional[str] = typer.Option(None, help="No progress for this long means stuck (e.g. 20m)."),
    templates: bool = typer.Option(False, "--templates", help="Also write starter policy.md, packages/README.md, project-map.md (never overwritten)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create .orch/ (ledger, config.toml, reports) in the integration checkout."""
    from orchestrator.ledger import bootstrap

    if stale_after:
        parse_duration(stale_after, "--stale-after")
    paths = g(ctx).paths()
    res = bootstrap.init_repo(paths, g(ctx).db, {"default_branch": default_branch, "project": project,
                                               "max_concurrency": max_concurrency, "stale_after": stale_after})
    starters = []
    if templates:
        from orchestrator.integrations.starters import write_starters

        starters = write_starters(paths.state)
    if json_out:
        emit_json({"created": res.created, "state_dir": str(paths.state), "project": res.settings.project,
                   "default_branch": res.settings.default_branch, **({"templates": starters} if templates else {})},
                  "init")
        return
    for st in starters:
        out.print(f"{'Wrote' if st['written'] else 'Kept existing'} {st['path']}", markup=False)
    verb = "Set up" if res.created else "Already set up; updated"
    out.print(f"{verb} orch in {paths.state} (project {res.settings.project}, default branch {res.settings.default_branch}).")
    if res.created:
        out.print(runnable("Next: `orch dispatch TASK --branch B` for each worker, then `orch tick` (or `orch schedule`)."),
                  markup=False)


@app.command("dispatch")
def dispatch_cmd(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="A new task id, e.g. T1 or fix-login."),
    branch: str = typer.Option(..., "--branch", "-b", help="The worker's branch."),
    worktree: Optional[str] = typer.Option(None, help="The worker's worktree, if it exists already."),
    pending_id: Optional[str] = typer.Option(None, help="A pending worktree id (e.g. Codex App's) to match later."),
    base: Optional[str] = typer.Option(None, help="Base commit or ref (default: fork point from the default branch)."),
    title: Optional[str] = typer.Option(None, help="A short title."),
    package: Optional[str] = typer.Option(None, help="Feature lane the task belongs to."),
    allow: List[str] = typer.Option([], "--allow", help="Glob of paths the worker may change (repeatable)."),
    forbid: List[str] = typer.Option([], "--forbid", help="Glob of paths the worker must not change (repeatable)."),
    gate: List[str] = typer.Option([], "--gate", help="A check command for review (repeatable; run only on request)."),
    agent: str = typer.Option("other", help="codex, claude or other."),
    thread_id: Optional[str] = typer.Option(None, help="The agent's thread or session id."),
    switch_reason: Optional[str] = typer.Option(None, "--switch-reason", help="Why this dispatch leaves the active package lane."),
    instruction: Optional[str] = typer.Option(None, help="The person's latest instruction to the worker (TEXT or @FILE)."),
    constraint: List[str] = typer.Option([], "--constraint", help="A free-text rule for the worker (repeatable)."),
    authority: Optional[str] = typer.Option(None, help="What the worker may do itself: commit (default), push or merge."),
    max_runtime: Optional[str] = typer.Option(None, "--max-runtime", help="Runtime budget, e.g. 2h, or none (default: max_runtime in config)."),
    review_budget: Optional[str] = typer.Option(None, "--review-budget", help="Review budget, e.g. 30m, or none (default: review_budget in config)."),
    accept: List[str] = typer.Option([], "--accept", help="An acceptance criterion the review checks (repeatable)."),
    brief: bool = typer.Option(False, "--brief", help="Print the worker's brief after recording (see `orch brief`)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a task handed to a worker."""
    from orchestrator.ledger.tasks import DispatchRequest, dispatch, prepare
    from orchestrator.report.views import task_view

    from orchestrator.settings import optional_duration

    check_task_key(task)
    runtime = optional_duration(max_runtime, "--max-runtime") if max_runtime is not None else None
    review = optional_duration(review_budget, "--review-budget") if review_budget is not None else None
    ledger = g(ctx).ledger()
    now = utcnow()
    req = DispatchRequest(key=task, branch=branch, worktree=worktree, pending_id=pending_id, base=base, title=title,
                          package=package, allow=allow, forbid=forbid, gates=gate, agent=agent, thread_id=thread_id,
                          instruction=instruction, constraints=constraint, authority=authority or "commit",
                          authority_given=authority is not None, accept=accept,
                          max_runtime=runtime if max_runtime is not None else ledger.settings.max_runtime,
                          review_budget=review if review_budget is not None else ledger.settings.review_budget)
    req.switch_reason = switch_reason
    with ledger.session(readonly=True) as s:
        default_branch = ledger.project(s).default_branch
    prepared = prepare(ledger, req, default_branch)  # git first, with no write lock held
    with ledger.session() as s:
        proj = ledger.project(s)
        t = dispatch(ledger, s, proj, req, now, prepared)
        view = task_view(t, now)
    from orchestrator.ledger.stack import push_warning

    warning = push_warning(prepared.stack or {})
    if warning:
        err.print(warning, markup=False)
    text = info = None
    if brief:
        from orchestrator.cli.brief import brief_text

        text, info = brief_text(ledger, t.key)
    if json_out:
        emit_json({"task": view, **({"brief": {"text": text, **info}} if brief else {})}, "dispatch")
    else:
        where = t.worktree or "waiting for its worktree"
        out.print(f"Recorded {t.key} on {t.branch} ({t.status}; {where}; base {(t.base_commit or '?')[:9]}).", markup=False)
        if text is not None:
            out.print("\n" + text, markup=False, end="")


@app.command()
def tick(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Probe and classify, write nothing, print the report."),
    now: Optional[str] = typer.Option(None, "--now", help="Set the clock (ISO-8601), for replay and tests."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 3 when something needs attention."),
) -> None:
    """One heartbeat: probe, classify, record, report."""
    clock = parse_now(now)
    head_start = _head_start(ctx)  # git runs while the rest loads
    from orchestrator.ledger.lock import TickSkipped
    from orchestrator.report.render import render_markdown
    from orchestrator.tick import run_tick, summary as tick_summary

    ledger = g(ctx).ledger()
    try:
        res = run_tick(ledger, now=clock, dry_run=dry_run, head_start=head_start)
    except TickSkipped as skipped:
        if json_out:
            emit_json({"skipped": True, "note": str(skipped)}, "tick")
        else:
            err.print(f"orch: {skipped}", markup=False)
        return
    ctx_ = res.context
    if json_out:
        emit_json({**ctx_, "dry_run": dry_run, "changes": res.changes}, "tick")
    elif dry_run:
        out.print(render_markdown(ctx_), markup=False, end="")
    else:
        out.print(f"{tick_summary(res)} → {ledger.paths.reports / 'latest.md'}", markup=False)
    if exit_code and ctx_["overall"] in ATTENTION_OVERALL:
        raise typer.Exit(3)


def _head_start(ctx: typer.Context):
    """Start the tick's git probe from a SQLite ledger read with sqlite3, before anything heavy is imported."""
    glob = g(ctx)
    paths = glob.paths()
    if not paths.state.is_dir():
        return None  # not set up: opening the ledger explains
    from orchestrator import tickstart

    return tickstart.claim(paths.root, glob.db) or tickstart.start(paths, glob.settings(), glob.db)


@app.command()
def status(
    ctx: typer.Context,
    md: bool = typer.Option(False, "--md", help="Print the Markdown report instead of the summary."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The latest verdicts from the ledger, without probing: a summary (like `systemctl status`), or --md, --json."""
    from orchestrator.report.snapshot import status_context

    now = utcnow()
    facts = g(ctx).status_facts(now)
    settings = g(ctx).settings()
    ctx_ = status_context(facts, settings, now)
    from orchestrator.system.tickwatch import live_problems

    ctx_["health"]["problems"][:0] = live_problems(g(ctx).paths().state, settings,
                                                   facts["health"].get("last_ok_tick_at"))
    if json_out:
        emit_json(ctx_, "status")
    elif md:
        from orchestrator.report.render import render_markdown

        out.print(render_markdown(ctx_), markup=False, end="")
    else:
        from orchestrator.cli import terminal
        from orchestrator.integrations.schedule_check import live_state

        schedules = terminal.merge_schedules(*terminal.schedule_records(g(ctx), settings))
        from orchestrator.cli.layout import terminal_width

        lines = terminal.status_lines(ctx_, schedules, [live_state(v) for v in schedules],
                                      settings.tick_interval, settings.tick_grace, now,
                                      colour=terminal.use_colour(), width=terminal_width())
        out.print_ansi("\n".join(lines))


@app.command()
def ack(
    ctx: typer.Context,
    note: Optional[str] = typer.Option(None, help="What the orchestrator did about the report."),
    now_at: Optional[str] = typer.Option(None, "--now", help="Set the clock (ISO-8601), for replay and tests."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The orchestrator read the report: the next "since last ack" starts here."""
    from orchestrator.ledger.record import add_event
    from orchestrator.report import context as report_context

    now = parse_now(now_at) or utcnow()
    ledger = g(ctx).ledger()
    with ledger.session() as s:
        proj = ledger.project(s)
        changes, total = report_context.changes_since_ack(s, proj)
        add_event(s, proj, now, "ack", note=note, actor="orchestrator", host=ledger.settings.hostname,
                  data={"changes": total})
    if json_out:
        emit_json({"acknowledged": total, "at": now.isoformat()}, "ack")
    else:
        out.print(f"Acknowledged {total} change(s).", markup=False)


@app.command()
def mode(
    ctx: typer.Context,
    value: Optional[str] = typer.Argument(None, help="active, drain or paused (none: print the current mode)."),
    note: Optional[str] = typer.Option(None, help="Why."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Set the dispatch mode shown to the orchestrator; without a value, print the current one."""
    from orchestrator.ledger.models import MODES
    from orchestrator.ledger.record import add_event
    from orchestrator.timeutil import iso

    if value is None:
        if note is not None:
            raise UserError("--note goes with a new mode: `orch mode drain --note TEXT`")
        ledger = g(ctx).ledger()
        with ledger.session(readonly=True) as s:
            proj = ledger.project(s)
            current, why, since = proj.mode, proj.mode_note, iso(proj.mode_changed_at)
        if json_out:
            emit_json({"mode": current, "note": why, "since": since}, "mode")
        else:
            out.print(f"Mode {current}" + (f" since {since}" if since else "") + (f" ({why})" if why else "") + ".",
                      markup=False)
        return
    choice(value, MODES, "mode")
    ledger = g(ctx).ledger()
    now = utcnow()
    with ledger.session() as s:
        proj = ledger.project(s)
        old = proj.mode
        proj.mode, proj.mode_note, proj.mode_changed_at = value, note, now
        add_event(s, proj, now, "mode", from_value=old, to_value=value, note=note, actor="user")
    if json_out:
        emit_json({"mode": value, "previous": old, "note": note}, "mode")
    else:
        out.print(f"Mode {value} (was {old}).", markup=False)


@app.command()
def demo(
    ctx: typer.Context,
    folder: Optional[Path] = typer.Argument(None, help="An empty or new folder (default: a new temporary folder)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON: the folder, the commands to try, the report."),
) -> None:
    """Build a throwaway repository with five workers in different states and run a tick on it."""
    from orchestrator.report.render import render_markdown

    from orchestrator.demo import build_demo

    root, outcome = build_demo(folder)
    if json_out:
        from orchestrator.cli.hints import orch_word

        word = orch_word()
        emit_json({"root": str(root), "worktrees": str(root.parent / "worktrees"),
                   "try": [f"{word} task list", f"{word} task show T3", f"{word} review T1"],
                   "report": outcome.context}, "demo")
        return
    out.print(render_markdown(outcome.context), markup=False, end="")
    out.print(f"\nDemo repository: {root}\n"
              + runnable(f"Try: cd {shlex.quote(str(root))} && orch task list && orch task show T3 && orch review T1"),
              markup=False)
