"""The worker's brief as data: one task's dispatch record (the same fields the checks enforce) and its hash.

The hash covers what the worker was asked to do and not do (outcome, acceptance criteria, branch, allowed and
forbidden paths, constraints and rule files, authority, gates, budgets), part by part, so that a change can be
named. Where the worktree later appeared, and the fork point filling in a provisional base, are not changes to it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from orchestrator.ledger import stack
from orchestrator.timeutil import iso


PARTS = ("outcome", "accept", "branch", "paths", "constraints", "authority", "gates", "budgets")


def record(task, default_branch: str) -> dict:
    """The brief's data, read from the task row: everything the brief says comes from here."""
    st = stack.of(task)
    extra = task.extra or {}
    return {
        "task": task.key,
        "title": task.title,
        "instruction": st["instruction"],
        "accept": list(task.accept or []),
        "branch": task.branch,
        "worktree": task.worktree,
        "base": task.base_commit,
        "base_provisional": bool(extra.get("base_provisional")),
        "default_branch": default_branch,
        "allow": list(task.allow or []),
        "forbid": list(task.forbid or []),
        "constraints": list(st["constraints"]),
        "rules": st["rules"],
        "authority": st["authority"],
        "gates": list(task.gates or []),
        "max_runtime_s": task.max_runtime_s,
        "review_budget_s": task.review_budget_s,
        "package": task.package,
    }


def _h(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8",
                                                                                     "surrogateescape")).hexdigest()[:12]


def parts(rec: dict) -> dict[str, str]:
    """A hash per part of the brief that binds the worker."""
    values = {
        "outcome": [rec["title"], rec["instruction"]],
        "accept": rec["accept"],
        "branch": rec["branch"],
        "paths": [rec["allow"], rec["forbid"]],
        "constraints": [rec["constraints"], (rec["rules"] or {}).get("hash")],
        "authority": rec["authority"],
        "gates": rec["gates"],
        "budgets": [rec["max_runtime_s"], rec["review_budget_s"]],
    }
    return {name: _h(values[name]) for name in PARTS}


def digest(rec: dict) -> dict:
    """`{"hash": …, "parts": {part: hash}}` of a brief record."""
    p = parts(rec)
    return {"hash": _h([p[name] for name in PARTS]), "parts": p}


def mark_printed(task, rec: dict, now: datetime) -> dict:
    """Store the hash of the brief just printed (the version the worker is given) on the task row."""
    d = digest(rec)
    task.brief = {**d, "at": iso(now)}
    return task.brief
