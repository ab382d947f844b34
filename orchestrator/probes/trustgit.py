"""Git facts for the trust checks: remote-tracking refs, paths committed since base, ancestry, rule files, merged."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.rulefiles import is_rule_path, rules_hash
from orchestrator.system.gitrun import run_git

MAX_PATHS = 2000


def remote_refs(root: Path, timeout: float) -> dict[str, str]:
    """Every remote-tracking ref (`origin/feat`) and the commit it points at; one git call per tick."""
    res = run_git(root, "for-each-ref", "--format=%(refname:short)%00%(objectname)", "refs/remotes", timeout=timeout)
    if not res.ok:
        return {}
    out = {}
    for line in res.text().splitlines():
        name, _, oid = line.partition("\0")
        if oid and not name.endswith("/HEAD"):
            out[name] = oid
    return out


def committed_paths(root: Path, base: str, head: str, timeout: float) -> list[str] | None:
    """Paths the commits after base changed; None when git cannot say."""
    res = run_git(root, "diff", "--name-only", "-z", "--no-renames", base, head, "--", timeout=timeout)
    if not res.ok:
        return None
    return [p.decode("utf-8", "surrogateescape") for p in res.stdout.split(b"\0") if p][:MAX_PATHS]


def is_ancestor(root: Path, older: str, newer: str, timeout: float) -> bool:
    return run_git(root, "merge-base", "--is-ancestor", older, newer, timeout=timeout).ok


def rules_hash_at(root: Path, commit: str, timeout: float) -> str | None | bool:
    """The rule-file hash at `commit` (orchestrator/rulefiles.rules_hash); False when git cannot say."""
    res = run_git(root, "ls-tree", "-r", "-z", "--full-tree", commit, timeout=timeout)
    if not res.ok:
        return False
    entries = []
    for rec in res.stdout.split(b"\0"):
        if b"\t" in rec:
            meta, name = rec.split(b"\t", 1)
            path = name.decode("utf-8", "surrogateescape")
            if is_rule_path(path):
                entries.append((path, meta.split()[-1].decode()))
    return rules_hash(entries)


def existing(worktree: str | None, paths: list[str]) -> dict[str, bool]:
    """Which of the paths a worker says it created exist in its worktree (regular stat, nothing followed out)."""
    out = {}
    for p in paths[:20]:
        full = p if os.path.isabs(p) else os.path.join(worktree or "", p)
        inside = bool(worktree) and os.path.realpath(full).startswith(os.path.realpath(worktree) + os.sep)
        out[p] = inside and os.path.isfile(full)
    return out
