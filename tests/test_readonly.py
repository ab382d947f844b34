"""A tick never writes into a worker's worktree, its index or the refs (no index.lock, ever)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path


def snapshot(*roots: Path) -> dict[str, tuple[str, int]]:
    """Content hash and mtime of every file under the given folders."""
    snap = {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                st = p.lstat()
                data = p.read_bytes() if p.is_file() and not p.is_symlink() else os.readlink(p).encode()
                snap[str(p)] = (hashlib.sha256(data).hexdigest(), st.st_mtime_ns)
    return snap


def test_tick_leaves_worktrees_index_and_refs_byte_identical(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "tracked.txt", "v1\n")
    r.write(wt, "untracked.txt", "new\n")
    r.write(wt, "tracked.txt", "v2\n")
    r.git("add", "tracked.txt", cwd=wt)  # something staged, too
    r.dispatch("T", "w", wt)
    # Make the index stat-stale: a plain `git status` would now refresh and rewrite it.
    time.sleep(1.1)
    os.utime(r.root / "README.md")
    os.utime(wt / "README.md")
    gitdir = r.root / ".git"
    watched = [wt, gitdir / "worktrees", gitdir / "refs", gitdir / "index", gitdir / "HEAD"]
    before = snapshot(wt, gitdir / "worktrees", gitdir / "refs")
    main_index = (gitdir / "index").read_bytes(), (gitdir / "index").stat().st_mtime_ns
    packed = (gitdir / "packed-refs").read_bytes() if (gitdir / "packed-refs").exists() else None

    for _ in range(2):
        r.orch("tick")
        assert not list(gitdir.rglob("index.lock")), "a tick created index.lock"

    assert snapshot(wt, gitdir / "worktrees", gitdir / "refs") == before
    assert ((gitdir / "index").read_bytes(), (gitdir / "index").stat().st_mtime_ns) == main_index
    assert ((gitdir / "packed-refs").read_bytes() if (gitdir / "packed-refs").exists() else None) == packed
    assert watched  # the folders above are the whole of what a worker owns

    # Control: the situation was one in which an ordinary `git status` does write the index.
    index = gitdir / "worktrees" / "w" / "index"
    stamp = index.stat().st_mtime_ns
    r.git("status", cwd=wt)
    assert index.stat().st_mtime_ns != stamp
