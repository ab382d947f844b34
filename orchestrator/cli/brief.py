"""`orch brief TASK` (the worker's brief, from its dispatch record) and `orch task amend` (change that record)."""

from __future__ import annotations

from typing import List, Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import check_task_key, emit_json, g, out
from orchestrator.cli.task import task_app
from orchestrator.timeutil import utcnow


def brief_text(ledger, key: str, record: bool = True) -> tuple[str, dict]:
    """Render a task's brief; with `record`, store its hash as the version the worker was given."""
    from orchestrator.ledger import brief, briefcheck
    from orchestrator.ledger.tasks import get_task
    from orchestrator.report.brief import render

    now = utcnow()
    with ledger.session(readonly=not record) as s:
        proj = ledger.project(s)
        t = get_task(s, proj, key)
        rec = brief.record(t, proj.default_branch)
        d = brief.digest(rec)
        if record:
            brief.mark_printed(t, rec, now)
            briefcheck.rebriefed(s, proj, t, now)
    return render(rec, d["hash"]), {"hash": d["hash"], "parts": d["parts"], "recorded": record}


@app.command("brief")
def brief_cmd(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task id."),
    no_record: bool = typer.Option(False, "--no-record", help="Only show it: do not record it as given to the worker."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (the Markdown in `text`)."),
) -> None:
    """The brief to hand to the worker (Markdown), from the task's dispatch record; records its hash."""
    check_task_key(task)
    text, info = brief_text(g(ctx).ledger(), task, record=not no_record)
    if json_out:
        emit_json({"task": task, "text": text, **info}, "brief")
    else:
        out.print(text, markup=False, end="")


@task_app.command("amend")
def task_amend(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task id."),
    max_runtime: Optional[str] = typer.Option(None, "--max-runtime", help="New runtime budget (e.g. 3h), or none."),
    review_budget: Optional[str] = typer.Option(None, "--review-budget", help="New review budget (e.g. 1h), or none."),
    accept: List[str] = typer.Option([], "--accept", help="Add an acceptance criterion (repeatable)."),
    constraint: List[str] = typer.Option([], "--constraint", help="Add a constraint (repeatable)."),
    allow: List[str] = typer.Option([], "--allow", help="Add an allowed glob (repeatable)."),
    forbid: List[str] = typer.Option([], "--forbid", help="Add a forbidden glob (repeatable)."),
    gate: List[str] = typer.Option([], "--gate", help="Add a gate command (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Change a task's dispatch record (budgets; add criteria, constraints, paths, gates): re-brief the worker after."""
    from orchestrator.ledger.amend import UNSET, Amendment, amend
    from orchestrator.ledger.tasks import get_task
    from orchestrator.report.views import brief_state
    from orchestrator.settings import optional_duration

    check_task_key(task)
    a = Amendment(max_runtime=optional_duration(max_runtime, "--max-runtime") if max_runtime is not None else UNSET,
                  review_budget=optional_duration(review_budget, "--review-budget") if review_budget is not None
                  else UNSET, accept=accept, constraints=constraint, allow=allow, forbid=forbid, gates=gate)
    ledger = g(ctx).ledger()
    now = utcnow()
    with ledger.session() as s:
        proj = ledger.project(s)
        t = get_task(s, proj, task)
        done = amend(s, proj, t, a, now)
        st = brief_state(t, proj.default_branch)
    if json_out:
        emit_json({"task": task, "changed": done, "brief": st}, "task-amend")
        return
    out.print(f"{task}: {'; '.join(done)}.", markup=False)
    if st and st["stale"]:
        out.print(f"The worker was briefed on an older version: `orch brief {task}` prints the new one.", markup=False)
