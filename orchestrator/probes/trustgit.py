"""Git facts for the trust checks: remote-tracking refs, paths committed since base, ancestry (read only)."""

from __future__ import annotations

from pathlib import Path

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
