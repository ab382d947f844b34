"""Incremental parser of Codex rollout lines into a small, JSON-serialisable parse state."""

from __future__ import annotations

import json

from orchestrator.probes.sessions.lines import begin, plan_steps, text

PENDING_MAX = 50
TOOL_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
NON_TERMINAL_ERRORS = ("thread_rollback_failed", "active_turn_not_steerable")
INPUT_TOOLS = ("request_user_input", "ask_user_question")
NEAR_LIMIT = 90.0  # rate-limit windows used at or above this percentage are worth a note
QUIET_KINDS = ("event_msg:token_count", "turn_context")  # lines that do not move a turn on after its last message


def new_state() -> dict:
    return {"agent": "codex", "id": None, "cwd": None, "source": None, "originator": None, "subagent": False,
            "approval": None, "turn": "none", "turn_id": None, "turn_at": None, "abort_reason": None,
            "pending": {}, "final_at": None, "last_ts": None, "last_kind": None, "tokens": None,
            "usage_limit": False, "error": None, "error_at": None, "explicit": False, "msg_at": None,
            "msg_counted": False, "context_window": None, "context_used": None, "compactions": 0, "compact_at": None,
            "rate_limit": None, "plan": None, "version": None, "lines": 0}


_s = text


def _escalated(arguments) -> bool:
    args = arguments
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return "require_escalated" in args or '"with_escalated_permissions": true' in args
    if not isinstance(args, dict):
        return False
    return args.get("sandbox_permissions") == "require_escalated" or args.get("with_escalated_permissions") is True


def _open_turn(st: dict, ts: str | None, implicit: bool) -> None:
    st.update(turn="running", turn_at=ts, abort_reason=None, pending={}, final_at=None, error=None,
              error_at=None, usage_limit=False)
    if implicit:
        st["turn_id"] = None


def feed(st: dict, obj) -> None:
    """Apply one decoded rollout line to the parse state; unknown shapes only count as activity."""
    if not isinstance(obj, dict):
        return
    kind = begin(st, obj)
    ts = _s(obj.get("timestamp"))
    payload = obj.get("payload") if isinstance(obj.get("payload"), dict) else {}
    ptype = _s(payload.get("type")) or ""
    st["last_kind"] = f"{kind}:{ptype}" if ptype else kind
    _after_message(st, kind, ptype, payload, ts)
    if kind == "session_meta":
        _meta(st, payload)
    elif kind == "turn_context":
        st["approval"] = _s(payload.get("approval_policy")) or st["approval"]
        st["cwd"] = _s(payload.get("cwd")) or st["cwd"]
    elif kind == "event_msg":
        _event(st, ptype, payload, ts)
    elif kind == "response_item":
        _item(st, ptype, payload, ts)
    elif kind == "compacted":
        st["compactions"] = st.get("compactions", 0) + 1
        st["compact_at"] = ts


def _is_message(kind: str, ptype: str, p: dict) -> bool:
    return (kind == "event_msg" and ptype == "agent_message") or (
        kind == "response_item" and ptype == "message" and p.get("role") == "assistant")


def _after_message(st: dict, kind: str, ptype: str, p: dict, ts: str | None) -> None:
    """For rollouts without task events (0.5x-0.9x): when the last assistant message was, and a token count after it."""
    if _is_message(kind, ptype, p):
        st["msg_at"] = ts
        st["msg_counted"] = False
    elif f"{kind}:{ptype}" == "event_msg:token_count" or kind == "event_msg" and ptype == "context_compacted":
        if st.get("msg_at") is not None:
            st["msg_counted"] = True
    elif kind != "turn_context":
        st["msg_at"] = None
        st["msg_counted"] = False


def _meta(st: dict, p: dict) -> None:
    st["id"] = st["id"] or _s(p.get("id")) or _s(p.get("session_id"))
    st["cwd"] = _s(p.get("cwd")) or st["cwd"]
    st["originator"] = _s(p.get("originator")) or st["originator"]
    st["version"] = _s(p.get("cli_version")) or st.get("version")
    source = p.get("source")
    if isinstance(source, dict) and "subagent" in source:
        st["subagent"] = True
        st["source"] = "subagent"
    elif isinstance(source, str):
        st["source"] = source


def _event(st: dict, ptype: str, p: dict, ts: str | None) -> None:
    if ptype in ("task_started", "turn_started"):
        _open_turn(st, ts, implicit=False)
        st["turn_id"] = _s(p.get("turn_id"))
        st["explicit"] = True
        if isinstance(p.get("model_context_window"), int):
            st["context_window"] = p["model_context_window"]
    elif ptype in ("task_complete", "turn_complete", "thread_rolled_back"):
        st.update(turn="complete", turn_at=ts, pending={})
    elif ptype == "turn_aborted":
        st.update(turn="aborted", turn_at=ts, abort_reason=_s(p.get("reason")) or "unknown", pending={})
    elif ptype == "user_message":
        _open_turn(st, ts, implicit=st["turn"] != "running")
    elif ptype == "agent_message":
        if st["turn"] not in ("running",):
            _open_turn(st, ts, implicit=True)
        if p.get("phase") == "final_answer":
            st["final_at"] = ts
    elif ptype == "token_count":
        _tokens(st, p)
    elif ptype == "context_compacted":
        if st.get("compact_at") != ts:
            st["compactions"] = st.get("compactions", 0) + 1
        st["compact_at"] = ts
    elif ptype == "error":
        info = p.get("codex_error_info")
        code = info if isinstance(info, str) else (next(iter(info), None) if isinstance(info, dict) else None)
        if code in NON_TERMINAL_ERRORS:
            return
        if code == "usage_limit_exceeded":
            st["usage_limit"] = True
        st.update(turn="failed", turn_at=ts, error=(code or "error"), error_at=ts, pending={})


def _tokens(st: dict, p: dict) -> None:
    info = p.get("info")
    if isinstance(info, dict) and isinstance(info.get("total_token_usage"), dict):
        tu = info["total_token_usage"]
        st["tokens"] = {k: tu.get(k) for k in ("input_tokens", "output_tokens", "total_tokens")
                        if isinstance(tu.get(k), int)}
        last = info.get("last_token_usage")
        if isinstance(last, dict) and isinstance(last.get("input_tokens"), int):
            st["context_used"] = last["input_tokens"] + (last.get("output_tokens") if isinstance(
                last.get("output_tokens"), int) else 0)
        if isinstance(info.get("model_context_window"), int):
            st["context_window"] = info["model_context_window"]
    limits = p.get("rate_limits")
    if isinstance(limits, dict):
        hit = bool(limits.get("rate_limit_reached_type"))
        peak = None
        for window in ("primary", "secondary"):
            w = limits.get(window)
            if isinstance(w, dict) and isinstance(w.get("used_percent"), (int, float)):
                if w["used_percent"] >= 100:
                    hit = True
                if peak is None or w["used_percent"] > peak[0]:
                    peak = (float(w["used_percent"]), window, w.get("window_minutes"))
        st["usage_limit"] = hit
        st["rate_limit"] = {"used_percent": peak[0], "window": peak[1],
                            "window_minutes": peak[2] if isinstance(peak[2], int) else None} \
            if peak is not None and peak[0] >= NEAR_LIMIT else None


def _item(st: dict, ptype: str, p: dict, ts: str | None) -> None:
    call_id = _s(p.get("call_id"))
    if ptype in TOOL_CALLS:
        if st["turn"] != "running":
            _open_turn(st, ts, implicit=True)
        if ptype == "local_shell_call" and p.get("status") in ("completed", "incomplete"):
            return
        if _s(p.get("name")) == "update_plan":
            st["plan"] = _plan(p.get("arguments"), ts) or st.get("plan")
        if call_id and len(st["pending"]) < PENDING_MAX:
            name = _s(p.get("name")) or ("shell" if ptype == "local_shell_call" else "tool")
            st["pending"][call_id] = {"name": name[:64], "at": ts, "esc": _escalated(p.get("arguments"))}
    elif ptype in TOOL_OUTPUTS:
        if call_id:
            st["pending"].pop(call_id, None)
    elif ptype == "message" and p.get("role") == "assistant" and p.get("phase") == "final_answer":
        st["final_at"] = ts


def _plan(arguments, ts: str | None) -> dict | None:
    args = arguments
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    return plan_steps(args.get("plan"), "step", "status", ts) if isinstance(args, dict) else None
