"""A person's `merged` decision, checked against git before it is recorded: the one rule of classify/merged.py."""

from __future__ import annotations

from orchestrator.classify.merged import merge_verdict
from orchestrator.errors import UserError
from orchestrator.ledger.connect import Ledger
from orchestrator.ledger.models import Project, Task
from orchestrator.probes.merged import task_merge_facts


def merge_evidence(ledger: Ledger, proj: Project, task: Task, force: bool) -> dict:
    """`merged` only when git shows it (classify/merged.py), or with --force recorded as unverified: the evidence to
    keep with the decision, or one UserError saying what git shows."""
    timeout = max(ledger.settings.git_timeout.total_seconds(), 30.0)
    facts = task_merge_facts(str(ledger.paths.root), task.branch, (task.extra or {}).get("last_head"),
                             task.base_commit, proj.default_branch, timeout)
    verdict = merge_verdict(facts, task.branch)
    if verdict.merged:
        return {"verified": True, "how": verdict.how, "ref": verdict.ref, "head": verdict.head, "git": verdict.text}
    if not force:
        raise UserError(f"{task.key} is not merged: git shows {verdict.text}; merge it first (then `orch tick` "
                        f"records it), or record it anyway with `orch task set {task.key} merged --force --note WHY`")
    return {"verified": False, "how": verdict.how, "head": verdict.head, "git": verdict.text}
