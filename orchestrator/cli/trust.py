"""`orch misalign record|list|resolve` and `orch trust`: what workers did beyond what they were given or said."""

from __future__ import annotations

from typing import Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import check_task_key, emit_json, g, out

misalign_app = typer.Typer(help="Misalignment events: record, list and resolve them.", no_args_is_help=True)
app.add_typer(misalign_app, name="misalign")

CATEGORY_HELP = ("constraint-violation, authority-exceeded, self-report-mismatch, pushback, overreach, "
                 "setup-failure, heartbeat-gap, package-drift or rules-changed")


def _line(m: dict, indent: str = "") -> str:
    """One item, then where its evidence is and what to do next (when the tick recorded them)."""
    from orchestrator.report.trustview import pointer_text

    state = f"resolved {m['resolved_at'][:16]}" if m.get("resolved_at") else "open"
    lines = [f"{indent}#{m['id']} {m['severity']:<6} {m['category']:<20} {m['task'] or '-':<12} "
             f"[{m['evidence_kind']}] {m['text']}" + (f" ({state})" if "resolved_at" in m else "")]
    where = m.get("where") or pointer_text(m.get("pointer"))
    if where:
        lines.append(f"{indent}    evidence: {where}")
    if m.get("next") and not m.get("resolved_at"):
        lines.append(f"{indent}    next: {m['next']}")
    return "\n".join(lines)


@misalign_app.command("record")
def misalign_record(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task id."),
    category: str = typer.Option(..., help=CATEGORY_HELP + "."),
    severity: str = typer.Option("medium", help="low, medium or high."),
    note: str = typer.Option(..., help="What happened: the evidence, in a sentence."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a misalignment you saw yourself (pushback you gave, overreach, a setup failure, ...)."""
    check_task_key(task)
    import uuid

    from orchestrator.errors import UserError
    from orchestrator.ledger import misalign
    from orchestrator.ledger.tasks import get_task
    from orchestrator.timeutil import utcnow

    if not note.strip():
        raise UserError("--note is empty: say what happened")
    ledger = g(ctx).ledger()
    now = utcnow()
    with ledger.session() as s:
        proj = ledger.project(s)
        t = get_task(s, proj, task)
        m = misalign.record(s, proj, t, category=category, severity=severity, evidence_kind="manual",
                            evidence=note, key=f"manual:{uuid.uuid4().hex}", now=now, actor="orchestrator")
        s.flush()
        item = misalign.view(m, t.key)
    if json_out:
        emit_json({"misalignment": item}, "misalign-record")
    else:
        out.print(f"Recorded #{item['id']}: {item['severity']} {item['category']} on {t.key}.", markup=False)


@misalign_app.command("list")
def misalign_list(
    ctx: typer.Context,
    open_only: bool = typer.Option(False, "--open", help="Only the ones not resolved yet."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Misalignments, open ones first, most severe first."""
    from orchestrator.ledger import misalign

    ledger = g(ctx).ledger()
    with ledger.session(readonly=True) as s:
        items = misalign.list_items(s, ledger.project(s), open_only=open_only)
    if json_out:
        emit_json({"misalignments": items}, "misalign-list")
        return
    if not items:
        out.print("No open misalignments." if open_only else "No misalignments recorded.", markup=False)
    for m in items:
        out.print(_line(m), markup=False)


@misalign_app.command("resolve")
def misalign_resolve(
    ctx: typer.Context,
    item_id: str = typer.Argument(..., help="The misalignment's number as `orch misalign list` shows it: 2 or #2."),
    note: Optional[str] = typer.Option(None, help="How it was handled."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Mark a misalignment as handled; it stays in the ledger, closed."""
    from orchestrator.errors import UserError
    from orchestrator.ledger import misalign
    from orchestrator.ledger.models import Task
    from orchestrator.timeutil import utcnow

    number = item_id.strip().removeprefix("#")
    if not (number.isascii() and number.isdigit() and len(number) < 10):
        raise UserError(f"invalid misalignment number {item_id!r}: give it as `orch misalign list` shows it (2 or #2)")
    ledger = g(ctx).ledger()
    now = utcnow()
    with ledger.session() as s:
        proj = ledger.project(s)
        m = misalign.resolve(s, proj, int(number), note, now)
        key = s.get(Task, m.task_id).key if m.task_id else None
        item = misalign.view(m, key)
    if json_out:
        emit_json({"misalignment": item}, "misalign-resolve")
    else:
        out.print(f"Resolved #{item['id']} ({item['category']} on {key or '-'}).", markup=False)


@app.command("trust")
def trust_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The trust picture: risk, open misalignments, and each task's claims with their verdicts."""
    from orchestrator.report.trust import trust_context

    ledger = g(ctx).ledger()
    with ledger.session(readonly=True) as s:
        data = trust_context(s, ledger.project(s))
    if json_out:
        emit_json(data, "trust")
        return
    out.print(f"Trust risk: {data['risk']} ({len(data['open'])} open misalignment(s)).", markup=False)
    for m in data["open"]:
        out.print(_line(m, "  "), markup=False)
    for t in data["claims"]:
        out.print(f"{t['task']} claims:", markup=False)
        for c in t["claims"]:
            out.print(f"  {c['verdict']:<12} {c['kind']:<12} \"{c['text']}\" ({c.get('why', '')})", markup=False)
