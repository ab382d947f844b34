"""`orch review TASK` (the checklist, gates on request) and `orch cleanup` (leftovers of decided tasks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from orchestrator.cli import app
from orchestrator import bounded
from orchestrator.cli.common import check_task_key, emit_json, err, g, out
from orchestrator.cli.hints import runnable
from orchestrator.timeutil import parse_duration

if TYPE_CHECKING:  # the engines are imported by the commands that use them, not at every start-up
    from orchestrator.review.cleanup import Plan
    from orchestrator.review.checklist import GitState, Item, TaskFacts


def _facts(ledger, task: str) -> tuple[TaskFacts, dict, dict]:
    """The checklist's facts, the latest gate runs, and the last verdict (for the rescue) of one task."""
    from orchestrator.review.checklist import TaskFacts, gate_run_dict, latest_gate_runs
    from orchestrator.ledger.tasks import get_task

    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        t = get_task(s, proj, task)
        facts = TaskFacts(id=t.id, key=t.key, branch=t.branch, worktree=t.worktree, base=t.base_commit,
                          allow=list(t.allow or []), forbid=list(t.forbid or []), gates=list(t.gates or []),
                          host=t.host, status=t.status, default_branch=proj.default_branch,
                          this_host=ledger.settings.hostname)
        runs = {gate: gate_run_dict(r) for gate, r in latest_gate_runs(s, t.id).items()}
        last = {"condition": t.condition, "reason": t.reason, "progress_at": t.progress_at,
                "budget": ((t.extra or {}).get("verdict") or {}).get("budget") or {}, "accept": list(t.accept or [])}
    return facts, runs, last


def _rescue(t: TaskFacts, st: GitState, last: dict, timeout: float) -> dict | None:
    """For a stuck, silent or over-budget task: what its worktree holds and what to do (writes nothing)."""
    from orchestrator.review import rescue
    from orchestrator.timeutil import as_utc, utcnow

    if not rescue.wanted(last["condition"], last["budget"]):
        return None
    facts = rescue.gather(t.worktree, t.base, timeout) if st.worktree_ok else rescue.WorkFacts(error=st.worktree_reason)
    progress = as_utc(last["progress_at"]) if last["progress_at"] else None
    return rescue.recommend(facts, t.key, last["condition"], last["reason"], last["budget"], progress, utcnow())


def _claims_item(ledger, task: str) -> Item:
    from orchestrator.ledger import misalign
    from orchestrator.ledger.tasks import get_task
    from orchestrator.review.trustitem import item_claims

    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        t = get_task(s, proj, task)
        return item_claims(list((t.extra or {}).get("claims") or []), misalign.list_items(s, proj, open_only=True,
                                                                                           task=t))


def _run_gates(ledger, t: TaskFacts, st: GitState, timeout: float) -> list[Item]:
    from orchestrator.review.checklist import gate_item
    from orchestrator.review.gates import record_gate, run_gate

    items = []
    if not st.worktree_ok:
        return [gate_item(i, gate, None, st, t, True, blocked_reason=f"cannot run: {st.worktree_reason}")
                for i, gate in enumerate(t.gates, 1)]
    n = len(t.gates)
    for i, gate in enumerate(t.gates, 1):
        label = f"gate {i}/{n}: {gate}"
        if err.is_terminal:
            with err.status(label, spinner="dots") as status:
                outcome = run_gate(gate, t.worktree, timeout,
                                   progress=lambda el: status.update(f"{label}  ({el:.0f}s of {timeout:g}s)"))
        else:
            err.print(f"{label} …", markup=False)
            outcome = run_gate(gate, t.worktree, timeout)
        result = "timed out" if outcome.timed_out else ("passed" if outcome.passed else f"failed (exit {outcome.exit_code})")
        err.print(f"{label}: {result} in {outcome.duration_ms / 1000:.1f}s", markup=False)
        run = record_gate(ledger, t.id, outcome, st.worktree_head, t.this_host)
        items.append(gate_item(i, gate, run, st, t, True))
    return items


@app.command("review")
def review_cmd(
    ctx: typer.Context,
    task: str = typer.Argument(..., help="Task id."),
    run_gates: bool = typer.Option(False, "--run-gates", help="Run the task's gate commands now, in its worktree."),
    gate_timeout: Optional[str] = typer.Option(None, "--gate-timeout", help="Kill a gate after this long (default: gate_timeout in config, 10m)."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 0 ready, 1 ready-with-warnings, 3 needs-work "
                                                              "or blocked."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The review checklist for a task: worktree, commits, write set, whitespace, mergeability, gates."""
    from orchestrator.review.checklist import Item, gate_item, git_items, git_state, verdict

    check_task_key(task)
    timeout = parse_duration(gate_timeout, "--gate-timeout") if gate_timeout else None
    ledger = g(ctx).ledger()
    if timeout is None:
        timeout = ledger.settings.gate_timeout
    t, runs, last = _facts(ledger, task)
    git_timeout = max(ledger.settings.git_timeout.total_seconds(), 30.0)
    st = git_state(t, str(ledger.paths.root), git_timeout)
    rescue = _rescue(t, st, last, git_timeout)
    items, commits, files = git_items(t, st)
    if run_gates:
        gates = _run_gates(ledger, t, st, timeout.total_seconds())
        if items[0].status == "fail":  # the gates saw uncommitted changes, not only the commit recorded
            for i in gates:
                if i.evidence != "blocked":
                    i.detail += " (the worktree had uncommitted changes)"
        items += gates
    else:
        items += [gate_item(i, gate, runs.get(gate), st, t, False) for i, gate in enumerate(t.gates, 1)]
    if not t.gates:
        items.append(Item("gates", "gates", "pass", "direct", "no gates recorded at dispatch"))
    items.append(_claims_item(ledger, task))
    result = verdict(items)
    counts = {k: sum(1 for i in items if i.status == k) for k in ("pass", "warn", "fail")}
    counts["blocked"] = sum(1 for i in items if i.evidence == "blocked")
    if json_out:
        emit_json({"task": t.key, "branch": t.branch, "worktree": t.worktree, "base": t.base,
                   "head": st.branch_head, "default_branch": t.default_branch, "status": t.status,
                   "verdict": result, "counts": counts, "items": [i.as_dict() for i in items],
                   "commits": commits, **bounded.field("files", files), "gates_run": run_gates,
                   "accept": last["accept"], "rescue": rescue}, "review")
        _verdict_exit(result, exit_code)
        return
    head = st.branch_head[:9] if st.branch_head else "missing"
    out.print(f"review {t.key}: branch {t.branch}, base {(t.base or '?')[:9]}, head {head}, status {t.status}",
              markup=False)
    if rescue is not None:
        from orchestrator.review.rescue import lines as rescue_lines

        out.print("\n".join(rescue_lines(rescue)), markup=False)
    for line in checklist_lines(items):
        out.print(line, markup=False)
    for a in last["accept"]:
        out.print(f"[check] accept: {a} (by hand: an acceptance criterion from the dispatch)", markup=False)
    out.print(f"verdict: {result} ({verdict_counts(items)})", markup=False)
    _verdict_exit(result, exit_code)


def checklist_lines(items) -> list[str]:
    """`[status] item: detail (evidence: E)`: the evidence label last and named, so that `blocked` (the check could
    not run) never reads as part of the item's name ("blocked gate")."""
    out_ = []
    for i in items:
        out_.append(f"[{i.status}] {i.name}: {i.detail} (evidence: {i.evidence})")
        out_ += [f"       {line}" for line in i.lines]
    return out_


def verdict_counts(items) -> str:
    """`5 pass, 1 warn, 1 fail; 1 could not be checked`: the statuses add up to the lines shown; the checks that
    could not run (evidence `blocked`) are among them, said apart."""
    counts = {k: sum(1 for i in items if i.status == k) for k in ("pass", "warn", "fail")}
    text = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    blocked = sum(1 for i in items if i.evidence == "blocked")
    return text + (f"; {blocked} of them could not be checked" if blocked else "")


VERDICT_EXIT = {"ready": 0, "ready-with-warnings": 1, "needs-work": 3, "blocked": 3}


def _verdict_exit(result: str, wanted: bool) -> None:
    """With --exit-code, the verdict as the exit code (0 ready, 1 ready-with-warnings, 3 needs-work or blocked)."""
    code = VERDICT_EXIT.get(result, 3) if wanted else 0
    if code:
        raise typer.Exit(code)


def _print_plan(p: Plan, apply: bool) -> None:
    if not p.entries:
        out.print("Nothing to clean up: no decided task has a worktree or branch left.", markup=False)
    for e in p.entries:
        if apply:
            kept = [x for x in e.plan_text() if x.endswith("stays")]
            if e.cleaned:
                head = f"{e.task}: cleaned (removed {', '.join(e.removed) or 'nothing; already gone'})"
            else:
                done = f"removed {', '.join(e.removed)}; " if e.removed else ""
                stays = "; ".join(k.rsplit(":", 1)[0] for k in kept) or "what failed below"
                head = f"{e.task}: {done}kept {stays}"
        else:
            head = f"{e.task}: " + ("; ".join(e.plan_text()) or "nothing left on disk; may be marked cleaned")
        out.print(head, markup=False)
        out.print(f"    why: {'; '.join(e.why)}", markup=False)
        for b in e.blockers:
            overridable = b in e.forceable
            suffix = (" — overridden by --force" if e.forced else f" (--force {e.task} overrides)") if overridable else ""
            out.print(f"    blocks: {b}{suffix}", markup=False)
        gone = any(x.startswith("worktree ") for x in e.removed)
        if e.forced and e.worktree_files and (gone if apply else e.worktree_may_go):
            verb = "deleted with the worktree" if apply else "--apply deletes with the worktree"
            shown = e.worktree_files[:20]
            more = f" … and {len(e.worktree_files) - 20} more" if len(e.worktree_files) > 20 else ""
            out.print(f"    {verb}: {', '.join(shown)}{more}", markup=False)
        for x in e.errors:
            out.print(f"    error: {x}", markup=False)
    for x in p.left_alone:
        out.print(f"{x['task']}: {x['why']} (status {x['status']})", markup=False)
    if not apply and p.entries:
        out.print(runnable("Dry run: nothing changed. `orch cleanup --apply` removes what may go."), markup=False)


@app.command("cleanup")
def cleanup_cmd(
    ctx: typer.Context,
    apply: bool = typer.Option(False, "--apply", help="Remove what may go (default: only list it)."),
    force: List[str] = typer.Option([], "--force", help="Also remove this decided task's dirty worktree and unmerged branch (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Worktrees and branches of decided tasks (merged, rejected, abandoned) that can go."""
    from orchestrator.review.cleanup import run_cleanup

    for key in force:
        check_task_key(key)
    ledger = g(ctx).ledger()
    p = run_cleanup(ledger, apply, list(force))
    if json_out:
        emit_json({"applied": p.applied, "entries": [e.as_dict() for e in p.entries], "left_alone": p.left_alone},
                  "cleanup")
    else:
        _print_plan(p, apply)
    if apply and any(e.errors for e in p.entries):
        raise typer.Exit(1)  # git refused part of what the plan said would go (each error printed above)
