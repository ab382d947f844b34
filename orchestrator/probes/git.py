"""The git probe: one worktree list, then status per live worktree in parallel, with timeouts."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from orchestrator.classify.evidence import GitFacts
from orchestrator.probes.filtered import note, unverified, worktree_only_v2
from orchestrator.system.gitrun import GitResult, run_git
from orchestrator.probes.merged import default_tips
from orchestrator.system.gitparse import StatusResult, WorktreeRecord, parse_refs, parse_status_v2, parse_worktree_list

MAX_STAT = 2000
REF_FORMAT = "--format=%(refname)%00%(objectname)%00%(committerdate:unix)"


@dataclass(frozen=True)
class TaskRef:
    """What the git probe needs to know about a task."""

    key: str
    branch: str
    worktree: str | None
    pending_id: str | None
    base_commit: str | None
    needs_base: bool = False  # base is provisional: compute the merge-base once the branch exists
    need_status: bool = True  # decided tasks only need to know what is left on disk


@dataclass
class RepoProbe:
    """Everything one tick learned from git."""

    facts: dict[str, GitFacts | None] = field(default_factory=dict)
    worktrees: list[WorktreeRecord] = field(default_factory=list)
    matched_paths: dict[str, str] = field(default_factory=dict)  # task key -> worktree path it was found at
    bases: dict[str, str] = field(default_factory=dict)  # task key -> computed merge-base
    integration_dirty: list[str] = field(default_factory=list)
    integration_error: str | None = None
    default_head: str | None = None
    tips: dict[str, str] = field(default_factory=dict)  # the default branch and its remote-tracking copies -> commit
    branch_tips: dict[str, str] = field(default_factory=dict)  # each task's branch -> its tip, when it exists
    error: str | None = None
    changed: dict[str, tuple[str, ...]] = field(default_factory=dict)  # task key -> every uncommitted path


def norm(path: str | os.PathLike) -> str:
    return os.path.realpath(os.fspath(path))


def _error_facts(path: str | None, res: GitResult) -> GitFacts:
    code = "git-timeout" if res.timed_out else "git-failed"
    return GitFacts(found=True, path=path, path_exists=True, error=code, error_text=res.error_line())


def _match(task: TaskRef, by_path: dict[str, WorktreeRecord], records: list[WorktreeRecord]) -> WorktreeRecord | None:
    if task.worktree:
        return by_path.get(norm(task.worktree))
    for rec in records:
        if rec.branch == task.branch:
            return rec
    if task.pending_id:
        for rec in records:
            if task.pending_id in Path(rec.path).parts:
                return rec
    return None


def _dirty(path: str, status: StatusResult) -> tuple[int, tuple[str, ...], datetime | None, str]:
    digest = hashlib.sha1()
    newest: float | None = None
    for rel in sorted(status.paths)[:MAX_STAT]:
        try:
            st = os.lstat(os.path.join(path, rel))
            stamp = f"{st.st_mtime_ns}:{st.st_size}"
            newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
        except OSError:
            stamp = "gone"
        digest.update(f"{rel}\0{stamp}\0".encode("utf-8", "surrogateescape"))
    digest.update(str(len(status.paths)).encode())
    when = datetime.fromtimestamp(newest, timezone.utc) if newest is not None else None
    return len(status.paths), tuple(sorted(status.paths)[:5]), when, digest.hexdigest()[:16] if status.paths else ""


def _status(path: str, timeout: float) -> tuple[GitResult, set[str], list[str]]:
    """A worktree's status, and the changed files only a filter orch does not run may explain (probes/filtered)."""
    res = run_git(path, "status", "--porcelain=v2", "--branch", "-z", timeout=timeout)
    if not res.ok:
        return res, set(), []
    odd, names = unverified(path, res, worktree_only_v2(res.stdout), timeout)
    return res, odd, names


def probe_repo(root: Path, tasks: list[TaskRef], default_branch: str, timeout: float, workers: int) -> RepoProbe:
    """Probe every task's worktree; a hung or failing git marks only that task."""
    out = RepoProbe()
    wl = run_git(root, "worktree", "list", "--porcelain", "-z", timeout=timeout)
    if not wl.ok:
        out.error = wl.error_line()
        for t in tasks:
            out.facts[t.key] = _error_facts(t.worktree, wl)
        return out
    records = [r for r in parse_worktree_list(wl.stdout) if not r.bare]
    out.worktrees = records
    by_path = {norm(r.path): r for r in records}
    main_path = norm(root)
    matches = {t.key: _match(t, by_path, records) for t in tasks}
    t_by_key = {t.key: t for t in tasks}

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        refs_f = pool.submit(run_git, root, "for-each-ref", REF_FORMAT, "refs/heads",
                             f"refs/remotes/*/{default_branch}", timeout=timeout)
        main_f = pool.submit(run_git, root, "status", "--porcelain=v2", "-z", timeout=timeout)
        status_f = {}
        for key, rec in matches.items():
            if t_by_key[key].need_status and rec is not None and not rec.prunable and norm(rec.path) != main_path:
                status_f[key] = pool.submit(_status, rec.path, timeout)
        base_f = {}
        for t in tasks:
            if t.needs_base and matches[t.key] is not None and matches[t.key].branch == t.branch:
                base_f[t.key] = pool.submit(run_git, root, "merge-base", f"refs/heads/{t.branch}",
                                            f"refs/heads/{default_branch}", timeout=timeout)
        refs_res, main_res = refs_f.result(), main_f.result()
        statuses = {k: f.result() for k, f in status_f.items()}
        for key, fut in base_f.items():
            res = fut.result()
            if res.ok and res.text().strip():
                out.bases[key] = res.text().strip()

    every = parse_refs(refs_res.stdout) if refs_res.ok else {}
    refs = {k[len("refs/heads/"):]: v for k, v in every.items() if k.startswith("refs/heads/")}
    remotes = {k[len("refs/remotes/"):]: v[0] for k, v in every.items() if k.startswith("refs/remotes/")}
    out.default_head = refs.get(default_branch, (None, None))[0]
    out.tips = default_tips(remotes, default_branch, out.default_head)
    out.branch_tips = {t.branch: refs[t.branch][0] for t in tasks if t.branch in refs}
    if main_res.ok:
        out.integration_dirty = parse_status_v2(main_res.stdout).paths
    else:
        out.integration_error = main_res.error_line()

    for t in tasks:
        rec = matches[t.key]
        branch_info = refs.get(t.branch)
        base = out.bases.get(t.key, t.base_commit)
        if rec is None:
            path = t.worktree
            out.facts[t.key] = None if path is None else GitFacts(
                found=False, path=path, path_exists=os.path.isdir(path), branch_exists=branch_info is not None)
            continue
        out.matched_paths[t.key] = rec.path
        if rec.prunable:
            out.facts[t.key] = GitFacts(found=False, path=rec.path, path_exists=False,
                                        branch_exists=branch_info is not None)
            continue
        res, odd, names = statuses.get(t.key) or (None, set(), [])
        if not t.need_status:
            out.facts[t.key] = GitFacts(found=True, path=rec.path, path_exists=True, head=rec.head,
                                        branch=rec.branch, branch_exists=branch_info is not None)
            continue
        if res is None:  # the task points at the integration checkout itself
            out.facts[t.key] = GitFacts(found=True, path=rec.path, path_exists=True, error="git-failed",
                                        error_text="the task's worktree is the integration checkout")
            continue
        if not res.ok:
            out.facts[t.key] = _error_facts(rec.path, res)
            continue
        st = parse_status_v2(res.stdout)
        if odd:
            st.paths = [p for p in st.paths if p not in odd]
        count, shown, newest, digest = _dirty(rec.path, st)
        out.changed[t.key] = tuple(st.paths[:MAX_STAT])
        head = st.oid or rec.head
        head_time = None
        if branch_info and branch_info[0] == head and branch_info[1] is not None:
            head_time = datetime.fromtimestamp(branch_info[1], timezone.utc)
        has_commits = bool(head and base and head != base)
        out.facts[t.key] = GitFacts(
            found=True, path=rec.path, path_exists=True, head=head, branch=st.head, dirty=count,
            dirty_paths=shown, dirty_mtime=newest, dirty_digest=digest, has_commits=has_commits,
            head_time=head_time, branch_exists=branch_info is not None,
            unverified=len(odd), unverified_text=note(len(odd), names) if odd else None,
        )
    return out
