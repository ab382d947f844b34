"""Incremental parser of Codex rollout lines into a small, JSON-serialisable parse state.

What each line kind means is in `kinds.CODEX_ROWS`; this module applies the meanings.
"""

from __future__ import annotations

import json

from orchestrator.probes.sessions import kinds as K
from orchestrator.probes.sessions.lines import begin, plan_steps, text

PENDING_MAX = 50
TOOL_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
NON_TERMINAL_ERRORS = ("thread_rollback_failed", "active_turn_not_steerable")
INPUT_TOOLS = ("request_user_input", "ask_user_question")
NEAR_LIMIT = 90.0  # rate-limit windows used at or above this percentage are worth a note
QUIET_KINDS = ("event_msg:token_count", "turn_context")  # lines that do not move a turn on after its last message
LIMIT_CODES = ("usage_limit_exceeded", "usage_limit_reached", "quota_exceeded", "usagelimitexceeded")
# an error's message that means the account's limits stopped the turn (a 429 after the retries, a quota)
LIMIT_WORDS = ("last status: 429", "429 too many requests", "usage limit", "quota", "rate limit")


def new_state() -> dict:
    return {"agent": "codex", "id": None, "cwd": None, "source": None, "originator": None, "subagent": False,
            "parent": None, "approval": None, "turn": "none", "turn_id": None, "turn_at": None, "abort_reason": None,
            "pending": {}, "final_at": None, "last_ts": None, "last_kind": None, "tokens": None,
            "usage_limit": False, "limit_error": False, "error": None, "error_at": None, "explicit": False,
            "msg_at": None, "msg_counted": False, "context_window": None, "context_used": None, "compactions": 0,
            "compact_at": None, "sub_at": None, "rate_limit": None, "plan": None, "version": None, "lines": 0}


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
              error_at=None, usage_limit=False, limit_error=False)
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
    meaning = K.codex_meaning(kind, ptype)
    if meaning is None:
        K.note_unknown(st, f"{kind}:{ptype}" if ptype and kind in ("event_msg", "response_item") else kind)
        meaning = K.ACTIVITY
    if kind == "event_msg" and ptype == "item_completed":  # 0.149+: an item in place of user/agent messages
        item = payload.get("item") if isinstance(payload.get("item"), dict) else {}
        itype = _s(item.get("type")) or "?"
        meaning = K.CODEX.get(f"item_completed:{itype}")
        if meaning is None:
            K.note_unknown(st, f"item_completed:{itype}")
            meaning = K.ACTIVITY
        payload = item
    if meaning == K.ANSWER and kind == "response_item" and payload.get("role") != "assistant":
        meaning = K.ACTIVITY  # the user's and developer's lines of the transcript: the events say more
    _after_message(st, kind, ptype, meaning, ts)
    HANDLERS.get(meaning, _nothing)(st, kind, ptype, payload, ts)


def _after_message(st: dict, kind: str, ptype: str, meaning: str, ts: str | None) -> None:
    """For rollouts without task events (0.4x-0.9x): when the last assistant message was, and a token count after it."""
    if meaning == K.ANSWER:
        st["msg_at"] = ts
        st["msg_counted"] = False
    elif f"{kind}:{ptype}" == "event_msg:token_count" or kind == "event_msg" and ptype == "context_compacted":
        if st.get("msg_at") is not None:
            st["msg_counted"] = True
    elif kind != "turn_context":
        st["msg_at"] = None
        st["msg_counted"] = False


def _nothing(st, kind, ptype, p, ts) -> None:
    return None


def _meta(st: dict, kind, ptype, p: dict, ts) -> None:
    own = _s(p.get("id")) or _s(p.get("session_id"))
    if st["id"] and own and own != st["id"]:
        return  # a forked sub-agent's copy of its parent's session_meta, with the parent's history after it
    st["id"] = st["id"] or own
    st["cwd"] = _s(p.get("cwd")) or st["cwd"]
    st["originator"] = _s(p.get("originator")) or st["originator"]
    st["version"] = _s(p.get("cli_version")) or st.get("version")
    source = p.get("source")
    sub = p.get("thread_source") == "subagent"
    parent = None
    if isinstance(source, dict) and ("subagent" in source or "sub_agent" in source):
        sub = True
        how = source.get("subagent", source.get("sub_agent"))
        spawn = how.get("thread_spawn") if isinstance(how, dict) else None
        parent = _s(spawn.get("parent_thread_id")) if isinstance(spawn, dict) else None
        if parent is None and isinstance(how, dict):  # {"other": "guardian", "parent_thread_id": ...}
            parent = _s(how.get("parent_thread_id"))
    elif isinstance(source, str):
        st["source"] = source
    if sub:
        st["subagent"] = True
        st["source"] = "subagent"
        st["parent"] = parent or _s(p.get("parent_thread_id")) or _s(p.get("forked_from_id")) or st.get("parent")


def _context(st: dict, kind, ptype, p: dict, ts) -> None:
    st["approval"] = _s(p.get("approval_policy")) or st["approval"]
    st["cwd"] = _s(p.get("cwd")) or st["cwd"]


def _turn_start(st: dict, kind, ptype, p: dict, ts) -> None:
    _open_turn(st, ts, implicit=False)
    st["turn_id"] = _s(p.get("turn_id"))
    st["explicit"] = True
    if isinstance(p.get("model_context_window"), int):
        st["context_window"] = p["model_context_window"]


def _turn_end(st: dict, kind, ptype, p: dict, ts) -> None:
    if isinstance(p.get("error"), dict):  # 0.14x+: the turn's error rides on task_complete
        _error(st, kind, ptype, p["error"], ts)
        if st["turn"] == "failed":
            return
    if st["turn"] == "failed" and ptype != "thread_rolled_back":
        return  # an error, then the turn closed with no answer after it: the error is how it ended
    st.update(turn="complete", turn_at=ts, pending={})


def _abort(st: dict, kind, ptype, p: dict, ts) -> None:
    st.update(turn="aborted", turn_at=ts, abort_reason=_s(p.get("reason")) or "unknown", pending={})


def _prompt(st: dict, kind, ptype, p: dict, ts) -> None:
    _open_turn(st, ts, implicit=st["turn"] != "running")


def _answer(st: dict, kind, ptype, p: dict, ts) -> None:
    if kind == "event_msg" and st["turn"] != "running":  # an agent_message (or item) says the turn is on
        _open_turn(st, ts, implicit=True)
    if p.get("phase") == "final_answer":
        st["final_at"] = ts


def _error(st: dict, kind, ptype, p: dict, ts) -> None:
    info = p.get("codex_error_info")
    code = info if isinstance(info, str) else (next(iter(info), None) if isinstance(info, dict) else None)
    if code in NON_TERMINAL_ERRORS:
        return
    words = (_s(p.get("message")) or "").lower()
    status = info.get(code) if isinstance(info, dict) else None
    limit = (str(code).lower() in LIMIT_CODES or any(w in words for w in LIMIT_WORDS)
             or isinstance(status, dict) and status.get("http_status_code") == 429)
    st.update(turn="failed", turn_at=ts, error=str(code or "error")[:64], error_at=ts, pending={},
              limit_error=bool(limit) or st.get("limit_error", False))


def _compaction(st: dict, kind, ptype, p: dict, ts) -> None:
    if kind == "compacted" or st.get("compact_at") != ts:
        st["compactions"] = st.get("compactions", 0) + 1
    st["compact_at"] = ts


def _sub_agent(st: dict, kind, ptype, p: dict, ts) -> None:
    st["sub_at"] = ts  # a sub-agent spawned, waited for or finished: the parent is at work through it


def _tokens(st: dict, kind, ptype, p: dict, ts) -> None:
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
        for window, w in _windows(limits):
            if w["used_percent"] >= 100:
                hit = True
            if peak is None or w["used_percent"] > peak[0]:
                peak = (float(w["used_percent"]), window, w.get("window_minutes"))
        st["usage_limit"] = hit
        st["rate_limit"] = {"used_percent": peak[0], "window": peak[1],
                            "window_minutes": peak[2] if isinstance(peak[2], int) else None} \
            if peak is not None and peak[0] >= NEAR_LIMIT else None


def _windows(limits: dict) -> list[tuple[str, dict]]:
    """The rate-limit windows: `primary: {used_percent...}` (0.45+) or the flat `primary_used_percent` (0.3x-0.4x)."""
    out = []
    for window in ("primary", "secondary"):
        w = limits.get(window)
        flat = limits.get(f"{window}_used_percent")
        if not isinstance(w, dict) and isinstance(flat, (int, float)):
            w = {"used_percent": flat, "window_minutes": limits.get(f"{window}_window_minutes")}
        if isinstance(w, dict) and isinstance(w.get("used_percent"), (int, float)):
            out.append((window, w))
    return out


def _call(st: dict, kind, ptype: str, p: dict, ts) -> None:
    if st["turn"] != "running":
        _open_turn(st, ts, implicit=True)
    if ptype == "local_shell_call" and p.get("status") in ("completed", "incomplete"):
        return
    call_id = _s(p.get("call_id"))
    if _s(p.get("name")) == "update_plan":
        st["plan"] = _plan(p.get("arguments"), ts) or st.get("plan")
    if call_id and len(st["pending"]) < PENDING_MAX:
        name = _s(p.get("name")) or ("shell" if ptype == "local_shell_call" else "tool")
        st["pending"][call_id] = {"name": name[:64], "at": ts, "esc": _escalated(p.get("arguments"))}


def _result(st: dict, kind, ptype, p: dict, ts) -> None:
    call_id = _s(p.get("call_id"))
    if call_id:
        st["pending"].pop(call_id, None)


def _plan(arguments, ts: str | None) -> dict | None:
    args = arguments
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    return plan_steps(args.get("plan"), "step", "status", ts) if isinstance(args, dict) else None


HANDLERS = {K.META: _meta, K.CONTEXT: _context, K.TURN_START: _turn_start, K.TURN_END: _turn_end,
            K.TURN_ABORT: _abort, K.PROMPT: _prompt, K.ANSWER: _answer, K.TOOL_CALL: _call, K.TOOL_RESULT: _result,
            K.TOKENS: _tokens, K.ERROR: _error, K.COMPACTION: _compaction, K.SUB_AGENT: _sub_agent}
