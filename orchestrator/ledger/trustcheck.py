"""The tick's trust step: gather facts per task, run the pure checks, record misalignments, keep the claims."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.classify import claims as claims_mod
from orchestrator.classify import trust
from orchestrator.ledger import misalign, stack
from orchestrator.ledger.models import DECIDED_STATUSES, GateRun, Project, SessionFile, Task
from orchestrator.probes import trustgit
from concurrent.futures import Future, ThreadPoolExecutor
from orchestrator.probes.sessions.trail import claims_of
from orchestrator.timeutil import parse_iso_lenient

SKIP_STATUSES = DECIDED_STATUSES + ("cleaned", "setup")
CLAIMS_KEPT = 12


def mode() -> str:
    """ORCH_TRUST_CHECKS: 0 turns the step off, `always` ignores its caches (the tick benchmark uses both)."""
    return os.environ.get("ORCH_TRUST_CHECKS", "1")


def _fp(*parts) -> str:
    return hashlib.sha1(repr(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _gate_exits(s: Session, tasks: list[Task], heads: dict[int, str]) -> dict[int, dict[str, int | None]]:
    """Per task, the exit code of the latest gate run on its current HEAD, by check kind (tests/build/lint)."""
    ids = [t.id for t in tasks if heads.get(t.id)]
    if not ids:
        return {}
    out: dict[int, dict[str, int | None]] = {}
    seen = set()
    for run in s.scalars(select(GateRun).where(GateRun.task_id.in_(ids)).order_by(GateRun.id.desc()).limit(5000)):
        if run.commit != heads.get(run.task_id) or (run.task_id, run.gate) in seen:
            continue
        seen.add((run.task_id, run.gate))
        kind = claims_mod.check_kind(run.gate) or "tests"
        code = None if run.timed_out else run.exit_code
        kinds = out.setdefault(run.task_id, {})
        if kinds.get(kind, 0) == 0:  # a failing gate of a kind outweighs a passing one
            kinds[kind] = code
    return out


def _trails(s: Session, task_ids: list[int]) -> dict[int, list[tuple[str, dict, datetime | None]]]:
    """Per task, the trails of its main sessions, newest first (one query for all the tasks checked)."""
    out: dict[int, list] = {}
    if not task_ids:
        return out
    rows = s.scalars(select(SessionFile).where(SessionFile.task_id.in_(task_ids))
                     .order_by(SessionFile.last_activity_at.desc()).limit(20 * len(task_ids)))
    for r in rows:
        tr = (r.state or {}).get("trail")
        if isinstance(tr, dict) and not (r.state or {}).get("subagent") and len(out.get(r.task_id, [])) < 10:
            out.setdefault(r.task_id, []).append((r.session_id or str(r.id), tr, r.last_activity_at))
    return out


def _remote(remotes: dict[str, str], branch: str) -> dict[str, str]:
    return {name: oid for name, oid in remotes.items() if name.split("/", 1)[-1] == branch}


def run(ledger, s: Session, proj: Project, tasks: list[Task], probe, agent_states: dict, now: datetime) -> dict:
    """Check every live task whose facts changed since the last tick; returns counts for the tick's health."""
    live = [t for t in tasks if t.status not in SKIP_STATUSES]
    if not live or mode() == "0":
        return {}
    fresh = mode() == "always"
    cfg = ledger.settings
    root = ledger.paths.root
    timeout = cfg.git_timeout.total_seconds()
    remotes = trustgit.remote_refs(root, timeout)
    heads = {t.id: (probe.facts.get(t.key).head if probe.facts.get(t.key) else None) for t in live}
    gates = _gate_exits(s, live, heads)
    todo = []
    for t in live:
        facts = probe.facts.get(t.key)
        if facts is None or not facts.found or facts.error or not facts.head or not t.base_commit:
            continue
        st = stack.of(t)
        mine = _remote(remotes, t.branch)
        agent = agent_states.get(t.id)
        cache = {} if fresh else (t.extra or {}).get("trust") or {}
        fp = _fp(facts.head, facts.dirty_digest, facts.branch, agent.fingerprint if agent else "",
                 agent.state if agent else "", sorted(mine.items()), sorted((gates.get(t.id) or {}).items()),
                 st["authority"], t.allow, t.forbid, t.base_commit)
        if cache.get("fp") != fp:
            todo.append((t, facts, st, mine, agent, cache, fp))
    git = _git_facts(root, todo, timeout, cfg.workers)
    trails = _trails(s, [t.id for t, *_ in todo])
    recorded = 0
    for t, facts, st, mine, agent, cache, fp in todo:
        committed, past = git[t.id]
        recorded += _check(ledger, s, proj, t, facts, probe, st, mine, gates.get(t.id) or {}, agent, fp, now,
                           committed, past, trails.get(t.id, []))
    return {"checked": len(todo), "recorded": recorded}


def _git_facts(root, todo, timeout: float, workers: int) -> dict[int, tuple[list[str], dict]]:
    """Per task: paths committed since base (cached by base and HEAD) and which remote refs moved past base,
    the git calls run in parallel like the git probe's."""
    jobs: dict = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for t, facts, _, mine, _, cache, _ in todo:
            base = t.base_commit
            if cache.get("diff") == [base, facts.head]:
                diff = cache.get("committed") or []
            elif facts.head == base:
                diff = []
            else:
                diff = pool.submit(trustgit.committed_paths, root, base, facts.head, timeout)
            old = cache.get("past") or {}
            past = {ref: tuple(old[ref]) if ref in old and old[ref][0] == oid else
                    (oid, pool.submit(trustgit.is_ancestor, root, base, oid, timeout) if oid != base else False)
                    for ref, oid in mine.items()}
            jobs[t.id] = (diff, past)
        out = {}
        for tid, (diff, past) in jobs.items():
            committed = (diff.result() or []) if isinstance(diff, Future) else diff
            out[tid] = (committed, {ref: [oid, moved.result() if isinstance(moved, Future) else moved]
                                    for ref, (oid, moved) in past.items()})
    return out


def _check(ledger, s, proj, t, facts, probe, st, mine, gate_exits, agent, fp, now, committed, past,
           trails) -> int:
    root = ledger.paths.root
    base = t.base_commit
    changed = tuple(sorted(set(committed) | set(probe.changed.get(t.key, ()))))
    inp = trust.TrustInput(
        key=t.key, branch=t.branch, default_branch=proj.default_branch,
        authority=st["authority"], allow=tuple(t.allow or ()), forbid=tuple(t.forbid or ()), worktree=facts.path,
        root=str(root), current_branch=facts.branch, has_commits=facts.has_commits, head=facts.head,
        changed=changed, remote_past_base=tuple(ref for ref, (_, moved) in sorted(past.items()) if moved),
        trails=tuple((sid, tr) for sid, tr, _ in trails))
    findings = list(trust.check(inp))
    judged, said = _claims(t, facts, trails, changed, mine, gate_exits, inp)
    settled = agent is None or agent.state != "running"
    if said and settled:
        for c in claims_mod.mismatches(judged):
            sev = "high" if c["verdict"] == "contradicted" else "medium"
            findings.append(trust.Finding("self-report-mismatch", sev, "session-log",
                                          f"claims \"{c['text']}\" but {c['why']} ({c['verdict']})",
                                          f"claim:{said['sid']}:{said.get('at')}:{c['kind']}"))
    recorded = 0
    for f in findings:
        if misalign.record(s, proj, t, category=f.category, severity=f.severity, evidence_kind=f.evidence_kind,
                           evidence=f.evidence, key=f.key, now=now) is not None:
            recorded += 1
    if said:
        for c in judged:
            if c["verdict"] == "verified" and c["kind"] in ("done", "tests"):
                misalign.resolve_key(s, proj, t, f"claim:{said['sid']}:{said.get('at')}:{c['kind']}",
                                     f"verified later: {c['why']}", now)
    extra = dict(t.extra or {})
    extra["claims"] = [{k: c.get(k) for k in ("kind", "text", "verdict", "why", "paths") if c.get(k) is not None}
                       for c in judged][:CLAIMS_KEPT]
    extra["trust"] = {"fp": fp, "diff": [base, facts.head], "committed": list(committed)[:500], "past": past}
    t.extra = extra
    return recorded


def _claims(t, facts, trails, changed, mine, gate_exits, inp) -> tuple[list[dict], dict | None]:
    """The claims of the worker's last word (newest session first) judged against the evidence."""
    for sid, tr, _ in trails:
        said = claims_of(tr)
        if not said or not said.get("claims"):
            continue
        checks = {}
        for kind, run in (tr.get("checks") or {}).items():
            checks[kind] = claims_mod.CheckRun(cmd=run.get("cmd") or "?", at=parse_iso_lenient(run.get("end") or run.get("at")),
                                               exit=run.get("exit"))
        pushed = None
        if mine:
            pushed = facts.head in mine.values()
        outside = tuple(p for p in changed if t.allow and not trust.matches(p, list(t.allow)))
        ev = claims_mod.ClaimEvidence(
            checks=checks, last_edit_at=parse_iso_lenient(tr.get("last_edit_at")),
            claim_at=parse_iso_lenient(said.get("at")), has_commits=facts.has_commits, dirty=facts.dirty,
            changed=changed, pushed=pushed, merged=facts.merged, gates=gate_exits, allow=tuple(t.allow or ()),
            outside_allow=outside)
        return claims_mod.judge(said["claims"], ev), {**said, "sid": sid}
    return [], None
