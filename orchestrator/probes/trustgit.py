"""Git facts for the trust checks: remote-tracking refs, paths committed since base, ancestry, rule files, merged."""

from __future__ import annotations

import os
import re
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


_OID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def committed_paths_many(root: Path, pairs, timeout: float) -> dict[tuple[str, str], list[str] | None]:
    """committed_paths for many (base, head) pairs in one `git diff-tree --stdin` call; a pair the batch cannot
    answer (not a full object id, any error or warning from git, output that does not parse) is asked alone."""
    want = list(dict.fromkeys(pairs))
    out: dict[tuple[str, str], list[str] | None] = {}
    batch = [(b, h) for b, h in want if b != h and _OID.fullmatch(b) and _OID.fullmatch(h)]
    out.update({(b, h): [] for b, h in want if b == h})
    if batch:
        # Each line `HEAD BASE` diffs BASE..HEAD (HEAD's parents given on the line); `/N` lines are echoed as they
        # are (no object id starts with '/', no path does either), marking where pair N's answer ends.
        feed = "".join(f"{h} {b}\n/{i}\n" for i, (b, h) in enumerate(batch)).encode()
        res = run_git(root, "diff-tree", "--stdin", "-r", "-z", "--name-only", "--no-renames", "--always",
                      input=feed, timeout=timeout)
        if res.ok and not res.stderr.strip():
            out.update(_parse_batch(res.stdout, batch))
    for b, h in want:
        if (b, h) not in out:
            out[(b, h)] = committed_paths(root, b, h, timeout)
    return out


def _parse_batch(data: bytes, batch: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The answers of diff-tree's output `HEAD\0path\0...path\0/N\n` per pair, up to the first that does not parse."""
    out, pos = {}, 0
    for i, (b, h) in enumerate(batch):
        head, mark = h.encode() + b"\0", f"/{i}\n".encode()
        if not data.startswith(head, pos):
            break
        pos += len(head)
        paths = []
        while pos < len(data) and not data.startswith(b"/", pos):
            end = data.find(b"\0", pos)
            if end < 0:
                return out
            paths.append(data[pos:end].decode("utf-8", "surrogateescape"))
            pos = end + 1
        if not data.startswith(mark, pos):
            break
        pos += len(mark)
        out[(b, h)] = paths[:MAX_PATHS]
    return out


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
