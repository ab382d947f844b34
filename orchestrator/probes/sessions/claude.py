"""Incremental parser of Claude Code transcript lines into a small, JSON-serialisable parse state."""

from __future__ import annotations

from orchestrator.probes.sessions.lines import begin, text

PENDING_MAX = 50
INTERRUPT = "[Request interrupted by user"
INPUT_TOOLS = ("AskUserQuestion", "ExitPlanMode")
END_SUBTYPES = ("turn_duration", "stop_hook_summary")


def new_state() -> dict:
    return {"agent": "claude", "id": None, "cwd": None, "turn": "none", "turn_at": None, "pending": {},
            "end_turn_at": None, "last_ts": None, "last_kind": None, "tokens": None, "last_msg": None,
            "permission_mode": None, "error": None, "error_at": None, "lines": 0}


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
    if obj.get("isSidechain") is True:
        return  # a subagent's line: activity, but not the main turn
    msg = obj.get("message") if isinstance(obj.get("message"), dict) else {}
    if kind == "user":
        st["permission_mode"] = _s(obj.get("permissionMode")) or st["permission_mode"]
        _user(st, msg.get("content"), ts, meta=bool(obj.get("isMeta") or obj.get("isCompactSummary")))
    elif kind == "assistant":
        _assistant(st, msg, ts)
    elif kind == "system":
        sub = _s(obj.get("subtype")) or ""
        st["last_kind"] = f"system:{sub}"
        if sub in END_SUBTYPES:
            st.update(turn="ended", turn_at=ts, pending={})
        elif sub == "api_error":
            st.update(error="api_error", error_at=ts)


def _user(st: dict, content, ts: str | None, meta: bool) -> None:
    if isinstance(content, str):
        if content.startswith(INTERRUPT):
            st.update(turn="interrupted", turn_at=ts, pending={})
        elif not meta:
            st.update(turn="running", turn_at=ts, pending={}, end_turn_at=None, error=None)
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
            prompt = prompt or not meta
    if prompt:
        st.update(turn="running", turn_at=ts, end_turn_at=None, error=None)
    elif st["turn"] not in ("running",):
        st["turn"] = "running"


def _assistant(st: dict, msg: dict, ts: str | None) -> None:
    if st["turn"] != "running":
        st.update(turn="running", turn_at=ts)
    st["error"] = None
    content = msg.get("content")
    text_end = False
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_use" and _s(block.get("id")) and len(st["pending"]) < PENDING_MAX:
            st["pending"][block["id"]] = {"name": (_s(block.get("name")) or "tool")[:64], "at": ts}
            text_end = False
        elif block.get("type") == "text":
            text_end = True
    st["end_turn_at"] = ts if (text_end and not st["pending"]) else None
    usage = msg.get("usage")
    mid = _s(msg.get("id"))
    if isinstance(usage, dict) and mid != st["last_msg"]:
        st["last_msg"] = mid
        tok = st["tokens"] or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        inp = sum(v for k, v in usage.items() if k.endswith("input_tokens") and isinstance(v, int))
        out = usage.get("output_tokens") if isinstance(usage.get("output_tokens"), int) else 0
        tok["input_tokens"] += inp
        tok["output_tokens"] += out
        tok["total_tokens"] += inp + out
        st["tokens"] = tok
