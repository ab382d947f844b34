"""Pure: a session's parse state and the clock give what its agent is doing, observed or inferred."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orchestrator.probes.sessions import claude
from orchestrator.probes.sessions import codex
from orchestrator.timeutil import format_duration, parse_iso_lenient

FINAL_QUIET = timedelta(seconds=20)  # a final answer with nothing after it for this long ends the turn


@dataclass(frozen=True)
class SessionView:
    """One session's derived state, ready for fusion and display."""

    agent: str
    path: str
    session_id: str | None
    cwd: str | None
    state: str  # running | turn-ended | interrupted | errored | waiting-approval | waiting-input | usage-limit
    observed: bool
    at: datetime | None  # when the state began, as far as the log says
    last_activity: datetime | None
    text: str
    size: int = 0
    tokens: dict = field(default_factory=dict)
    archived: bool = False
    subagent: bool = False
    alive: bool | None = None  # the agent's process, where the agent says (None: cannot tell)


def derive(st: dict, *, path: str, size: int, mtime: datetime | None, now: datetime, wait_after: timedelta,
           hooks_seen: bool, archived: bool = False) -> SessionView:
    """Derive a SessionView from a parse state; `hooks_seen` stops approval waits being guessed from timing."""
    last_ts = parse_iso_lenient(st.get("last_ts"))
    activity = max((t for t in (last_ts, mtime) if t is not None), default=None)
    if activity is not None:
        activity = min(activity, now)
    fn = _codex if st.get("agent") == "codex" else _claude
    state, observed, at, text = ("turn-ended", True, activity, "archived") if archived else \
        fn(st, now, activity, wait_after, hooks_seen)
    return SessionView(agent=st.get("agent", "?"), path=path, session_id=st.get("id"), cwd=st.get("cwd"),
                       state=state, observed=observed, at=at, last_activity=activity, text=text, size=size,
                       tokens=st.get("tokens") or {}, archived=archived, subagent=bool(st.get("subagent")))


def _quiet(now: datetime, activity: datetime | None) -> timedelta:
    return now - activity if activity else timedelta(0)


def _newest_pending(st: dict) -> tuple[str, dict] | None:
    pending = st.get("pending") or {}
    if not pending:
        return None
    return max(pending.items(), key=lambda kv: kv[1].get("at") or "")


def _pending_state(agent: str, st: dict, now, activity, wait_after, hooks_seen, may_ask: bool):
    item = _newest_pending(st)
    if item is None:
        return None
    _, call = item
    name = call.get("name") or "tool"
    since = parse_iso_lenient(call.get("at")) or activity
    age = now - since if since else timedelta(0)
    nothing_after = activity is None or since is None or activity - since < timedelta(seconds=2)
    if name in codex.INPUT_TOOLS + claude.INPUT_TOOLS:
        return "waiting-input", False, since, f"{agent}: {name} asked a question, no answer yet"
    if call.get("esc") and may_ask:
        return "waiting-approval", False, since, f"{agent}: {name} asked for escalated permissions, no output yet"
    if may_ask and not hooks_seen and nothing_after and age > wait_after:
        return ("waiting-approval", False, since,
                f"{agent}: {name} call pending {format_duration(age)} with no output: maybe waiting for approval")
    return "running", True, since, f"{agent}: {name} running for {format_duration(age)}"


def _codex(st, now, activity, wait_after, hooks_seen):
    turn, turn_at = st.get("turn"), parse_iso_lenient(st.get("turn_at"))
    if st.get("usage_limit") and turn != "complete":
        return "usage-limit", True, turn_at or activity, "codex: usage limit reached"
    if turn == "complete":
        return "turn-ended", True, turn_at, "codex: turn complete (task_complete)"
    if turn == "aborted":
        reason = st.get("abort_reason") or "unknown"
        if reason == "interrupted":
            return "interrupted", True, turn_at, "codex: turn interrupted by the user"
        return "turn-ended", True, turn_at, f"codex: turn aborted ({reason})"
    if turn == "failed":
        return "errored", True, turn_at, f"codex: turn failed ({st.get('error') or 'error'})"
    if turn == "none":
        return "turn-ended", False, activity, "codex: session idle, no turn started"
    may_ask = st.get("approval") != "never"
    pending = _pending_state("codex", st, now, activity, wait_after, hooks_seen, may_ask)
    if pending is not None:
        return pending
    final_at = parse_iso_lenient(st.get("final_at"))
    if final_at is not None and _quiet(now, activity) > FINAL_QUIET and (activity is None or activity - final_at < timedelta(seconds=2)):
        return "turn-ended", False, final_at, "codex: final answer given, no task_complete (inferred)"
    return "running", True, turn_at, f"codex: turn open, last line {format_duration(_quiet(now, activity))} ago"


def _claude(st, now, activity, wait_after, hooks_seen):
    turn, turn_at = st.get("turn"), parse_iso_lenient(st.get("turn_at"))
    if turn == "ended":
        return "turn-ended", True, turn_at, "claude: turn ended (turn_duration)"
    if turn == "interrupted":
        return "interrupted", True, turn_at, "claude: request interrupted by the user"
    if turn == "none":
        return "turn-ended", False, activity, "claude: session idle, no prompt yet"
    if st.get("error") and _quiet(now, activity) > wait_after:
        return "errored", False, parse_iso_lenient(st.get("error_at")), "claude: API error, nothing since"
    may_ask = st.get("permission_mode") != "bypassPermissions"
    pending = _pending_state("claude", st, now, activity, wait_after, hooks_seen, may_ask)
    if pending is not None:
        return pending
    end_at = parse_iso_lenient(st.get("end_turn_at"))
    if end_at is not None and _quiet(now, activity) > FINAL_QUIET:
        return "turn-ended", False, end_at, "claude: answered, nothing since (inferred)"
    return "running", True, turn_at, f"claude: turn open, last line {format_duration(_quiet(now, activity))} ago"
