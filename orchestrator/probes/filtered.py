"""Changed files that only a switched-off filter may explain: git sees them differ, orch cannot tell."""

from __future__ import annotations

import os

from orchestrator.system.gitrun import GitResult, run_git


def worktree_only_v1(out: bytes) -> list[str]:
    """Paths of `git status --porcelain -z` changed in the worktree only (index as HEAD, ' M')."""
    return [os.fsdecode(e[3:]) for e in out.split(b"\0") if e[:3] == b" M "]


def worktree_only_v2(out: bytes) -> list[str]:
    """Paths of `git status --porcelain=v2 -z` changed in the worktree only ('1 .M')."""
    return [os.fsdecode(e.split(b" ", 8)[-1]) for e in out.split(b"\0") if e[:5] == b"1 .M "]


def unverified(cwd: str, status: GitResult, candidates: list[str], timeout: float) -> tuple[set[str], list[str]]:
    """The candidates whose `filter` attribute names a filter orch switched off, and those filters' names.

    Without its clean filter git compares a file's raw bytes with the filtered ones it stored, so a file it
    had to re-read looks changed whether or not it is."""
    if not status.filters or not candidates:
        return set(), []
    res = run_git(cwd, "check-attr", "-z", "--stdin", "filter", timeout=timeout,
                  input=b"".join(os.fsencode(p) + b"\0" for p in candidates))
    if not res.ok:
        return set(), []
    off = set(status.filters)
    fields = res.stdout.split(b"\0")
    paths, names = set(), set()
    for i in range(0, len(fields) - 2, 3):
        value = os.fsdecode(fields[i + 2])
        if value in off:
            paths.add(os.fsdecode(fields[i]))
            names.add(value)
    return paths, sorted(names)


def note(count: int, names: list[str]) -> str:
    """One line for the report: how many files orch could not judge, and why."""
    which = ", ".join(names)
    return (f"{count} file(s) use the filter {which}, which orch does not run: git cannot tell whether "
            f"they changed (run `git status` in the worktree to see)")
