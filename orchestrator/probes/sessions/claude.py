"""Incremental parser of Claude Code transcript lines into a small, JSON-serialisable parse state."""

from __future__ import annotations

from orchestrator.probes.sessions.lines import begin, plan_steps, text

PENDING_MAX = 50
RECENT_MSGS = 8  # API message ids whose usage is kept, so that a message's later lines replace its earlier ones
INTERRUPT = "[Request interrupted by user"
NOTIFICATION = "<task-notification>"
INPUT_TOOLS = ("AskUserQuestion", "ExitPlanMode")
END_SUBTYPES = ("turn_duration", "stop_hook_summary")
NEVER_ASK = ("bypassPermissions", "dontAsk")  # permission modes that never show a prompt
ACTIVITY_ONLY = ("queue-operation", "progress", "file-history-snapshot", "last-prompt", "summary", "custom-title",
                 "permission-mode", "agent-setting", "attachment")
USAGE_LIMIT = ("usage limit reached", "limit reached", "out of extra usage", "hit your limit")


def new_state(subagent: bool = False) -> dict:
    """An empty parse state; `subagent` for a subagent's own transcript (agent-*.jsonl), whose lines are sidechain."""
    return {"agent": "claude", "id": None, "cwd": None, "turn": "none", "turn_at": None, "pending": {},
            "end_turn_at": None, "stop_reason": None, "markers": False, "last_ts": None, "last_kind": None,
            "tokens": None, "last_msg": None, "msgs": [], "permission_mode": None, "error": None, "error_at": None,
            "usage_limit": False, "api_errors": 0, "compactions": 0, "compact_at": None, "prompts": 0,
            "plan": None, "version": None, "subagent": subagent, "agent_id": None, "lines": 0}


_s = text


def feed(st: dict, obj) -> None:
    """Apply one decoded transcript line to the parse state; unknown shapes only count as activity."""
    if not isinstance(obj, dict):
        return
    kind = begin(st, obj)
    ts = _s(obj.get("timestamp"))
    st["last_kind"] = kind
    st["id"] = st["id"] or _s(obj.get("sessionId"))
    st["cwd"] = _s(obj.get("cwd")) or st["cwd"]
    st["version"] = _s(obj.get("version")) or st.get("version")
    if kind == "permission-mode":
        st["permission_mode"] = _s(obj.get("permissionMode")) or st["permission_mode"]
    if kind in ACTIVITY_ONLY:
        return  # queue operations, hook/tool progress, snapshots: the agent is there, the turn is unchanged
    if obj.get("isSidechain") is True:
        if not st.get("subagent"):
            return  # a subagent's line inline in the parent's file: activity, but not the main turn
        st["agent_id"] = st.get("agent_id") or _s(obj.get("agentId"))  # a subagent's own transcript
    msg = obj.get("message") if isinstance(obj.get("message"), dict) else {}
    if kind == "user":
        st["permission_mode"] = _s(obj.get("permissionMode")) or st["permission_mode"]
        _user(st, msg.get("content"), ts, meta=bool(obj.get("isMeta") or obj.get("isCompactSummary")))
    elif kind == "assistant":
        _assistant(st, msg, ts, api_error=obj.get("isApiErrorMessage") is True or _s(msg.get("model")) == "<synthetic>")
    elif kind == "system":
        sub = _s(obj.get("subtype")) or ""
        st["last_kind"] = f"system:{sub}"
        if sub in END_SUBTYPES:
            st.update(turn="ended", turn_at=ts, pending={}, markers=True)
        elif sub == "api_error":
            st.update(error="api_error", error_at=ts)
            st["api_errors"] = st.get("api_errors", 0) + 1
        elif sub == "compact_boundary":
            st["compactions"] = st.get("compactions", 0) + 1
            st["compact_at"] = ts


def _user(st: dict, content, ts: str | None, meta: bool) -> None:
    if isinstance(content, str):
        if content.startswith(INTERRUPT):
            st.update(turn="interrupted", turn_at=ts, pending={})
        elif content.lstrip().startswith(NOTIFICATION):
            # a background task's notice, handed to the model by Claude Code: the agent answers it, no one asked
            if st["turn"] != "running":
                st.update(turn="running", turn_at=ts, end_turn_at=None)
        elif not meta:
            _prompt(st, ts)
        return
    if not isinstance(content, list):
        return
    prompt = False
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            st["pending"].pop(_s(block.get("tool_use_id")) or "", None)
            st["error"] = None
        elif block.get("type") == "text":
            text = _s(block.get("text")) or ""
            if text.startswith(INTERRUPT):
                st.update(turn="interrupted", turn_at=ts, pending={})
                return
            prompt = prompt or not (meta or text.lstrip().startswith(NOTIFICATION))
    if prompt:
        _prompt(st, ts)
    elif st["turn"] not in ("running",):
        st["turn"] = "running"


def _prompt(st: dict, ts: str | None) -> None:
    st.update(turn="running", turn_at=ts, pending={}, end_turn_at=None, error=None, usage_limit=False)
    st["prompts"] = st.get("prompts", 0) + 1


def _assistant(st: dict, msg: dict, ts: str | None, api_error: bool = False) -> None:
    if st["turn"] != "running":
        st.update(turn="running", turn_at=ts)
    st["error"] = None
    content = msg.get("content")
    text_end = False
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_use" and _s(block.get("id")) and len(st["pending"]) < PENDING_MAX:
            name = (_s(block.get("name")) or "tool")[:64]
            st["pending"][block["id"]] = {"name": name, "at": ts}
            text_end = False
            if name == "TodoWrite" and isinstance(block.get("input"), dict):
                st["plan"] = plan_steps(block["input"].get("todos"), "content", "status", ts) or st.get("plan")
        elif block.get("type") == "text":
            text_end = True
            if api_error:
                words = (_s(block.get("text")) or "").lower()
                if any(w in words for w in USAGE_LIMIT):
                    st["usage_limit"] = True
                st.update(error="usage_limit" if st.get("usage_limit") else "api_error", error_at=ts)
                st["api_errors"] = st.get("api_errors", 0) + 1
    if api_error:
        st["end_turn_at"] = ts if not st["pending"] else None
    else:
        st["end_turn_at"] = ts if (text_end and not st["pending"]) else None
    st["stop_reason"] = _s(msg.get("stop_reason"))
    _usage(st, _s(msg.get("id")), msg.get("usage"))


def _usage(st: dict, mid: str | None, usage) -> None:
    """Sum each API message's usage once: a message written as several lines carries its final count on the last."""
    if not isinstance(usage, dict):
        return
    inp = sum(v for k, v in usage.items() if k.endswith("input_tokens") and isinstance(v, int))
    out = usage.get("output_tokens") if isinstance(usage.get("output_tokens"), int) else 0
    tok = st["tokens"] or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    msgs = st.get("msgs")
    if not isinstance(msgs, list):
        msgs = []
    seen = next((m for m in msgs if mid is not None and m[0] == mid), None)
    if seen is not None:
        tok["input_tokens"] -= seen[1]
        tok["output_tokens"] -= seen[2]
        tok["total_tokens"] -= seen[1] + seen[2]
        msgs.remove(seen)
    msgs.append([mid, inp, out])
    st["msgs"] = msgs[-RECENT_MSGS:]
    st["last_msg"] = mid
    tok["input_tokens"] += inp
    tok["output_tokens"] += out
    tok["total_tokens"] += inp + out
    st["tokens"] = tok
