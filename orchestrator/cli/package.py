"""`orch package ...`: feature packages, the active lane, acceptance on the integration checkout, review packs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from orchestrator.cli import app
from orchestrator.cli.common import choice, emit_json, err, g, out
from orchestrator.cli.hints import runnable
from orchestrator.timeutil import parse_duration

package_app = typer.Typer(help="Feature packages: one lane at a time, acceptance gates, review packs.",
                          no_args_is_help=True)
app.add_typer(package_app, name="package")

GROUP_WORDS = {"running": "running", "waiting-review": "waiting for review", "merged": "merged",
               "dropped": "dropped", "other": "other"}


def _head(ledger) -> str | None:
    from orchestrator.system.gitrun import run_git

    res = run_git(ledger.paths.root, "rev-parse", "--verify", "--quiet", "HEAD")
    return res.text().strip() if res.ok else None


def _status(ledger, name: str) -> dict:
    from orchestrator.ledger import packages as pk

    pk.check_name(name)
    head = _head(ledger)
    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        return pk.status(s, proj, pk.get(s, proj, name), head)


def _print_status(st: dict, lane: dict) -> None:
    active = ""
    if st["active"]:
        active = f", the active lane since {lane.get('since')}" + (f" ({lane['reason']})" if lane.get("reason") else "")
    out.print(f"package {st['name']}: {st['status']}{active}", markup=False)
    out.print(f"goal: {st['goal']}", markup=False)
    out.print(f"spec: {st['spec'] or 'none'}", markup=False)
    parts = [f"{GROUP_WORDS[k]} {', '.join(v)}" for k, v in st["tasks"].items() if v]
    out.print("tasks: " + ("; ".join(parts) if parts else "none yet (`orch dispatch T --branch B --package NAME`)"),
              markup=False)
    out.print(f"acceptance gates (integration HEAD {(st['head'] or '?')[:9]}):" if st["gates"]
              else "acceptance gates: none", markup=False)
    for gt in st["gates"]:
        run = gt["last_run"]
        when = f" on {(run['commit'] or '?')[:9]}, {run['started_at']}, host {run['host']}" if run else ""
        out.print(f"  [{gt['state']}] {gt['gate']}{when}", markup=False)
    for r in st["reviews"]:
        out.print(f"outside review: {r['reviewer']} {r['status']} at {r['at']}" +
                  (f": {r['summary']}" if r.get("summary") else ""), markup=False)
    if st["status"] == "closed":
        out.print(f"closed at {st['closed_at']}" + (f": {st['close_note']}" if st["close_note"] else ""), markup=False)
    elif st["blocks_close"]:
        for b in st["blocks_close"]:
            out.print(f"blocks close: {b}", markup=False)
    else:
        out.print(f"nothing blocks closing: `orch package close {st['name']}`", markup=False)


@package_app.command("add")
def add_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A new package name, e.g. search."),
    goal: str = typer.Option(..., "--goal", help="What the package delivers, in a sentence."),
    accept: List[str] = typer.Option([], "--accept", help="An acceptance gate command, run on the integration checkout (repeatable)."),
    spec: Optional[str] = typer.Option(None, "--spec", help="A spec file, kept as .orch/packages/NAME.md."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record a feature package with its goal, acceptance gates and spec."""
    from orchestrator.ledger import packages as pk
    from orchestrator.timeutil import utcnow

    pk.check_name(name)
    ledger = g(ctx).ledger()
    with ledger.session() as s:
        proj = ledger.project(s)
        pkg = pk.add(s, proj, ledger.paths.root, name, goal, list(accept), spec, utcnow(), ledger.settings.hostname)
        st = pk.status(s, proj, pkg, None)
    if json_out:
        emit_json({"package": st}, "package-add")
    else:
        out.print(runnable(f"Recorded package {name} ({len(accept)} acceptance gate(s); spec {st['spec'] or 'none'}). "
                           f"Make it the active lane: `orch package switch {name} --reason TEXT`."), markup=False)


@package_app.command("list")
def list_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Packages with their task counts, acceptance state and the active lane."""
    from orchestrator.ledger import packages as pk

    ledger = g(ctx).ledger()
    head = _head(ledger)
    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        lane = pk.lane(s, proj)
        rows = [pk.status(s, proj, p, head) for p in pk.all_packages(s, proj)]
    if json_out:
        emit_json({"lane": lane or None, "packages": rows}, "package-list")
        return
    none = runnable("active lane: none (`orch package switch NAME --reason TEXT`)")
    out.print(f"active lane: {lane['name']}" if lane else none, markup=False)
    for st in rows:
        counts = ", ".join(f"{len(v)} {GROUP_WORDS[k]}" for k, v in st["tasks"].items() if v) or "no tasks"
        passed = sum(1 for gt in st["gates"] if gt["state"] == "pass")
        close = "closed" if st["status"] == "closed" else ("can close" if st["can_close"] else
                                                           f"{len(st['blocks_close'])} blocker(s)")
        mark = "*" if st["active"] else " "
        out.print(f"{mark} {st['name']}: {counts}; acceptance {passed}/{len(st['gates'])} passed; {close}", markup=False)
    if not rows:
        out.print("no packages yet: `orch package add NAME --goal TEXT`", markup=False)


@package_app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Package name."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One package: goal, tasks by condition, last acceptance runs, outside reviews, what blocks closing."""
    from orchestrator.ledger import packages as pk

    ledger = g(ctx).ledger()
    st = _status(ledger, name)
    with ledger.session(readonly=True) as s:
        proj = ledger.project(s)
        lane = pk.lane(s, proj)
        switches = pk.switch_dicts(s, proj, name)
    if json_out:
        emit_json({"package": st, "lane": lane or None, "switches": switches}, "package-show")
    else:
        _print_status(st, lane)


@package_app.command("switch")
def switch_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The package to make the active lane."),
    reason: str = typer.Option(..., "--reason", help="Why the lane changes (recorded)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Set the active lane: new workers go into this package."""
    from orchestrator.errors import UserError
    from orchestrator.ledger import packages as pk
    from orchestrator.timeutil import utcnow

    pk.check_name(name)
    if not reason.strip():
        raise UserError("--reason must not be empty")
    ledger = g(ctx).ledger()
    with ledger.session() as s:
        proj = ledger.project(s)
        pkg = pk.get(s, proj, name)
        if pkg.status == "closed":
            raise UserError(f"package {name!r} is closed; it cannot be the active lane")
        prev = pk.lane(s, proj).get("name")
        ev = pk.switch(s, proj, name, reason, utcnow(), host=ledger.settings.hostname)
    if json_out:
        emit_json({"lane": name, "previous": prev, "changed": ev is not None, "reason": reason}, "package-switch")
    elif ev is None:
        out.print(f"{name} is the active lane already.", markup=False)
    else:
        out.print(f"Active lane {name} (was {prev or 'none'}).", markup=False)


@package_app.command("close")
def close_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Package name."),
    force: bool = typer.Option(False, "--force", help="Close although work is open or gates have not passed."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (required with --force)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Close a package: refused while tasks are open or acceptance gates have not passed on HEAD."""
    from orchestrator.ledger import packages as pk
    from orchestrator.timeutil import utcnow

    pk.check_name(name)
    ledger = g(ctx).ledger()
    head = _head(ledger)
    with ledger.session() as s:
        proj = ledger.project(s)
        overridden = pk.close(s, proj, pk.get(s, proj, name), head, force, reason, utcnow(), ledger.settings.hostname)
    if json_out:
        emit_json({"package": name, "closed": True, "overridden": overridden, "reason": reason}, "package-close")
    else:
        out.print(f"Closed package {name}" + (f", overriding: {'; '.join(overridden)}" if overridden else "") + ".",
                  markup=False)


@package_app.command("accept")
def accept_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Package name."),
    run: bool = typer.Option(False, "--run", help="Run the acceptance gates now, on the integration checkout's HEAD."),
    gate_timeout: Optional[str] = typer.Option(None, "--gate-timeout", help="Kill a gate after this long (default: gate_timeout in config, 10m)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Acceptance: the package's gates on the integration branch, and merge-readiness of each task."""
    from orchestrator.ledger import packages as pk
    from orchestrator.review.package_review import integration_state, readiness, run_acceptance

    pk.check_name(name)
    timeout = parse_duration(gate_timeout, "--gate-timeout") if gate_timeout else None
    ledger = g(ctx).ledger()
    timeout = timeout or ledger.settings.gate_timeout
    _status(ledger, name)  # unknown package: one line, before anything runs
    if run:
        integ, _ = run_acceptance(ledger, name, timeout.total_seconds(), say=lambda m: err.print(m, markup=False))
    else:
        integ = integration_state(str(ledger.paths.root), max(ledger.settings.git_timeout.total_seconds(), 30.0))
    st = _status(ledger, name)
    with ledger.session(readonly=True) as s:
        tasks = readiness(ledger, s, ledger.project(s), name)
    gates_ok = all(gt["state"] == "pass" for gt in st["gates"])
    ready = gates_ok and all(t["merged"] for t in tasks)
    if json_out:
        emit_json({"package": name, "head": integ.head, "branch": integ.branch, "dirty": integ.dirty[:20],
                   "ran": run, "gates": st["gates"], "gates_passed": gates_ok, "tasks": tasks,
                   "blocks_close": st["blocks_close"], "ready": ready}, "package-accept")
        return
    out.print(f"acceptance {name} on {integ.branch or 'detached HEAD'} at {(integ.head or '?')[:9]}"
              + (f" ({len(integ.dirty)} uncommitted change(s))" if integ.dirty else ""), markup=False)
    for gt in st["gates"]:
        r = gt["last_run"]
        detail = (f"exit {r['exit_code']}" if not r["timed_out"] else "timed out") + f" on {(r['commit'] or '?')[:9]}" if r else "never run"
        out.print(f"  [{gt['state']}] {gt['gate']} ({detail})", markup=False)
        if r and gt["state"] in ("fail", "timeout"):
            for line in [ln for ln in (r["output_tail"] or "").splitlines() if ln.strip()][-5:]:
                out.print(f"      {line}", markup=False)
    if not st["gates"]:
        out.print("  no acceptance gates recorded", markup=False)
    for t in tasks:
        state = "merged" if t["merged"] else ("ready to merge" if t["ready"] else "not ready")
        out.print(f"  {t['task']}: {state} (review verdict {t['verdict']}, status {t['status']})", markup=False)
    out.print("ready to close" if ready and not st["blocks_close"] else
              "not ready: " + "; ".join(st["blocks_close"] or ["see above"]), markup=False)


@package_app.command("pack")
def pack_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Package name."),
    out_dir: Path = typer.Option(..., "--out", help="A new or empty folder for the pack."),
    force: bool = typer.Option(False, "--force", help="Replace an earlier pack in a non-empty folder."),
    max_diff_bytes: int = typer.Option(262144, "--max-diff-bytes", min=1024, help="Cut each task's diff file at this size."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Write a review pack for a second reviewer: README.md, pack.json, one diff per task."""
    from orchestrator.errors import UserError
    from orchestrator.review import pack

    from orchestrator.ledger import packages as pk

    pk.check_name(name)
    target = out_dir.expanduser()
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UserError(f"{target} is not empty: choose a new folder, or pass --force to replace a pack there")
    ledger = g(ctx).ledger()
    facts, files = pack.build(ledger, name, max_diff_bytes)
    written = pack.write(target, files, force)
    cut = [t["task"] for t in facts["tasks"] if t["diff"]["cut"]]
    if json_out:
        emit_json({"package": name, "out": str(target.resolve()), "files": written, "cut": cut}, "package-pack")
    else:
        out.print(f"Wrote review pack for {name} to {target}: {len(written)} file(s)"
                  + (f"; diff cut for {', '.join(cut)}" if cut else "") + ".", markup=False)


@package_app.command("review-import")
def review_import_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Package name."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who reviewed (a person or a model)."),
    file: str = typer.Option(..., "--file", help="The review's findings file."),
    status: str = typer.Option(..., "--status", help="passed or failed."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Record an outside review of a package; it shows in the package's status."""
    from orchestrator.ledger import packages as pk
    from orchestrator.timeutil import utcnow

    pk.check_name(name)
    choice(status, pk.REVIEW_STATUSES, "status")
    ledger = g(ctx).ledger()
    with ledger.session() as s:
        proj = ledger.project(s)
        rec = pk.import_review(s, proj, pk.get(s, proj, name), reviewer, file, status, utcnow(),
                               ledger.settings.hostname)
    if json_out:
        emit_json({"package": name, "review": rec}, "package-review-import")
    else:
        out.print(f"Recorded review of {name} by {rec['reviewer']}: {status}.", markup=False)
