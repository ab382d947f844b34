"""The tick's session stage, where the session probes meet the ledger: discover and incrementally read session logs
(probes/sessions/), ingest hook events, keep cursors and session rows; facts per task, no verdict."""

from __future__ import annotations

import copy
import dataclasses
import ntpath
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.ledger import kv
from orchestrator.ledger.models import HookEvent, Project, SessionFile, Task
from orchestrator.classify.evidence import HookView, SessionFacts
from orchestrator.probes.sessions import claude
from orchestrator.probes.sessions import codex
from orchestrator.probes.sessions import discover
from orchestrator.probes import appendlog as hookfile
from orchestrator.probes.sessions import liveness
from orchestrator.classify.fuse import session_views, with_hooks
from orchestrator.probes.sessions import trail
from orchestrator.probes.sessions.reader import Cursor, read_appended
from orchestrator.classify.agent import SessionView
from orchestrator.timeutil import iso, parse_iso_lenient

PARSERS = {"codex": codex, "claude": claude}
LIVE_FOR = 3 * 86400  # known files untouched for longer are no longer stat-ed each tick
HOOK_WINDOW = timedelta(days=2)


@dataclass
class AgentProbe:
    """What the session and hook probes learned in one tick."""

    facts: dict[int, list[SessionFacts]] = field(default_factory=dict)  # task id -> its sessions, as read
    hooks: dict[int, list[HookView]] = field(default_factory=dict)  # task id -> its recent hook events
    sessions: list[dict] = field(default_factory=list)  # every session in this repository, for `orch sessions`
    untracked: list[dict] = field(default_factory=list)  # sessions working in the repo that belong to no task
    health: dict = field(default_factory=dict)  # counts of skipped lines, unreadable dirs, ...


_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")  # a drive (C:\ or C:/) or a share (\\server)


def path_key(path: str) -> tuple[str, str]:
    """A path in the form worktrees are compared in, and its separator: symlinks resolved; a Windows path (a drive
    letter or a share, as a Windows host on a shared ledger writes it) also case-folded with backslashes."""
    if _WINDOWS_PATH.match(path) and os.name != "nt":
        return ntpath.normcase(ntpath.normpath(path)), "\\"
    real = os.path.realpath(path)
    if os.name == "nt":
        return ntpath.normcase(real), "\\"
    return real, os.sep


class Matcher:
    """Maps a working directory to the task whose worktree contains it, and tells whether it is in the repository."""

    def __init__(self, task_paths: dict[int, str], scopes: list[str], root: str):
        self.tasks = sorted(((path_key(p), tid) for tid, p in task_paths.items()), key=lambda x: -len(x[0][0]))
        keys = {path_key(p) for p in scopes} | {k for k, _ in self.tasks}
        self.scopes = sorted(keys, key=lambda k: len(k[0]), reverse=True)
        # the folders to look for session files in, as this host spells them (Claude's project folder names)
        self.folders = sorted({os.path.realpath(p) for p in [*scopes, *task_paths.values()]}, key=len, reverse=True)
        self.root = path_key(root)[0]
        self._cache: dict[str, tuple[str, str]] = {}

    def _real(self, cwd: str) -> tuple[str, str]:
        if cwd not in self._cache:
            self._cache[cwd] = path_key(cwd)
        return self._cache[cwd]

    @staticmethod
    def _inside(path: tuple[str, str], base: tuple[str, str]) -> bool:
        (p, sep), (b, bsep) = path, base
        return sep == bsep and (p == b or p.startswith(b.rstrip(sep) + sep))

    def task(self, cwd: str | None) -> int | None:
        if not cwd:
            return None
        real = self._real(cwd)
        return next((tid for p, tid in self.tasks if self._inside(real, p)), None)

    def scope(self, cwd: str | None) -> str | None:
        """The worktree of this repository containing `cwd`, or None when it is elsewhere."""
        if not cwd:
            return None
        real = self._real(cwd)
        return next((p[0] for p in self.scopes if self._inside(real, p)), None)


def _count(health: dict, key: str, n: int = 1) -> None:
    if n:
        health[key] = health.get(key, 0) + n


def collect(ledger, s: Session, proj: Project, tasks: list[Task], paths: dict[int, str], now: datetime,
            dry_run: bool, worktrees: list[str] = ()) -> AgentProbe:
    """Read what changed since the last tick and gather each task's session facts and hook events (the classifier
    derives and fuses them with the thresholds); never raises on bad input."""
    cfg = ledger.settings
    host = cfg.hostname
    health: dict = {}
    task_paths = {t.id: paths.get(t.id) or t.worktree for t in tasks if paths.get(t.id) or t.worktree}
    root = str(ledger.paths.root)
    match = Matcher(task_paths, [root, *worktrees], root)
    by_id = {t.id: t for t in tasks}

    extra_paths, hooks_seen = _ingest_hooks(ledger, s, proj, host, match, health, dry_run, now)
    found = _tie_subagents(_read_sessions(s, proj, host, match, extra_paths, hooks_seen, health, now, cfg))
    out = AgentProbe(health=health, hooks=_recent_hooks(s, proj, host, [t.id for t in tasks], now))
    for f, tid, _ in found:
        if tid is not None:
            out.facts.setdefault(tid, []).append(f)
    # for display only (`orch sessions`, the stored view): the pure derivation with the configured thresholds
    views = session_views([f for f, _, _ in found], now, cfg.wait_after, cfg.stale_after)
    subs: dict[str | None, list[SessionView]] = {}
    listed = {v.session_id for v in views if not v.subagent}
    for view in views:
        if view.subagent and view.parent in listed:  # shown inside its parent session's entry
            subs.setdefault(view.parent, []).append(view)
    recent = max(cfg.stale_after, timedelta(hours=1))
    # each session's state with its hook events, by the rule the task's state is fused with (classify/fuse.py)
    views = [with_hooks(v, out.hooks.get(tid, ())) if tid is not None else v for v, (_, tid, _) in zip(views, found)]
    for view, (f, tid, row) in zip(views, found):
        row.state = {**f.state, "_view": {"state": view.state, "observed": view.observed, "text": view.text}}
        if view.subagent and view.parent in listed:
            continue
        d = _session_dict(view, by_id.get(tid), match, root, subs.get(view.session_id, []))
        out.sessions.append(d)
        if tid is None and not view.subagent and view.last_activity and now - view.last_activity <= recent \
                and match.scope(view.cwd) not in (None, match.root):
            out.untracked.append(d)
    # health notes: limits that do not stop a worker yet, and errors that did
    _count(health, "near_limits", sum(1 for v in views if v.state == "running" and any(
        c in ("context-pressure", "rate-limit-near") for c, _ in v.notes)))
    _count(health, "limit_stops", sum(1 for v in views if v.state in ("usage-limit", "errored")
                                       and v.last_activity and now - v.last_activity <= recent))
    return out


def _tie_subagents(found: list) -> list:
    """A Codex sub-agent's rollout belongs to its parent's task (found by the parent's thread id); only when the
    parent's rollout is not here does its own cwd decide."""
    tasks = {f.session_id: tid for f, tid, _ in found if not f.subagent and f.session_id and tid is not None}
    out = []
    for f, tid, row in found:
        parent = f.state.get("parent") if f.agent == "codex" and f.subagent else None
        if parent in tasks and tasks[parent] != tid:
            tid = row.task_id = tasks[parent]
        out.append((f, tid, row))
    return out


def _session_dict(v: SessionView, task: Task | None, match: Matcher, root: str, subs: list[SessionView] = ()) -> dict:
    where = match.scope(v.cwd)
    # a Claude subagent's usage is its own; a forked Codex sub-agent's count repeats its parent's history
    sub_tokens = sum((x.tokens or {}).get("total_tokens") or 0 for x in subs if x.agent == "claude")
    total = dict(v.tokens or {})
    if sub_tokens:
        total["total_tokens"] = (total.get("total_tokens") or 0) + sub_tokens
    return {"agent": v.agent, "session_id": v.session_id, "path": v.path, "cwd": v.cwd, "state": v.state,
            "observed": v.observed, "detail": v.text, "since": iso(v.at), "last_activity": iso(v.last_activity),
            "tokens": v.tokens, "task": task.key if task else None, "archived": v.archived,
            "subagent": v.subagent, "subagents": [{"path": x.path, "state": x.state, "tokens": x.tokens,
                                                   "last_activity": iso(x.last_activity)} for x in subs],
            "subagent_tokens": sub_tokens, "tokens_with_subagents": total, "notes": [t for _, t in v.notes],
            "role": "orchestrator" if where == match.root and task is None else ("worker" if task else "untracked")}


def _ingest_hooks(ledger, s, proj, host, match: Matcher, health, dry_run,
                  now) -> tuple[list[tuple[str, str]], set[str]]:
    """Hook events since the last tick into the ledger; returns the transcripts they name and the agents
    whose hooks have ever reported on this host (kept in kv, so the hook events are never scanned)."""
    cursor = kv.get(s, proj, host, "hook_log")
    records, new_cursor = hookfile.read_new(ledger.paths.state / "hooks", cursor, health, rotate=not dry_run)
    transcripts = []
    for r in records:
        at = parse_iso_lenient(r.get("at")) or now
        cwd = r.get("cwd") if isinstance(r.get("cwd"), str) else None
        agent = r.get("agent") if r.get("agent") in ("codex", "claude") else "other"
        s.add(HookEvent(project_id=proj.id, host=host, at=at, agent=agent, event=str(r.get("event"))[:64],
                        session_id=r.get("session_id"), cwd=cwd, task_id=match.task(cwd),
                        data={k: r.get(k) for k in ("turn_id", "detail", "transcript_path", "pid") if r.get(k)}))
        tp = r.get("transcript_path")
        if isinstance(tp, str) and tp.endswith(".jsonl") and agent in PARSERS:
            transcripts.append((agent, tp))
    _count(health, "hook_events", len(records))
    if new_cursor != cursor:
        kv.put(s, proj, host, "hook_log", new_cursor, now)
    agents = {r.get("agent") for r in records} & set(PARSERS)
    seen = set(kv.get(s, proj, host, "hooks_seen").get("agents", []))
    if agents - seen:
        kv.put(s, proj, host, "hooks_seen", {"agents": sorted(seen | agents)}, now)
    s.flush()
    return transcripts, seen | agents


def _recent_hooks(s, proj, host, task_ids, now) -> dict[int, list[HookView]]:
    if not task_ids:
        return {}
    rows = s.scalars(select(HookEvent).where(HookEvent.project_id == proj.id, HookEvent.task_id.in_(task_ids),
                                             HookEvent.at >= now - HOOK_WINDOW).order_by(HookEvent.id.desc())
                     .limit(2000))
    out: dict[int, list[HookView]] = {}
    for h in rows:
        out.setdefault(h.task_id, []).append(HookView(id=h.id, agent=h.agent, event=h.event, at=h.at,
                                                      session_id=h.session_id, detail=(h.data or {}).get("detail")))
    return out


def _read_sessions(s, proj, host, match: Matcher, extra, seen: set[str], health, now, cfg):
    """Every relevant session's view and task id; reads only appended bytes of changed files."""
    roots = discover.Roots(cfg.codex_home, cfg.claude_home)
    found, new_cursor = discover.scan(roots, match.folders, kv.get(s, proj, host, "session_scan"), health)
    kv.put(s, proj, host, "session_scan", new_cursor, now)
    wall = time.time()
    rows = {r.path: r for r in s.scalars(select(SessionFile).where(
        SessionFile.host == host, (SessionFile.mtime >= wall - LIVE_FOR) | SessionFile.task_id.is_not(None)))}
    candidates = {p: a for a, p in found}
    candidates.update({p: a for a, p in extra})
    for p, r in rows.items():
        candidates.setdefault(p, r.agent)
    out = []
    for path, agent in candidates.items():
        row = rows.get(path) or _known(s, host, path)
        row, archived = _follow_archive(s, roots, row, path, agent, health)
        if row is None and not os.path.exists(path):
            continue
        item = _update(s, host, row, row.path if row else path, agent, match, health, now, agent in seen, archived)
        if item is not None:
            out.append(_with_liveness(item, roots))
    return out


def _turn_open(st: dict) -> bool:
    return st.get("turn") == "running"


def _with_liveness(item, roots: discover.Roots):
    """While a turn is open, ask whether the agent's process is still there (cheap, read only)."""
    f, tid, row = item
    if not _turn_open(f.state):
        return item
    sid = f.session_id
    alive = liveness.codex_alive(roots.codex, sid) if f.agent == "codex" else liveness.claude_alive(roots.claude, sid)
    return dataclasses.replace(f, alive=alive), tid, row


def _known(s, host, path) -> SessionFile | None:
    return s.scalars(select(SessionFile).where(SessionFile.host == host, SessionFile.path == path)).first()


def _follow_archive(s, roots, row, path, agent, health):
    """A Codex rollout that vanished from sessions/ may have been archived: follow it there."""
    if row is None or os.path.exists(path):
        return row, bool(row is not None and (row.state or {}).get("archived"))
    moved = roots.codex / "archived_sessions" / os.path.basename(path)
    if agent == "codex" and moved.exists() and _known(s, row.host, str(moved)) is None:
        row.path = str(moved)
        row.state = {**(row.state or {}), "archived": True}
        return row, True
    return None, False


def _update(s, host, row, path, agent, match, health, now, hooks_seen, archived):
    try:
        st = os.stat(path)
    except OSError:
        return None
    mod = PARSERS[agent]
    sub = discover.is_subagent(path) if agent == "claude" else False
    if row is None:
        row = SessionFile(host=host, path=path, agent=agent, state=_new(mod, sub), size=0, offset=0,
                          first_seen=now, updated_at=now)
        s.add(row)
    state = copy.deepcopy(row.state) if row.state else _new(mod, sub)
    state.pop("_view", None)
    # size and inode are what the last full read saw; they move only when this tick reads the file, so that
    # another project's tick on the same host (a shared ledger) never marks unread lines as read.
    changed = row.inode != st.st_ino or row.size != st.st_size
    if changed and (match.scope(state.get("cwd")) is not None or not state.get("cwd")):
        state = _read(row, state, mod, path, match, health, sub)
        if match.scope(state.get("cwd")) is not None:
            row.size, row.inode = st.st_size, st.st_ino
    row.mtime = st.st_mtime
    row.session_id = state.get("id")
    row.cwd = state.get("cwd")
    row.state = state
    if match.scope(row.cwd) is None:
        return None  # elsewhere on the machine: the task link belongs to whichever project it is in
    row.task_id = match.task(row.cwd)
    mtime = datetime.fromtimestamp(st.st_mtime, tz=timezone.utc)
    last_ts = parse_iso_lenient(state.get("last_ts"))
    row.last_activity_at = min(max((t for t in (last_ts, mtime) if t is not None)), now)
    row.updated_at = now
    facts = SessionFacts(agent=agent, path=path, state=state, size=st.st_size, mtime=mtime, archived=archived,
                         subagent=bool(state.get("subagent")), hooks_seen=hooks_seen)
    return facts, row.task_id, row


def _new(mod, subagent: bool) -> dict:
    return mod.new_state(subagent=True) if subagent else mod.new_state()


def _read(row, state, mod, path, match, health, sub: bool = False) -> dict:
    cur = Cursor(offset=row.offset or 0, inode=row.inode, head=row.head_hash,
                 skipping=bool(state.get("_skipping")), line=int(state.get("_line") or 0))
    holder = {"st": state}

    def reset():
        holder["st"] = _new(mod, sub)

    def line(obj, n: int) -> bool:
        mod.feed(holder["st"], obj)
        trail.feed(holder["st"], obj, n)
        cwd = holder["st"].get("cwd")
        return bool(cwd) and match.scope(cwd) is None  # elsewhere on the machine: stop reading it

    try:
        new, stats = read_appended(path, cur, line, reset, numbered=True)
    except OSError:
        _count(health, "unreadable")
        return state
    _count(health, "files_read")
    _count(health, "bytes_read", stats.bytes)
    _count(health, "bad_lines", stats.bad)
    _count(health, "oversized_lines", stats.oversized)
    _count(health, "resets", int(stats.reset))
    out = holder["st"]
    out["_skipping"] = new.skipping
    out["_line"] = new.line
    row.offset, row.head_hash = new.offset, new.head
    return out
