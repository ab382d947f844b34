"""Pure: a session's parse state and the clock give what its agent is doing, observed or inferred."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from orchestrator.classify.evidence import SessionFacts
from orchestrator.probes.sessions import claude
from orchestrator.probes.sessions import codex
from orchestrator.probes.sessions import kinds as K
from orchestrator.redact import redact
from orchestrator.timeutil import format_duration, parse_iso_lenient

FINAL_QUIET = timedelta(seconds=20)  # a final answer with nothing after it for this long ends the turn
# Claude writes a text block before the tool call it streams next, with stop_reason null on both: a text with no
# end_turn and no end-of-turn marker ends the turn only after a longer silence (the corpus shows 20-72 s gaps).
STREAMED_QUIET = timedelta(seconds=90)
# Codex before 0.10x writes no task_started/task_complete: a last assistant message then quiet is the best sign.
LEGACY_QUIET = timedelta(seconds=60)
CONTEXT_PRESSURE = 0.9  # share of the model's context window in use that is worth a note
NEVER = timedelta.max
# How long a pending tool call, with nothing written after it, may take before the silence means a permission
# prompt, by what the tool is (kinds.tool_kind). None: the configured `wait_after` (30 s by default), for shell
# commands and tools orch does not know. Local edits and reads finish at once; a fetch and an MCP server may take
# a while; a sub-agent, a poll of a running command and the agent's to-do list never ask.
TOOL_WAITS: dict[str, timedelta | None] = {
    K.EDIT: timedelta(seconds=15),
    K.LOCAL: timedelta(seconds=15),
    K.SHELL: None,
    K.OTHER: None,
    K.WEB: timedelta(seconds=90),
    K.MCP: timedelta(seconds=60),
    K.PLAN: NEVER,
    K.POLL: NEVER,
    K.SUB_AGENT_TOOL: NEVER,
}
EDITS_ALLOWED = ("acceptEdits",)  # Claude permission modes in which edits never ask


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
    notes: tuple[tuple[str, str], ...] = ()  # (code, text): plan progress, context and limit pressure, API errors
    parent: str | None = None  # a sub-agent's parent session id (Codex: from session_meta; Claude: its session id)


def derive(st: dict, *, path: str, size: int, mtime: datetime | None, now: datetime, wait_after: timedelta,
           hooks_seen: bool, archived: bool = False, sub_activity: datetime | None = None) -> SessionView:
    """Derive a SessionView from a parse state; `hooks_seen` stops approval waits being guessed from timing.

    `sub_activity` is the newest line of this session's subagent transcripts: a subagent at work is the session's
    activity too.
    """
    last_ts = parse_iso_lenient(st.get("last_ts"))
    activity = max((t for t in (last_ts, mtime) if t is not None), default=None)
    if activity is not None:
        activity = min(activity, now)
    own = activity
    if sub_activity is not None and (activity is None or sub_activity > activity):
        activity = min(sub_activity, now)
    fn = _codex if st.get("agent") == "codex" else _claude
    state, observed, at, text = ("turn-ended", True, activity, "archived") if archived else \
        fn(st, now, activity, wait_after, hooks_seen, own)
    sub = bool(st.get("subagent"))
    parent = (st.get("parent") if st.get("agent") == "codex" else st.get("id")) if sub else None
    return SessionView(agent=st.get("agent", "?"), path=path, session_id=st.get("id"), cwd=st.get("cwd"),
                       state=state, observed=observed, at=at, last_activity=activity, text=text, size=size,
                       tokens=st.get("tokens") or {}, archived=archived, subagent=sub, notes=notes(st), parent=parent)


def derive_facts(f: SessionFacts, now: datetime, wait_after: timedelta, stale_after: timedelta,
                 sub_activity: datetime | None = None) -> SessionView:
    """A SessionView from what the session probe gathered; liveness counts only for an open turn gone stale."""
    view = derive(f.state, path=f.path, size=f.size, mtime=f.mtime, now=now, wait_after=wait_after,
                  hooks_seen=f.hooks_seen, archived=f.archived, sub_activity=sub_activity)
    if view.state == "running" and view.last_activity is not None and now - view.last_activity > stale_after:
        return replace(view, alive=f.alive)
    return view


def notes(st: dict) -> tuple[tuple[str, str], ...]:
    """Evidence beyond the state: plan progress, context pressure, rate limits near the wall, API errors."""
    out = []
    agent = st.get("agent", "?")
    plan = st.get("plan")
    if isinstance(plan, dict) and plan.get("total"):
        step = redact(plan.get("text") or "?")  # the model's own words: masked like any other text orch shows
        out.append(("plan", f"{agent}: step {plan.get('step')}/{plan.get('total')}: {step}"))
    window, used = st.get("context_window"), st.get("context_used")
    if isinstance(window, int) and isinstance(used, int) and window > 0 and used >= CONTEXT_PRESSURE * window:
        out.append(("context-pressure", f"{agent}: context {round(100 * used / window)}% full ({used:,} of {window:,})"))
    if st.get("compactions"):
        out.append(("compacted", f"{agent}: context compacted {st['compactions']} time(s)"))
    limit = st.get("rate_limit")
    if isinstance(limit, dict) and isinstance(limit.get("used_percent"), (int, float)) and not st.get("usage_limit"):
        out.append(("rate-limit-near", f"{agent}: {limit.get('window') or 'rate'} limit {limit['used_percent']:.0f}% used"))
    if st.get("usage_limit") or st.get("limit_error"):
        out.append(("limit-reached", f"{agent}: usage limit reached"))
    if st.get("api_errors"):
        out.append(("api-error", f"{agent}: {st['api_errors']} API error(s) in this session"))
    return tuple(out)


def _quiet(now: datetime, activity: datetime | None) -> timedelta:
    return now - activity if activity else timedelta(0)


def _newest_pending(st: dict) -> tuple[str, dict] | None:
    pending = st.get("pending") or {}
    if not pending:
        return None
    return max(pending.items(), key=lambda kv: kv[1].get("at") or "")


def tool_wait(kind: str, wait_after: timedelta) -> timedelta:
    """How long a pending call of this kind may go without output before it reads as a permission prompt."""
    wait = TOOL_WAITS.get(kind)
    return wait_after if wait is None else wait


def _pending_state(agent: str, st: dict, now, activity, wait_after, hooks_seen, may_ask: bool):
    item = _newest_pending(st)
    if item is None:
        return None
    _, call = item
    name = call.get("name") or "tool"
    kind = K.tool_kind(name)
    since = parse_iso_lenient(call.get("at")) or activity
    age = now - since if since else timedelta(0)
    nothing_after = activity is None or since is None or activity - since < timedelta(seconds=2)
    if kind == K.INPUT or name in codex.INPUT_TOOLS + claude.INPUT_TOOLS:
        return "waiting-input", False, since, f"{agent}: {name} asked a question, no answer yet"
    if kind == K.SUB_AGENT_TOOL:
        what = "subagent working" if agent == "claude" else "waiting for its sub-agent(s)"
        return "running", True, since, f"{agent}: {name} {what} for {format_duration(age)}"
    if call.get("esc") and may_ask:
        return "waiting-approval", False, since, f"{agent}: {name} asked for escalated permissions, no output yet"
    if kind == K.EDIT and st.get("permission_mode") in EDITS_ALLOWED:
        kind = K.OTHER
    wait = tool_wait(kind, wait_after)
    if may_ask and not hooks_seen and nothing_after and age > wait:
        why = ("it finishes at once, so this is a permission prompt" if kind in (K.EDIT, K.LOCAL)
               else "maybe waiting for approval")
        return ("waiting-approval", False, since,
                f"{agent}: {name} call pending {format_duration(age)} with no output: {why}")
    return "running", True, since, f"{agent}: {name} running for {format_duration(age)}"


def _codex(st, now, activity, wait_after, hooks_seen, own=None):
    turn, turn_at = st.get("turn"), parse_iso_lenient(st.get("turn_at"))
    if (st.get("usage_limit") or st.get("limit_error")) and turn != "complete":
        why = f" ({st['error']})" if turn == "failed" and st.get("error") not in (None, "error") else ""
        return "usage-limit", True, turn_at or activity, f"codex: usage limit reached{why}"
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
    quiet = _quiet(now, activity)
    final_at = parse_iso_lenient(st.get("final_at"))
    if final_at is not None and quiet > FINAL_QUIET and (activity is None or activity - final_at < timedelta(seconds=2)):
        return "turn-ended", False, final_at, "codex: final answer given, no task_complete (inferred)"
    msg_at = parse_iso_lenient(st.get("msg_at"))
    if not st.get("explicit") and msg_at is not None and quiet > LEGACY_QUIET:
        # 0.5x-0.9x: no task events; the last thing said was an assistant message and nothing but a token count since
        sure = "likely: a token count followed it" if st.get("msg_counted") else "unsure: no token count after it"
        return ("turn-ended", False, msg_at,
                f"codex: last message {format_duration(quiet)} ago, nothing since (inferred, {sure}; "
                "this Codex writes no task_complete)")
    return "running", True, turn_at, f"codex: turn open, last line {format_duration(quiet)} ago"


def _claude(st, now, activity, wait_after, hooks_seen, own=None):
    turn, turn_at = st.get("turn"), parse_iso_lenient(st.get("turn_at"))
    error_at = parse_iso_lenient(st.get("error_at"))
    if st.get("usage_limit") and turn in ("ended", "running", "failed") and not st.get("pending"):
        return "usage-limit", True, error_at or turn_at, "claude: usage limit reached"
    if turn == "failed":
        return "errored", True, error_at or turn_at, "claude: API error after the last retry, then the turn ended"
    if turn == "ended":
        return "turn-ended", True, turn_at, "claude: turn ended (turn_duration)"
    if turn == "exited":
        return "turn-ended", True, turn_at, "claude: session ended (/exit)"
    if turn == "interrupted":
        return "interrupted", True, turn_at, "claude: request interrupted by the user"
    if turn == "none":
        return "turn-ended", False, activity, "claude: session idle, no prompt yet"
    quiet = _quiet(now, activity)
    if st.get("error"):
        return "errored", True, error_at, "claude: API error after the last retry, nothing since"
    retry = st.get("retry")
    if isinstance(retry, dict) and retry.get("at"):
        return _retrying(retry, now, activity, wait_after)
    may_ask = st.get("permission_mode") not in claude.NEVER_ASK
    pending = _pending_state("claude", st, now, activity, wait_after, hooks_seen, may_ask)
    if pending is not None:
        return pending
    end_at = parse_iso_lenient(st.get("end_turn_at"))
    if end_at is not None:
        final = st.get("stop_reason") in ("end_turn", "stop_sequence")
        if final and quiet > FINAL_QUIET:
            return "turn-ended", False, end_at, "claude: answered (end_turn), nothing since (inferred)"
        if not final and quiet > STREAMED_QUIET:
            return "turn-ended", False, end_at, "claude: answered, nothing since (inferred)"
        if not final:
            return ("running", True, turn_at,
                    f"claude: wrote text {format_duration(quiet)} ago, no end of turn: maybe streaming a tool call")
    return "running", True, turn_at, f"claude: turn open, last line {format_duration(quiet)} ago"


def _retrying(retry: dict, now: datetime, activity: datetime | None, wait_after: timedelta):
    """A failed request Claude Code retries (system api_error): running while a retry is due, then errored."""
    at = parse_iso_lenient(retry.get("at"))
    attempt, most = retry.get("attempt"), retry.get("max")
    left = not (isinstance(attempt, int) and isinstance(most, int) and attempt >= most)
    due = timedelta(milliseconds=retry.get("in_ms") or 0) + wait_after
    if left and (activity is None or now - activity <= due):
        count = f" (attempt {attempt} of {most})" if isinstance(attempt, int) and isinstance(most, int) else ""
        return "running", True, at, f"claude: API error, retrying{count}"
    return "errored", False, at, "claude: API error, no retry came (inferred)"
