"""Pure: fuse a task's session states and hook events into one AgentState for the classifier."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from orchestrator.classify.evidence import AgentState, Evidence, HookView, SessionFacts
from orchestrator.classify.agent import SessionView, derive_facts

WAITING = ("waiting-approval", "waiting-input")
FAILED = ("errored", "usage-limit")
TURN_END_HOOKS = ("Stop", "agent-turn-complete")  # they fire after a failed turn too: the log's error wins
HOOK_SKEW = timedelta(seconds=1)  # a log line this much older than a hook event does not overrule it


def hook_state(h: HookView) -> tuple[str, str] | None:
    """The agent state a hook event implies, with a few words; None when it only shows activity."""
    ev, a = h.event, h.agent
    detail = f": {h.detail}" if h.detail else ""
    if ev == "PermissionRequest":
        return "waiting-approval", f"{a} asks for approval (PermissionRequest hook{detail})"
    if ev == "Notification":
        if h.detail == "permission_prompt":
            return "waiting-approval", f"{a} shows a permission prompt (Notification hook)"
        if h.detail == "elicitation_dialog":
            return "waiting-input", f"{a} asks the user a question (Notification hook)"
        if h.detail == "idle_prompt":
            return "turn-ended", f"{a} is idle at its prompt (Notification hook)"
        return None
    if ev in ("Stop", "agent-turn-complete"):
        return "turn-ended", f"{a} ended its turn ({ev} hook)"
    if ev == "StopFailure":
        return "errored", f"{a}'s turn failed (StopFailure hook{detail})"
    if ev == "SessionEnd":
        return "turn-ended", f"{a} session ended (SessionEnd hook{detail})"
    if ev in ("UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure"):
        return "running", f"{a} is working ({ev} hook)"
    return None


@dataclass(frozen=True)
class _Candidate:
    state: str
    observed: bool
    at: datetime | None
    activity: datetime | None
    evidence: tuple[Evidence, ...]
    alive: bool | None = None


def _from_session(v: SessionView, hooks: list[HookView]) -> _Candidate:
    kind = "session-log" if v.observed else "timing"
    ev = [Evidence(kind, v.state, v.text, v.at)]
    if v.alive is False:
        ev.append(Evidence("session-log", "process-gone", f"{v.agent}: its process is gone (killed or crashed)"))
    elif v.alive:
        ev.append(Evidence("session-log", "process-alive", f"{v.agent}: its process is still running"))
    ev += [Evidence("session-log", code, text) for code, text in v.notes]
    cand = _Candidate(v.state, v.observed, v.at, v.last_activity, tuple(ev), v.alive)
    latest = max((h for h in hooks if hook_state(h) is not None), key=lambda h: (h.at, h.id), default=None)
    activity = max([t for t in [v.last_activity, *(h.at for h in hooks)] if t is not None], default=None)
    if latest is not None and (v.last_activity is None or latest.at >= v.last_activity - HOOK_SKEW):
        state, text = hook_state(latest)
        if v.state in FAILED and latest.event in TURN_END_HOOKS:  # an API error, then the Stop hook: it failed
            return _Candidate(v.state, True, v.at, activity, (*ev, Evidence("hook", state, text, latest.at)), v.alive)
        return _Candidate(state, True, latest.at, activity, (Evidence("hook", state, text, latest.at), *ev), v.alive)
    return _Candidate(cand.state, cand.observed, cand.at, activity, cand.evidence, v.alive)


def _from_hooks(hooks: list[HookView]) -> _Candidate | None:
    latest = max((h for h in hooks if hook_state(h) is not None), key=lambda h: (h.at, h.id), default=None)
    if latest is None:
        return None
    state, text = hook_state(latest)
    activity = max(h.at for h in hooks)
    return _Candidate(state, True, latest.at, activity, (Evidence("hook", state, text, latest.at),))


def session_hooks(v: SessionView, hooks: list[HookView] | tuple[HookView, ...]) -> list[HookView]:
    """The hook events that speak for one session: its own, and the task's events that name no session."""
    return [h for h in hooks if h.session_id in (v.session_id, None)]


def with_hooks(v: SessionView, hooks: list[HookView] | tuple[HookView, ...]) -> SessionView:
    """One session's view with its hook events applied by the same rule as the task's fused state: what
    `orch sessions` and `orch task show` show for the session."""
    if v.subagent:
        return v
    c = _from_session(v, session_hooks(v, hooks))
    if c.state == v.state and c.at == v.at:
        return v
    return replace(v, state=c.state, observed=c.observed, at=c.at, text=c.evidence[0].text if c.evidence else v.text)


def fuse(sessions: list[SessionView], hooks: list[HookView], stale_after: timedelta) -> AgentState | None:
    """One AgentState from every session and hook event of a task; None when there is no such evidence."""
    by_session: dict[str | None, list[HookView]] = {}
    for h in hooks:
        by_session.setdefault(h.session_id, []).append(h)
    known = {v.session_id for v in sessions}
    parents = {v.session_id for v in sessions if not v.subagent}
    cands = [_from_session(v, by_session.get(v.session_id, []) + by_session.get(None, [])) for v in sessions
             if not v.subagent]
    for v in sessions:
        # a sub-agent is its parent's activity (session_views); without its parent's file in the task it stands in
        # for it, and with it only a prompt it shows (a permission request, a question) is the task's state too
        if v.subagent and (v.parent not in parents or v.state in WAITING):
            c = _from_session(v, by_session.get(v.session_id, []) if v.parent not in parents else [])
            note = Evidence("session-log", "sub-agent", f"{v.agent}: a sub-agent's session"
                            + ("" if v.parent in parents else " (its parent's session is not in this worktree)"))
            cands.append(_Candidate(c.state, c.observed, c.at, c.activity, (*c.evidence, note), c.alive))
    for sid, hs in by_session.items():
        if sid is not None and sid not in known:
            c = _from_hooks(hs)
            if c is not None:
                cands.append(c)
    if not cands and None in by_session:
        c = _from_hooks(by_session[None])
        if c is not None:
            cands.append(c)
    if not cands:
        return None
    floor = datetime.min.replace(tzinfo=None)
    key = lambda c: c.activity.replace(tzinfo=None) if c.activity else floor  # noqa: E731
    primary = max(cands, key=key)
    if primary.state not in WAITING:
        for c in cands:
            if c.state in WAITING and c.activity and primary.activity and primary.activity - c.activity <= stale_after:
                primary = c
                break
    activity = max((c.activity for c in cands if c.activity), default=None)
    return AgentState(state=primary.state, observed=primary.observed, at=primary.at, last_activity=activity,
                      evidence=primary.evidence, fingerprint=fingerprint(sessions, hooks), alive=primary.alive)


def fingerprint(sessions: list[SessionView], hooks: list[HookView]) -> str:
    """Changes whenever a log grows or a hook event arrives."""
    parts = sorted(f"{v.path}:{v.size}" for v in sessions)
    parts.append(str(max((h.id for h in hooks), default=0)))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def session_views(sessions: list[SessionFacts] | tuple[SessionFacts, ...], now: datetime, wait_after: timedelta,
                  stale_after: timedelta) -> list[SessionView]:
    """Every session's view, a parent's activity including its sub-agents' (a Claude subagent's lines carry its
    parent's session id; a Codex sub-agent's session_meta names its parent thread)."""
    sub: dict[str | None, datetime] = {}
    own: dict[int, SessionView] = {}
    for i, f in enumerate(sessions):
        if f.subagent:
            view = own[i] = derive_facts(f, now, wait_after, stale_after)
            at = view.last_activity
            if view.parent and at is not None and (view.parent not in sub or at > sub[view.parent]):
                sub[view.parent] = at
    return [own[i] if f.subagent else derive_facts(f, now, wait_after, stale_after, sub.get(f.session_id))
            for i, f in enumerate(sessions)]


def agent_state(sessions, hooks, now: datetime, wait_after: timedelta, stale_after: timedelta) -> AgentState | None:
    """The classifier's entry: session facts and hook events in, one fused AgentState out (None: no evidence)."""
    return fuse(session_views(sessions, now, wait_after, stale_after), list(hooks), stale_after)
