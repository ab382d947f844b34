"""The review checklist of one task: worktree, commits, write set, whitespace, mergeability, gates."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from orchestrator.classify.globs import glob_regex, matches  # noqa: F401 (used here and re-exported)
from orchestrator import bounded
from orchestrator.ledger.models import GateRun
from orchestrator.probes.filtered import note, unverified, worktree_only_v1
from orchestrator.probes.mergetree import merge_tree
from orchestrator.system.gitrun import run_git
from orchestrator.system.gitparse import porcelain_entries
from orchestrator.redact import redact
from orchestrator.timeutil import iso

STATUSES = ("pass", "warn", "fail")
EVIDENCE = ("direct", "proxy", "local", "blocked")
VERDICTS = ("ready", "ready-with-warnings", "needs-work", "blocked")
MAX_COMMITS = 20


@dataclass
class Item:
    """One checklist line: its outcome, how it was checked, a line of detail and the data behind it."""

    key: str
    name: str
    status: str
    evidence: str
    detail: str
    lines: list[str] = field(default_factory=list)  # extra lines shown under the item (commits, offending paths)
    data: dict = field(default_factory=dict)
    counts_blocked: bool = True  # a "blocked" check that makes the verdict blocked

    def as_dict(self) -> dict:
        return {"id": self.key, "name": self.name, "status": self.status, "evidence": self.evidence,
                "detail": self.detail, "lines": self.lines, **self.data}


@dataclass
class TaskFacts:
    """What the checklist needs from the ledger row, copied out so that no session stays open."""

    id: int
    key: str
    branch: str
    worktree: str | None
    base: str | None
    allow: list[str]
    forbid: list[str]
    gates: list[str]
    host: str
    status: str
    default_branch: str
    this_host: str


@dataclass
class GitState:
    """The task's branch and worktree as git sees them now."""

    root: str
    timeout: float
    branch_head: str | None = None
    base_ok: bool = False
    worktree_ok: bool = False
    worktree_reason: str | None = None
    worktree_head: str | None = None
    worktree_branch: str | None = None


# --- git facts -------------------------------------------------------------------------------------------------

def _rev(root: str, ref: str, timeout: float) -> str | None:
    res = run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", timeout=timeout)
    return res.text().strip() if res.ok else None


def git_state(t: TaskFacts, root: str, timeout: float) -> GitState:
    st = GitState(root=root, timeout=timeout)
    st.branch_head = _rev(root, f"refs/heads/{t.branch}", timeout)
    st.base_ok = bool(t.base) and _rev(root, t.base, timeout) is not None
    if t.host != t.this_host:
        st.worktree_reason = f"the worktree lives on host {t.host}; run the review there"
    elif not t.worktree:
        st.worktree_reason = "the task has no worktree (still in setup?)"
    elif not os.path.isdir(t.worktree):
        st.worktree_reason = f"worktree {t.worktree} no longer exists"
    else:
        head = run_git(t.worktree, "rev-parse", "--verify", "--quiet", "HEAD", timeout=timeout)
        if not head.ok:
            st.worktree_reason = f"worktree {t.worktree} is not a usable git worktree ({head.error_line()})"
        else:
            st.worktree_ok = True
            st.worktree_head = head.text().strip()
            ref = run_git(t.worktree, "symbolic-ref", "-q", "--short", "HEAD", timeout=timeout)
            st.worktree_branch = ref.text().strip() if ref.ok else None
    return st


def porcelain_paths(out: bytes) -> list[str]:
    """Paths from `git status --porcelain -z`."""
    return [path for _, path in porcelain_entries(out)]


def _z_fields(out: bytes) -> list[str]:
    return [os.fsdecode(x) for x in out.split(b"\0") if x]


# --- the items -------------------------------------------------------------------------------------------------

def item_worktree(t: TaskFacts, st: GitState) -> Item:
    name = "worktree clean"
    if not st.worktree_ok:
        return Item("worktree-clean", name, "warn", "blocked", st.worktree_reason or "no worktree")
    res = run_git(t.worktree, "status", "--porcelain", "-z", "--untracked-files=all", timeout=st.timeout)
    if not res.ok:
        return Item("worktree-clean", name, "warn", "blocked", f"git status failed: {res.error_line()}")
    dirty = porcelain_paths(res.stdout)
    odd, filters = unverified(t.worktree, res, worktree_only_v1(res.stdout), st.timeout)
    dirty = [p for p in dirty if p not in odd]
    on = f"on branch {st.worktree_branch}" if st.worktree_branch else "detached HEAD"
    if odd and not dirty:
        return Item("worktree-clean", name, "warn", "direct", note(len(odd), filters), bounded.lines(sorted(odd)),
                    {"dirty": [], "unverified": sorted(odd)})
    if dirty:
        return Item("worktree-clean", name, "fail", "direct",
                    f"{len(dirty)} uncommitted change(s) in {t.worktree} ({on})", bounded.lines(dirty),
                    bounded.field("dirty", dirty))
    if st.worktree_branch != t.branch:
        return Item("worktree-clean", name, "warn", "direct",
                    f"clean, but {on}, not the task's branch {t.branch}", data={"dirty": []})
    return Item("worktree-clean", name, "pass", "direct", f"clean, {on}", data={"dirty": []})


def _range_blocker(t: TaskFacts, st: GitState) -> str | None:
    if st.branch_head is None:
        return f"branch {t.branch} does not exist (not created yet, or deleted)"
    if not st.base_ok:
        return f"base commit {t.base or '(none recorded)'} is not in this repository"
    return None


def item_commits(t: TaskFacts, st: GitState) -> tuple[Item, list[dict]]:
    name = "commits after base"
    blocker = _range_blocker(t, st)
    if blocker:
        return Item("commits", name, "warn", "blocked", blocker), []
    rng = f"{t.base}..{st.branch_head}"
    count = run_git(st.root, "rev-list", "--count", rng, timeout=st.timeout)
    log = run_git(st.root, "log", "-z", f"-n{MAX_COMMITS}", "--format=%H%x1f%s", rng, timeout=st.timeout)
    if not count.ok or not log.ok:
        return Item("commits", name, "warn", "blocked", f"git log failed: {(count if not count.ok else log).error_line()}"), []
    n = int(count.text().strip() or 0)
    commits = []
    for rec in _z_fields(log.stdout):
        sha, _, subject = rec.strip("\n").partition("\x1f")
        commits.append({"sha": sha, "short": sha[:9], "subject": redact(subject)})
    lines = [f"{c['short']} {c['subject']}" for c in commits]
    if n > len(commits):
        lines.append(f"… and {n - len(commits)} more")
    data = {"count": n}
    if n == 0:
        return Item("commits", name, "fail", "direct", f"no commits on {t.branch} after base {t.base[:9]}", [], data), commits
    return Item("commits", name, "pass", "direct", f"{n} commit(s) on {t.branch} after base {t.base[:9]}",
                lines, data), commits


def changed_files(t: TaskFacts, st: GitState) -> tuple[list[dict] | None, str | None]:
    """Files changed base..branch, rename-aware: [{status, path, old_path}] or an error."""
    res = run_git(st.root, "diff", "--name-status", "-z", "-M", "--no-ext-diff", f"{t.base}..{st.branch_head}",
                  timeout=st.timeout)
    if not res.ok:
        return None, res.error_line()
    fields_ = _z_fields(res.stdout)
    files, i = [], 0
    while i < len(fields_):
        status = fields_[i]
        if status[:1] in ("R", "C"):
            old_path, path = (fields_[i + 1:i + 3] + ["", ""])[:2]
            files.append({"status": status[:1], "path": path or old_path, "old_path": old_path})
            i += 3
        else:
            files.append({"status": status[:1], "path": fields_[i + 1] if i + 1 < len(fields_) else "",
                          "old_path": None})
            i += 2
    return files, None


def _breaks(path: str, t: TaskFacts) -> str | None:
    """Why `path` is outside the task's write set, or None."""
    hit = matches(path, t.forbid)
    if hit:
        return f"forbidden by {hit}"
    return "outside the allowed set" if t.allow and not matches(path, t.allow) else None


def item_write_set(t: TaskFacts, st: GitState, files: list[dict] | None, error: str | None,
                   dirty: list[str] | None = None) -> Item:
    """The committed changes against the write set; uncommitted changes in the worktree (`dirty`) that break it
    make a passing check a warning, said as such (they are not on the branch, yet the worker touched them)."""
    name = "write set"
    blocker = _range_blocker(t, st) or (f"git diff failed: {error}" if error else None)
    if blocker or files is None:
        return Item("write-set", name, "warn", "blocked", blocker or "no diff")
    offending: list[dict] = []
    for f in files:
        paths = [f["path"]] + ([f["old_path"]] if f["status"] == "R" and f["old_path"] else [])
        for path in paths:
            why = _breaks(path, t)
            if why:
                offending.append({"path": path, "why": why, "status": f["status"]})
    loose = [{"path": p, "why": why} for p in dirty or [] if (why := _breaks(p, t))]
    rules = []
    if t.allow:
        rules.append("allowed " + ", ".join(t.allow))
    if t.forbid:
        rules.append("forbidden " + ", ".join(t.forbid))
    rule_text = "; ".join(rules) or "no allow/forbid globs recorded"
    data = {**bounded.field("offending", offending), **bounded.field("uncommitted", loose)}
    lines = bounded.lines([f"{o['path']}  ({o['why']})" for o in offending]
                          + [f"{o['path']}  ({o['why']}; modified, not committed)" for o in loose])
    also = f"; {len(loose)} uncommitted change(s) break it too" if loose else ""
    if offending:
        return Item("write-set", name, "fail", "direct",
                    f"{len(offending)} of {len(files)} changed path(s) break the write set{also} ({rule_text})",
                    lines, data)
    if loose:
        return Item("write-set", name, "warn", "direct",
                    f"{len(files)} committed file(s) within the write set, but {len(loose)} uncommitted change(s) "
                    f"break it: not on the branch yet; revert them, or the next commit breaks it ({rule_text})",
                    lines, data)
    return Item("write-set", name, "pass", "direct", f"{len(files)} changed file(s), all within the write set ({rule_text})",
                data=data)


_CHECK_LINE = re.compile(r"^(.+?):(\d+): (.+)$")


def item_diff_check(t: TaskFacts, st: GitState) -> Item:
    name = "whitespace (git diff --check)"
    blocker = _range_blocker(t, st)
    if blocker:
        return Item("diff-check", name, "warn", "blocked", blocker)
    res = run_git(st.root, "diff", "--check", "--no-ext-diff", f"{t.base}..{st.branch_head}", timeout=st.timeout)
    if res.ok:
        return Item("diff-check", name, "pass", "direct", "no whitespace errors", data={"problems": []})
    if res.timed_out or res.returncode not in (1, 2):
        return Item("diff-check", name, "warn", "blocked", f"git diff --check failed: {res.error_line()}")
    problems = []
    for line in res.text().splitlines():
        m = _CHECK_LINE.match(line)
        if m and not line.startswith("+"):
            problems.append({"file": m.group(1), "line": int(m.group(2)), "problem": m.group(3).rstrip(".")})
    lines = bounded.lines(problems, lambda p: f"{p['file']}:{p['line']}: {p['problem']}")
    return Item("diff-check", name, "fail", "direct", f"{len(problems) or 'some'} whitespace error(s)", lines,
                bounded.field("problems", problems))


def item_mergeability(t: TaskFacts, st: GitState) -> Item:
    name = f"merges cleanly into {t.default_branch}"
    if st.branch_head is None:
        return Item("mergeability", name, "warn", "blocked", f"branch {t.branch} does not exist (not created yet, or deleted)")
    target = _rev(st.root, f"refs/heads/{t.default_branch}", st.timeout)
    if target is None:
        return Item("mergeability", name, "warn", "blocked", f"default branch {t.default_branch} does not exist")
    if st.branch_head == t.base:  # nothing after base: "contained" would be true, and say nothing
        return Item("mergeability", name, "pass", "direct", f"no commits after base: nothing to merge into {t.default_branch}",
                    data={"conflicts": [], "merged": False})
    anc = run_git(st.root, "merge-base", "--is-ancestor", st.branch_head, target, timeout=st.timeout)
    if anc.ok:
        return Item("mergeability", name, "pass", "direct", f"already contained in {t.default_branch}",
                    data={"conflicts": [], "merged": True})
    res = merge_tree(st.root, target, st.branch_head, st.timeout)
    if res.returncode == 0:
        return Item("mergeability", name, "pass", "direct", f"no conflicts with {t.default_branch} ({target[:9]})",
                    data={"conflicts": [], "merged": False})
    if res.returncode == 1:
        lines = res.text().splitlines()
        conflicts = sorted({ln for ln in lines[1:] if ln.strip()})
        drivers = (f"; the merge driver(s) {', '.join(res.merge_drivers)} configured here did not run (orch merges "
                   "as plain text), so `git merge` may resolve some") if res.merge_drivers else ""
        return Item("mergeability", name, "fail", "direct",
                    f"{len(conflicts)} conflicting path(s) with {t.default_branch} ({target[:9]}){drivers}",
                    bounded.lines(conflicts), {**bounded.field("conflicts", conflicts), "merged": False})
    return Item("mergeability", name, "warn", "blocked", f"git merge-tree failed: {res.error_line()}")


def latest_gate_runs(s, task_id: int) -> dict[str, GateRun]:
    runs: dict[str, GateRun] = {}
    from sqlalchemy import select

    for run in s.scalars(select(GateRun).where(GateRun.task_id == task_id).order_by(GateRun.id)):
        runs[run.gate] = run
    return runs


def gate_item(index: int, gate: str, run: dict | None, st: GitState, t: TaskFacts, fresh: bool,
              blocked_reason: str | None = None) -> Item:
    """One gate: its latest run (or the run just made), judged against the commit under review."""
    key, name = f"gate-{index}", f"gate: {gate}"
    if blocked_reason:
        return Item(key, name, "warn", "blocked", blocked_reason, data={"gate": gate, "run": None})
    if run is None:
        return Item(key, name, "warn", "blocked", f"never run: `orch review {t.key} --run-gates` runs it",
                    data={"gate": gate, "run": None}, counts_blocked=False)
    head = st.branch_head or st.worktree_head
    passed = run["exit_code"] == 0 and not run["timed_out"]
    outcome = ("timed out" if run["timed_out"] else f"exit {run['exit_code']}") + f" in {run['duration_ms'] / 1000:.1f}s"
    on = f"on {(run['commit'] or '?')[:9]}"
    when = "just now" if fresh else f"at {run['started_at']} on host {run['host']}"
    detail = f"{'passed' if passed else 'failed'} ({outcome}) {on}, {when}"
    tail = [ln for ln in (run.get("output_tail") or "").splitlines() if ln.strip()][-5:] if not passed else []
    evidence = "local" if run["host"] == t.this_host else "proxy"
    status = "pass" if passed else "fail"
    if passed and head and run["commit"] != head:
        status = "warn"
        evidence = "proxy"
        detail += f"; HEAD is now {head[:9]}: run it again"
    return Item(key, name, status, evidence, detail, tail, {"gate": gate, "run": run})


def gate_run_dict(run: GateRun) -> dict:
    return {"gate": run.gate, "commit": run.commit, "exit_code": run.exit_code, "timed_out": run.timed_out,
            "duration_ms": run.duration_ms or 0, "output_tail": run.output_tail, "host": run.host,
            "started_at": iso(run.started_at)}


def verdict(items: list[Item]) -> str:
    if any(i.status == "fail" for i in items):
        return "needs-work"
    if any(i.evidence == "blocked" and i.counts_blocked for i in items):
        return "blocked"
    if any(i.status != "pass" for i in items):
        return "ready-with-warnings"
    return "ready"


def git_items(t: TaskFacts, st: GitState) -> tuple[list[Item], list[dict], list[dict]]:
    """All items but the gates; also the commits and the changed files for --json."""
    items = [item_worktree(t, st)]
    commits_item, commits = item_commits(t, st)
    items.append(commits_item)
    files, error = (None, None) if _range_blocker(t, st) else changed_files(t, st)
    items.append(item_write_set(t, st, files, error, (items[0].data or {}).get("dirty")))
    items.append(item_diff_check(t, st))
    items.append(item_mergeability(t, st))
    return items, commits, files or []
