"""Changed files that only a switched-off filter may explain: git sees them differ, orch cannot tell."""

from __future__ import annotations

import os

from orchestrator.system.gitguard import commondir, gitfile_target
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
    if not status.filters or not candidates or not _names_filters(cwd):
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


def _names_filters(worktree: str) -> bool:
    """Whether the worktree's top .gitattributes or the repository's info/attributes mention a filter: else
    nothing to ask git (attributes only deeper down are missed, and those files then count as changed)."""
    places = [os.path.join(worktree, ".gitattributes")]
    gitdir = gitfile_target(os.path.join(worktree, ".git")) or os.path.join(worktree, ".git")
    places += [os.path.join(gitdir, "info", "attributes"), os.path.join(commondir(gitdir), "info", "attributes"),
               os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "git", "attributes")]
    for path in places:
        try:
            with open(path, "rb") as fh:
                if b"filter" in fh.read(1 << 20):
                    return True
        except OSError:
            continue
    return False


def note(count: int, names: list[str]) -> str:
    """One line for the report: how many files orch could not judge, and why."""
    which = ", ".join(names)
    return (f"{count} file(s) use the filter {which}, which orch does not run: git cannot tell whether "
            f"they changed (run `git status` in the worktree to see)")
