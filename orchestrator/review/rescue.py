"""Rescue a stuck, silent or over-budget worker: what useful work its worktree holds, and what to do about it.

`gather` reads git and file sizes without writing anything (git runs with --no-optional-locks, so not even the
index is refreshed); `recommend` is pure: nudge the same worker, take over the branch, or abandon (only when
nothing is there).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone

from orchestrator.system.gitparse import porcelain_entries
from orchestrator.redact import redact
from orchestrator.system.gitrun import run_git
from orchestrator.timeutil import format_duration, iso

RESCUE_CONDITIONS = ("stuck", "no-output", "finished-uncommitted")
GONE_REASONS = ("agent-exited",)  # the worker's process is gone: nobody is left to nudge
MAX_LIST = 30
MAX_COMMITS = 10


@dataclass
class WorkFacts:
    """What the worktree holds beyond the base."""

    commits: int = 0
    commit_list: list[dict] = field(default_factory=list)  # newest first: sha, subject, at
    changed: list[dict] = field(default_factory=list)  # tracked, uncommitted: path, status, size, added, deleted
    changed_count: int = 0
    untracked: list[dict] = field(default_factory=list)  # path, size
    untracked_count: int = 0
    changed_bytes: int = 0
    untracked_bytes: int = 0
    last_commit_at: datetime | None = None
    last_edit_at: datetime | None = None  # the newest mtime among uncommitted files
    error: str | None = None

    @property
    def nothing(self) -> bool:
        return not (self.commits or self.changed_count or self.untracked_count)


def wanted(condition: str | None, budget: dict | None) -> bool:
    """A rescue section is shown for a stuck, silent or unfinished task, and for one over its runtime budget (one
    over its review budget waits for you, not for its worker)."""
    return condition in RESCUE_CONDITIONS or (budget or {}).get("over") == "runtime"


def _size(root: str, path: str) -> tuple[int | None, float | None]:
    try:
        st = os.lstat(os.path.join(root, path))
    except OSError:
        return None, None
    return (st.st_size if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) else None), st.st_mtime


def _status(out: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """`git status --porcelain -z`: (code, path) of tracked changes and the untracked paths."""
    entries = porcelain_entries(out)
    return ([(code.strip() or "M", path) for code, path in entries if code != "??"],
            [path for code, path in entries if code == "??"])


def _numstat(out: bytes) -> dict[str, tuple[int | None, int | None]]:
    """`git diff --numstat -z`: lines added and deleted per path (None for binary files)."""
    stats: dict[str, tuple[int | None, int | None]] = {}
    fields_ = out.split(b"\0")
    i = 0
    while i < len(fields_):
        rec = fields_[i]
        i += 1
        parts = rec.split(b"\t")
        if len(parts) != 3:
            continue
        added, deleted, path = parts
        if not path:  # a rename: the old and the new name follow
            path = fields_[i + 1] if i + 1 < len(fields_) else b""
            i += 2
        num = (lambda b: int(b) if b.isdigit() else None)
        stats[os.fsdecode(path)] = (num(added), num(deleted))
    return stats


def gather(worktree: str, base: str | None, timeout: float) -> WorkFacts:
    """Commits after the base, uncommitted changes with their sizes, untracked files; writes nothing."""
    f = WorkFacts()
    st = run_git(worktree, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", timeout=timeout)
    if not st.ok:
        f.error = f"git status failed: {st.error_line()}"
        return f
    tracked, untracked = _status(st.stdout)
    nums = {}
    if tracked:
        diff = run_git(worktree, "diff", "--numstat", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", "HEAD",
                       timeout=timeout)
        nums = _numstat(diff.stdout) if diff.ok else {}
    mtimes = []
    for code, path in tracked:
        size, mtime = _size(worktree, path)
        added, deleted = nums.get(path, (None, None))
        f.changed_bytes += size or 0
        mtimes += [mtime] if mtime else []
        if len(f.changed) < MAX_LIST:
            f.changed.append({"path": redact(path), "status": "D" if "D" in code else code[:1], "size": size,
                              "added": added, "deleted": deleted})
    for path in untracked:
        size, mtime = _size(worktree, path)
        f.untracked_bytes += size or 0
        mtimes += [mtime] if mtime else []
        if len(f.untracked) < MAX_LIST:
            f.untracked.append({"path": redact(path), "size": size})
    f.changed_count, f.untracked_count = len(tracked), len(untracked)
    if mtimes:
        f.last_edit_at = datetime.fromtimestamp(max(mtimes), timezone.utc)
    if base:
        count = run_git(worktree, "rev-list", "--count", f"{base}..HEAD", timeout=timeout)
        if count.ok:
            f.commits = int(count.text().strip() or 0)
        else:
            f.error = f"git rev-list failed: {count.error_line()}"
        if f.commits:
            log = run_git(worktree, "log", "-z", f"-n{MAX_COMMITS}", "--format=%H%x1f%ct%x1f%s", f"{base}..HEAD",
                          timeout=timeout)
            for rec in (log.stdout.split(b"\0") if log.ok else []):
                sha, _, rest = rec.decode("utf-8", "replace").strip("\n").partition("\x1f")
                when, _, subject = rest.partition("\x1f")
                if sha and when.isdigit():
                    at = datetime.fromtimestamp(int(when), timezone.utc)
                    f.last_commit_at = max(f.last_commit_at or at, at)
                    f.commit_list.append({"sha": sha[:12], "subject": redact(subject)[:120], "at": iso(at)})
    return f


def _size_words(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def recommend(f: WorkFacts, key: str, condition: str | None, reason: str | None, budget: dict | None,
              progress_at: datetime | None, now: datetime) -> dict:
    """Pure: nudge, take-over or abandon, with the evidence, from the worktree's facts and the last verdict."""
    idle = format_duration(now - progress_at) if progress_at else None
    why: list[str] = []
    if idle:
        why.append(f"last progress {idle} ago")
    if (budget or {}).get("text"):
        why.append(budget["text"])
    work = []
    if f.commits:
        work.append(f"{f.commits} commit(s) after base")
    if f.changed_count:
        work.append(f"{f.changed_count} uncommitted change(s) ({_size_words(f.changed_bytes)})")
    if f.untracked_count:
        work.append(f"{f.untracked_count} untracked file(s) ({_size_words(f.untracked_bytes)})")
    gone = reason in GONE_REASONS
    if f.error:
        action, text = "inspect", f"could not read the worktree ({f.error}): look at it yourself before deciding"
    elif f.nothing:
        action, text = "abandon", (f"nothing to keep: no commits after base, no uncommitted or untracked files; "
                                   f"`orch task set {key} abandoned`, and dispatch again with a sharper brief if the work "
                                   "is still wanted")
    elif (f.changed_count or f.untracked_count) and not gone:
        action, text = "nudge", ("nudge the same worker: it knows this uncommitted work; ask it to commit what it "
                                 f"has and hand off (`orch brief {key}` lists what the hand-off needs)")
    elif f.changed_count or f.untracked_count:
        action, text = "take-over", ("take over the branch: the worker is gone and its uncommitted work is only in "
                                     "the worktree; commit it there (or copy it) before anything else")
    else:
        action, text = "take-over", (f"take over the branch: its work is committed; review it (`orch review {key} --run-gates`) and "
                                     "finish it yourself or hand the branch to a fresh worker")
    return {"action": action, "text": text, "work": work or ["nothing"], "why": why,
            "condition": condition, "reason": reason, "idle": idle,
            "last_commit_at": iso(f.last_commit_at), "last_edit_at": iso(f.last_edit_at),
            "commits": {"count": f.commits, "list": f.commit_list},
            "uncommitted": {"count": f.changed_count, "bytes": f.changed_bytes, "list": f.changed},
            "untracked": {"count": f.untracked_count, "bytes": f.untracked_bytes, "list": f.untracked},
            **({"error": f.error} if f.error else {})}


def lines(r: dict) -> list[str]:
    """The rescue section for the terminal."""
    out = [f"rescue: {r['action']}: {r['text']}",
           f"  holds: {'; '.join(r['work'])}"]
    if r["why"]:
        out.append(f"  why:   {'; '.join(r['why'])}")
    for c in r["commits"]["list"]:
        out.append(f"  commit    {c['sha'][:9]} {c['at']} {c['subject']}")
    for x in r["uncommitted"]["list"]:
        churn = f" +{x['added']} -{x['deleted']}" if x["added"] is not None else ""
        out.append(f"  changed   {x['status']} {x['path']} ({_size_words(x['size'])}{churn})")
    if r["uncommitted"]["count"] > len(r["uncommitted"]["list"]):
        out.append(f"  … and {r['uncommitted']['count'] - len(r['uncommitted']['list'])} more changed")
    for x in r["untracked"]["list"]:
        out.append(f"  untracked {x['path']} ({_size_words(x['size'])})")
    if r["untracked"]["count"] > len(r["untracked"]["list"]):
        out.append(f"  … and {r['untracked']['count'] - len(r['untracked']['list'])} more untracked")
    return out
