"""A package's tasks through the review checklist: merge-readiness, and acceptance gates on the integration checkout."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator import bounded
from orchestrator.review.checklist import (TaskFacts, gate_item, gate_run_dict, git_items, git_state,
                                           latest_gate_runs, verdict)
from orchestrator.system.gitrun import run_git


@dataclass
class Integration:
    """The integration checkout as acceptance gates see it."""

    root: str
    head: str | None
    branch: str | None
    dirty: list[str]


def integration_state(root: str, timeout: float) -> Integration:
    head = run_git(root, "rev-parse", "--verify", "--quiet", "HEAD", timeout=timeout)
    ref = run_git(root, "symbolic-ref", "-q", "--short", "HEAD", timeout=timeout)
    st = run_git(root, "status", "--porcelain", "-z", "--untracked-files=normal", timeout=timeout)
    from orchestrator.review.checklist import porcelain_paths

    dirty = porcelain_paths(st.stdout) if st.ok else []
    return Integration(root=root, head=head.text().strip() if head.ok else None,
                       branch=ref.text().strip() if ref.ok else None, dirty=dirty)


def task_review(s, proj, t, this_host: str, root: str, timeout: float) -> dict:
    """The checklist of one task (git items plus its recorded gate runs, none run now), for readiness and packs."""
    from orchestrator.ledger.merged import task_merged
    from orchestrator.ledger.packages import task_group

    facts = TaskFacts(id=t.id, key=t.key, branch=t.branch, worktree=t.worktree, base=t.base_commit,
                      allow=list(t.allow or []), forbid=list(t.forbid or []), gates=list(t.gates or []), host=t.host,
                      status=t.status, default_branch=proj.default_branch, this_host=this_host)
    st = git_state(facts, root, timeout)
    items, commits, files = git_items(facts, st)
    runs = {gate: gate_run_dict(r) for gate, r in latest_gate_runs(s, t.id).items()}
    items += [gate_item(i, gate, runs.get(gate), st, facts, False) for i, gate in enumerate(facts.gates, 1)]
    group = task_group(t)
    merged = task_merged(t)  # the one rule every view uses (ledger/merged.py): the recorded, git-checked decision
    return {"task": t.key, "title": t.title, "branch": t.branch, "status": t.status, "condition": t.condition,
            "group": group, "base": t.base_commit, "head": st.branch_head, "merged": merged,
            "verdict": verdict(items), "items": [i.as_dict() for i in items], "commits": commits, **bounded.field("files", files),
            "gate_runs": [runs[g] for g in facts.gates if g in runs]}


def readiness(ledger, s, proj, pkg_name: str) -> list[dict]:
    """Merge-readiness of each task of a package: review verdict, merged or not."""
    from orchestrator.ledger.packages import package_tasks

    timeout = max(ledger.settings.git_timeout.total_seconds(), 30.0)
    out = []
    for t in package_tasks(s, proj, pkg_name):
        r = task_review(s, proj, t, ledger.settings.hostname, str(ledger.paths.root), timeout)
        ready = r["merged"] or r["verdict"] in ("ready", "ready-with-warnings")
        out.append({"task": r["task"], "status": r["status"], "group": r["group"], "verdict": r["verdict"],
                    "merged": r["merged"], "ready": ready, "head": r["head"]})
    return out


def run_acceptance(ledger, pkg_name: str, timeout: float, say=None) -> tuple[Integration, list[dict]]:
    """Run every acceptance gate of a package on the integration checkout's HEAD; record each run."""
    from orchestrator.ledger import packages as pk
    from orchestrator.review.gates import run_gate
    from orchestrator.timeutil import utcnow

    git_timeout = max(ledger.settings.git_timeout.total_seconds(), 30.0)
    integ = integration_state(str(ledger.paths.root), git_timeout)
    with ledger.session(readonly=True) as s:
        gates = list(pk.get(s, ledger.project(s), pkg_name).accept or [])
    results = []
    n = len(gates)
    for i, gate in enumerate(gates, 1):
        label = f"acceptance {i}/{n}: {gate}"
        if say:
            say(f"{label} …")
        outcome = run_gate(gate, integ.root, timeout)
        if say:
            result = "timed out" if outcome.timed_out else ("passed" if outcome.passed else f"failed (exit {outcome.exit_code})")
            say(f"{label}: {result} in {outcome.duration_ms / 1000:.1f}s")
        with ledger.session() as s:
            proj = ledger.project(s)
            results.append(pk.record_run(s, proj, pk.get(s, proj, pkg_name), outcome, integ.head, integ.branch,
                                         bool(integ.dirty), ledger.settings.hostname, utcnow()))
    return integ, results
