"""Is a task merged? By its recorded decision: the one rule every view uses (git checked the decision when it was
recorded, by the tick or `orch task set`: classify/merged.py), also after cleanup removed its worktree and branch."""

from __future__ import annotations


def is_merged(status: str | None, decided: str | None = None, merged_at_set: bool = False) -> bool:
    """The one rule every view uses: a task is merged when its recorded decision is `merged` (verified by git,
    by the tick or `orch task set`, or forced), also after cleanup removed its worktree and branch."""
    if status == "merged":
        return True
    if status == "cleaned":
        return decided == "merged" if decided else merged_at_set
    return False


def task_merged(task) -> bool:
    """`is_merged` for a task row (anything with `status`, `extra` and `merged_at`): views call this one."""
    decided = ((getattr(task, "extra", None) or {}).get("decision") or {}).get("status")
    return is_merged(task.status, decided, getattr(task, "merged_at", None) is not None)
