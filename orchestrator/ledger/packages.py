"""Feature packages: records, the active lane and its dispatch guard, acceptance runs, outside reviews, status."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.errors import UserError
from orchestrator.ledger import kv
from orchestrator.ledger.models import Event, Package, PackageGateRun, Project, Task
from orchestrator.ledger.record import add_event
from orchestrator.redact import redact
from orchestrator.timeutil import iso

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LANE_KEY = "package-lane"  # kv row (host "") holding the active lane: {"name", "since", "reason"}
RUNNING = ("setup-pending", "setup-overdue", "working", "waiting-input", "stuck", "finished-uncommitted", "no-output")
REVIEW = ("finished", "reviewing")
GROUPS = ("running", "waiting-review", "merged", "dropped", "other")
REVIEW_STATUSES = ("passed", "failed")
REVIEW_TEXT_MAX = 8000


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise UserError(f"invalid package name {name!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)")
    return name


def find(s: Session, proj: Project, name: str) -> Package | None:
    return s.scalars(select(Package).where(Package.project_id == proj.id, Package.name == name)).first()


def get(s: Session, proj: Project, name: str) -> Package:
    pkg = find(s, proj, name)
    if pkg is None:
        raise UserError(f"unknown package {name!r} (see `orch package list`)")
    return pkg


def all_packages(s: Session, proj: Project) -> list[Package]:
    return list(s.scalars(select(Package).where(Package.project_id == proj.id).order_by(Package.name)))


def spec_relpath(name: str) -> str:
    return f".orch/packages/{name}.md"


def add(s: Session, proj: Project, root: Path, name: str, goal: str, accept: list[str], spec_file: str | None,
        now: datetime, host: str) -> Package:
    """Record a new package; its spec (if given) is copied to .orch/packages/NAME.md."""
    check_name(name)
    if not goal or not goal.strip():
        raise UserError("--goal must not be empty")
    if find(s, proj, name) is not None:
        raise UserError(f"package {name!r} already exists (see `orch package show {name}`)")
    if any(not a.strip() for a in accept):
        raise UserError("--accept must not be empty")
    kept = root / spec_relpath(name)
    spec = None
    if spec_file is not None:
        src = Path(spec_file).expanduser()
        if not src.is_file():
            raise UserError(f"spec file {spec_file!r} does not exist")
        kept.parent.mkdir(parents=True, exist_ok=True)
        if src.resolve() != kept.resolve():
            shutil.copyfile(src, kept)
        spec = spec_relpath(name)
    elif kept.is_file():
        spec = spec_relpath(name)  # a spec written there by hand before `add`
    pkg = Package(project_id=proj.id, name=name, goal=goal.strip(), spec=spec, accept=list(accept), status="open",
                  created_at=now, updated_at=now, extra={})
    s.add(pkg)
    s.flush()
    add_event(s, proj, now, "package-add", to_value=name[:64], note=goal.strip(), actor="user", host=host,
              data={"package": name, "accept": list(accept), "spec": spec})
    return pkg


# --- the active lane -------------------------------------------------------------------------------------------

def lane(s: Session, proj: Project) -> dict:
    """The active lane: {"name", "since", "reason"}, or {} when none was chosen."""
    value = kv.get(s, proj, "", LANE_KEY)
    return value if value.get("name") else {}


def _record_drift(s: Session, proj: Project, task: Task | None, *, evidence: str, key: str, now: datetime,
                  actor: str) -> bool:
    """A lane switch without a reason is a `package-drift` misalignment (besides its `package-switch` event)."""
    from orchestrator.ledger import misalign

    return misalign.record(s, proj, task, category="package-drift", severity="medium", evidence_kind="ledger",
                           evidence=evidence, key=key, now=now, actor=actor) is not None


def switch(s: Session, proj: Project, to: str | None, reason: str | None, now: datetime, *, actor: str = "user",
           host: str | None = None, via: str = "switch") -> Event | None:
    """Make `to` the active lane (None: no lane); an event every time, flagged as drift without a reason."""
    prev = lane(s, proj).get("name")
    if prev == to:
        return None
    reason = reason.strip() if reason and reason.strip() else None
    kv.put(s, proj, "", LANE_KEY, {"name": to, "since": iso(now), "reason": reason} if to else {}, now)
    drift = reason is None and prev is not None and to is not None
    ev = add_event(s, proj, now, "package-switch", from_value=(prev or None) and prev[:64],
                   to_value=to[:64] if to else None, reason="drift" if drift else via, note=reason, actor=actor,
                   host=host, data={"package": to, "from": prev, "reason": reason, "drift": drift, "via": via})
    if drift:
        _record_drift(s, proj, None, evidence=f"lane switched from {prev} to {to} without a reason (via {via})",
                      key=f"package-drift:{prev}->{to}:{iso(now)}", now=now, actor=actor)
    return ev


def running_in(s: Session, proj: Project, name: str) -> list[Task]:
    rows = s.scalars(select(Task).where(Task.project_id == proj.id, Task.package == name,
                                        Task.status.in_(("setup", "active"))).order_by(Task.id))
    return [t for t in rows if t.condition is None or t.condition in RUNNING]


def guard_dispatch(s: Session, proj: Project, package: str | None, switch_reason: str | None, now: datetime,
                   host: str) -> None:
    """The lane guard: refuse a dispatch outside the active lane while the lane has running workers."""
    if package is None:
        if switch_reason:
            raise UserError("--switch-reason needs --package (the lane to switch to)")
        return
    pkg = find(s, proj, package)
    if pkg is None:
        raise UserError(f"unknown package {package!r}: record it first with "
                        f"`orch package add {package} --goal TEXT` (see `orch package list`)")
    if pkg.status == "closed":
        raise UserError(f"package {package!r} is closed; add a new package for more work")
    current = lane(s, proj).get("name")
    if current == package:
        return
    if current is None and not switch_reason:
        return  # no lane chosen yet: nothing to guard
    busy = running_in(s, proj, current) if current else []
    if busy and not switch_reason:
        keys = ", ".join(t.key for t in busy[:5]) + (", …" if len(busy) > 5 else "")
        raise UserError(f"the active lane is {current!r} with {len(busy)} running worker(s) ({keys}): dispatching into "
                        f"{package!r} is refused; finish the lane first, or pass --switch-reason TEXT to switch lanes")
    switch(s, proj, package, switch_reason, now, host=host, via="dispatch")


# --- status ----------------------------------------------------------------------------------------------------

def task_group(t: Task) -> str:
    """running, waiting-review, merged (by the one rule: ledger/merged.py), dropped or other."""
    from orchestrator.ledger.merged import task_merged

    if task_merged(t):
        return "merged"
    if t.status in ("rejected", "abandoned", "cleaned"):
        return "dropped"
    if t.status == "reviewing" or t.condition in REVIEW:
        return "waiting-review"
    if t.status in ("setup", "active") and (t.condition is None or t.condition in RUNNING):
        return "running"
    return "other"


def package_tasks(s: Session, proj: Project, name: str) -> list[Task]:
    return list(s.scalars(select(Task).where(Task.project_id == proj.id, Task.package == name).order_by(Task.id)))


def run_dict(r: PackageGateRun) -> dict:
    return {"gate": r.gate, "commit": r.commit, "branch": r.branch, "dirty": r.dirty, "exit_code": r.exit_code,
            "timed_out": r.timed_out, "duration_ms": r.duration_ms or 0, "output_tail": r.output_tail,
            "host": r.host, "started_at": iso(r.started_at),
            "result": "timeout" if r.timed_out else ("pass" if r.exit_code == 0 else "fail")}


def last_runs(s: Session, pkg: Package) -> dict[str, dict]:
    runs: dict[str, dict] = {}
    for r in s.scalars(select(PackageGateRun).where(PackageGateRun.package_id == pkg.id).order_by(PackageGateRun.id)):
        runs[r.gate] = run_dict(r)
    return runs


def record_run(s: Session, proj: Project, pkg: Package, outcome, commit: str | None, branch: str | None,
               dirty: bool, host: str, now: datetime) -> dict:
    """Store one acceptance gate run (from review.gates.run_gate) and a `package-accept` event."""
    tail = outcome.output_tail if outcome.error is None else outcome.error
    run = PackageGateRun(package_id=pkg.id, gate=outcome.gate, commit=commit, branch=branch, dirty=dirty,
                         exit_code=outcome.exit_code, timed_out=outcome.timed_out, duration_ms=outcome.duration_ms,
                         output_tail=tail, host=host, started_at=outcome.started_at)
    s.add(run)
    s.flush()
    d = run_dict(run)
    add_event(s, proj, now, "package-accept", to_value=d["result"], note=outcome.gate[:500], actor="user", host=host,
              data={"package": pkg.name, "exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
                    "duration_ms": outcome.duration_ms, "commit": commit, "branch": branch, "dirty": dirty})
    return d


def events_of(s: Session, proj: Project, kinds: tuple[str, ...], name: str | None = None, limit: int = 500) -> list[Event]:
    rows = list(s.scalars(select(Event).where(Event.project_id == proj.id, Event.kind.in_(kinds))
                          .order_by(Event.id.desc()).limit(limit)))
    return [e for e in reversed(rows) if name is None or (e.data or {}).get("package") == name]


def import_review(s: Session, proj: Project, pkg: Package, reviewer: str, file: str, status: str, now: datetime,
                  host: str) -> dict:
    """Record an outside review of a package (a person's or another model's) as an event."""
    import hashlib

    if status not in REVIEW_STATUSES:
        raise UserError(f"invalid status {status!r}: choose one of {', '.join(REVIEW_STATUSES)}")
    if not reviewer.strip():
        raise UserError("--reviewer must not be empty")
    path = Path(file).expanduser()
    if not path.is_file():
        raise UserError(f"review file {file!r} does not exist")
    raw = path.read_bytes()
    text = redact(raw.decode("utf-8", "replace"))
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    data = {"package": pkg.name, "reviewer": reviewer.strip()[:200], "status": status, "file": str(path.resolve()),
            "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw), "summary": first[:200]}
    kept = text[:REVIEW_TEXT_MAX] + (f"\n[… cut at {REVIEW_TEXT_MAX} characters]" if len(text) > REVIEW_TEXT_MAX else "")
    add_event(s, proj, now, "package-review", to_value=status, reason=reviewer.strip()[:64], note=kept, actor="user",
              host=host, data=data)
    return {**data, "at": iso(now)}


def review_dicts(s: Session, proj: Project, name: str) -> list[dict]:
    return [{**{k: v for k, v in (e.data or {}).items() if k != "package"}, "at": iso(e.at)}
            for e in events_of(s, proj, ("package-review",), name)]


def switch_dicts(s: Session, proj: Project, name: str | None = None, limit: int = 20) -> list[dict]:
    evs = [e for e in events_of(s, proj, ("package-switch",))
           if name is None or name in ((e.data or {}).get("package"), (e.data or {}).get("from"))]
    return [{"at": iso(e.at), "from": (e.data or {}).get("from"), "to": (e.data or {}).get("package"),
             "reason": (e.data or {}).get("reason"), "drift": bool((e.data or {}).get("drift")),
             "via": (e.data or {}).get("via")} for e in evs[-limit:]]


def gate_status(gates: list[str], runs: dict[str, dict], head: str | None) -> list[dict]:
    """Each acceptance gate with its last run, judged against the integration HEAD."""
    out = []
    for gate in gates:
        run = runs.get(gate)
        if run is None:
            state = "never-run"
        elif run["result"] != "pass":
            state = run["result"]
        elif head and run["commit"] != head:
            state = "stale"
        elif run.get("dirty"):
            state = "dirty"
        else:
            state = "pass"
        out.append({"gate": gate, "state": state, "last_run": {k: v for k, v in (run or {}).items() if k != "gate"} or None})
    return out


def blockers(tasks: list[Task], gates: list[dict], reviews: list[dict], head: str | None) -> list[str]:
    """What still keeps a package from closing, in words."""
    out = []
    open_ = [(t.key, task_group(t)) for t in tasks if task_group(t) not in ("merged", "dropped")]
    if open_:
        words = ", ".join(f"{k} ({g})" for k, g in open_[:8]) + (", …" if len(open_) > 8 else "")
        out.append(f"{len(open_)} task(s) not merged: {words}")
    for g in gates:
        run, short = g["last_run"], (head or "?")[:9]
        if g["state"] == "never-run":
            out.append(f"acceptance gate `{g['gate']}` never run")
        elif g["state"] in ("fail", "timeout"):
            out.append(f"acceptance gate `{g['gate']}` {'timed out' if g['state'] == 'timeout' else 'failed'} "
                       f"on {(run['commit'] or '?')[:9]}")
        elif g["state"] == "stale":
            out.append(f"acceptance gate `{g['gate']}` passed on {(run['commit'] or '?')[:9]}, not on HEAD {short}")
        elif g["state"] == "dirty":
            out.append(f"acceptance gate `{g['gate']}` passed on a dirty integration checkout")
    latest: dict[str, dict] = {}
    for r in reviews:
        latest[r["reviewer"]] = r
    for r in latest.values():
        if r["status"] == "failed":
            out.append(f"outside review by {r['reviewer']} failed")
    return out


def status(s: Session, proj: Project, pkg: Package, head: str | None) -> dict:
    """Everything `orch package show` and the reports say about one package."""
    tasks = package_tasks(s, proj, pkg.name)
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for t in tasks:
        groups[task_group(t)].append(t.key)
    gates = gate_status(list(pkg.accept or []), last_runs(s, pkg), head)
    reviews = review_dicts(s, proj, pkg.name)
    block = blockers(tasks, gates, reviews, head) if pkg.status == "open" else []
    return {"name": pkg.name, "goal": pkg.goal, "status": pkg.status, "active": lane(s, proj).get("name") == pkg.name,
            "spec": pkg.spec, "accept": list(pkg.accept or []), "created_at": iso(pkg.created_at),
            "closed_at": iso(pkg.closed_at), "close_note": pkg.close_note, "head": head,
            "tasks": {g: keys for g, keys in groups.items()}, "task_count": len(tasks), "gates": gates,
            "reviews": reviews, "blocks_close": block, "can_close": pkg.status == "open" and not block}


def close(s: Session, proj: Project, pkg: Package, head: str | None, force: bool, reason: str | None, now: datetime,
          host: str) -> list[str]:
    """Close a package; refused while something blocks it unless forced with a reason. Returns what was overridden."""
    if pkg.status == "closed":
        raise UserError(f"package {pkg.name!r} is closed already")
    if force and not (reason and reason.strip()):
        raise UserError("--force needs --reason TEXT (why close with work open)")
    st = status(s, proj, pkg, head)
    if st["blocks_close"] and not force:
        more = f" (and {len(st['blocks_close']) - 1} more)" if len(st["blocks_close"]) > 1 else ""
        raise UserError(f"package {pkg.name!r} cannot close: {st['blocks_close'][0]}{more}; see `orch package show "
                        f"{pkg.name}`, or pass --force --reason TEXT")
    pkg.status, pkg.closed_at, pkg.close_note, pkg.updated_at = "closed", now, reason, now
    add_event(s, proj, now, "package-close", to_value="closed", reason="forced" if st["blocks_close"] else "ready",
              note=reason, actor="user", host=host,
              data={"package": pkg.name, "forced": bool(st["blocks_close"]), "blockers": st["blocks_close"]})
    if lane(s, proj).get("name") == pkg.name:
        switch(s, proj, None, f"package {pkg.name} closed", now, host=host, via="close")
    return st["blocks_close"]


def report_entries(s: Session, proj: Project, head: str | None) -> tuple[dict, list[dict]]:
    """The active lane and the status of each open package, for the reports."""
    return lane(s, proj), [status(s, proj, p, head) for p in all_packages(s, proj) if p.status == "open"]
