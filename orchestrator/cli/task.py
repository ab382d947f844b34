"""`orch task list|show|set`: the tasks, one task in full, and a person's decisions."""

from __future__ import annotations

from typing import List, Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import check_task_key, choice, emit_json, g, out, parse_now
from orchestrator.timeutil import utcnow

task_app = typer.Typer(help="List, show and decide tasks.", no_args_is_help=True)
app.add_typer(task_app, name="task")


@task_app.command("list")
def task_list(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include cleaned tasks."),
    condition: List[str] = typer.Option([], "--condition", "-c", help="Only tasks in this condition (repeatable)."),
    status_: List[str] = typer.Option([], "--status", "-s", help="Only tasks with this status (repeatable)."),
    attention: bool = typer.Option(False, "--attention", "-a", help="Only tasks that need the orchestrator."),
    package: List[str] = typer.Option([], "--package", "-p", help="Only tasks of this package (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print the task ids only, one a line."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Tasks with their status and latest condition: a table in a terminal, one line per task otherwise."""
    from orchestrator.cli import filters, terminal
    from orchestrator.cli.render import print_task_list
    from orchestrator.report.views import task_view

    for value in condition:
        choice(value, filters.CONDITIONS, "condition")
    for value in status_:
        choice(value, filters.TASK_STATUSES, "status")
    now = utcnow()
    records = g(ctx).status_facts(now)["tasks"]
    views = filters.select([task_view(r, now) for r in records], all_=all_, conditions=condition,
                           statuses=status_, attention=attention, packages=package)
    if json_out:
        emit_json({"tasks": views}, "task-list")
    elif quiet:
        for v in views:
            out.print(v["id"], markup=False)
    elif terminal.is_terminal() or not views:
        print_task_list(views)
    else:
        out.print("\n".join(filters.plain_lines(views)), markup=False)


@task_app.command("show")
def task_show(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task id."),
    limit: int = typer.Option(20, min=1, max=1000, help="How many history entries and observations."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One task: condition, evidence, history and recent observations."""
    from orchestrator.cli.render import print_task_show
    from orchestrator.ledger.stack import of as stack_of
    from orchestrator.report.views import brief_state, task_view
    from orchestrator.timeutil import iso

    check_task_key(task)
    now = utcnow()
    data = _read_task(ctx, task, limit)
    t = data.pop("task")
    view = task_view(t, now)
    view.update(allow=t.allow, forbid=t.forbid, gates=t.gates, pending_id=t.pending_id, thread_id=t.thread_id,
                created_at=iso(t.created_at), merged_at=iso(t.merged_at), status_note=t.status_note,
                stack=stack_of(t), accept=list(t.accept or []), brief=brief_state(t, data.pop("default_branch")))
    history, observations = data.pop("history"), data.pop("observations")
    if json_out:
        emit_json({"task": view, "history": history, "observations": observations, **data}, "task-show")
    else:
        print_task_show(view, history, observations, **data)


def _read_task(ctx: typer.Context, key: str, limit: int) -> dict:
    """The task's facts with plain SQL: straight from a current SQLite ledger with sqlite3 (no SQLAlchemy to
    import), else through the opened (and if need be migrated) ledger."""
    from contextlib import closing

    from orchestrator.errors import UserError
    from orchestrator.ledger import taskread
    from orchestrator.report.snapshot import _sqlite_file as sqlite_file

    glob = g(ctx)
    paths = glob.paths()
    if paths.state.is_dir():
        settings = glob.settings()
        db = sqlite_file(settings.ledger_url(glob.db), paths)
        conn = taskread.open_sqlite(db) if db is not None else None
        if conn is not None:
            with closing(conn):
                conn.execute("BEGIN")  # one snapshot for every read
                data = taskread.read(taskread.sqlite_query(conn), settings.project, key, limit)
            if data is not None:
                return data
    ledger = glob.ledger()
    with ledger.engine.connect().execution_options(orch_readonly=True) as conn, conn.begin():
        q = taskread.sqlalchemy_query(conn)
        if taskread.project_id(q, ledger.settings.project) is None:
            ledger.project_missing()
        data = taskread.read(q, ledger.settings.project, key, limit)
    if data is None:
        raise UserError(f"unknown task {key!r} (see `orch task list`)")
    return data


@task_app.command("set")
def task_set(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task id."),
    status: str = typer.Argument(..., help="active, reviewing, merged, rejected, blocked or abandoned."),
    note: Optional[str] = typer.Option(None, help="Why."),
    force: bool = typer.Option(False, "--force", help="Record `merged` although git does not show the task's "
                                                       "commits on the default branch (kept as unverified)."),
    now_at: Optional[str] = typer.Option(None, "--now", help="Set the clock (ISO-8601), for replay and tests."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a decision about a task; `merged` only when git shows the task's commits on the default branch."""
    from orchestrator.ledger.tasks import check_decision, decide, get_task
    from orchestrator.report.views import task_view

    check_task_key(task)
    check_decision(status, force)
    now = parse_now(now_at) or utcnow()
    ledger = g(ctx).ledger()
    evidence = None
    if status == "merged":  # git first, with no write lock held
        from orchestrator.review.decision import merge_evidence

        with ledger.session(readonly=True) as s:
            proj = ledger.project(s)
            t = get_task(s, proj, task)
            if t.status not in ("merged", "cleaned"):
                evidence = merge_evidence(ledger, proj, t, force)
    with ledger.session() as s:
        proj = ledger.project(s)
        t = get_task(s, proj, task)
        evidence = decide(ledger, s, proj, t, status, note, now, force=force, evidence=evidence)
        view = task_view(t, now)
    if json_out:
        emit_json({"task": view, "evidence": evidence}, "task-set")
    else:
        how = ""
        if evidence is not None:
            how = f" (git: {evidence['git']})" if evidence["verified"] else f" (unverified: git shows {evidence['git']})"
        out.print(f"{t.key}: status {t.status}{how}, condition {view['condition']}.", markup=False)
