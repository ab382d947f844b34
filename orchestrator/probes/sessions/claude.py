"""Incremental parser of Claude Code transcript lines into a small, JSON-serialisable parse state.

What each line kind means is in `kinds.CLAUDE_ROWS`; a `user` line's meaning depends on its content (`_user`).
"""

from __future__ import annotations

import re

from orchestrator.probes.sessions import kinds as K
from orchestrator.probes.sessions.lines import begin, plan_steps, text

PENDING_MAX = 50
RECENT_MSGS = 8  # API message ids whose usage is kept, so that a message's later lines replace its earlier ones
INTERRUPT = "[Request interrupted by user"
NOTIFICATION = "<task-notification>"
# A Stop (or SubagentStop) hook that blocked the end of the turn: Claude Code hands its reason to the model as an
# isMeta user line (2.1.x) and the model goes on, after the stop_hook_summary line that looked like the turn's end.
HOOK_FEEDBACK = ("Stop hook feedback:", "SubagentStop hook feedback:")
INPUT_TOOLS = ("AskUserQuestion", "ExitPlanMode")
NEVER_ASK = ("bypassPermissions", "dontAsk")  # permission modes that never show a prompt
USAGE_LIMIT = ("usage limit reached", "limit reached", "out of extra usage", "hit your limit", "hit your session limit",
               "hit your weekly limit", "hit your opus limit")
NOT_USAGE_LIMIT = "not your usage limit"  # "Server is temporarily limiting requests (not your usage limit)"
# Slash commands and `!` shell lines Claude Code answers itself: written as user (or system) lines, never sent to the
# model. Built-in commands that do prompt the model (/review, /init, custom commands) open a turn like a prompt.
LOCAL_TAGS = ("<command-name>", "<command-message>", "<command-args>", "<local-command-stdout>",
              "<local-command-stderr>", "<local-command-caveat>", "<bash-input>", "<bash-stdout>", "<bash-stderr>")
EXIT_COMMANDS = ("exit", "quit")
LOCAL_COMMANDS = frozenset((
    "exit", "quit", "model", "mcp", "cost", "usage", "status", "config", "settings", "help", "clear", "reset", "new",
    "compact", "context", "login", "logout", "doctor", "memory", "permissions", "allowed-tools", "hooks", "agents",
    "add-dir", "resume", "continue", "ide", "terminal-setup", "vim", "theme", "export", "rename", "bashes", "tasks",
    "todos", "statusline", "output-style", "release-notes", "upgrade", "privacy-settings", "plugin", "plugins",
    "rewind", "checkpoint", "sandbox", "stats", "fast", "feedback", "bug", "install-github-app", "migrate-installer",
    "files", "skills", "extra-usage", "remote-env", "mobile", "chrome", "copy", "fork", "tag", "exit-plan"))
_COMMAND = re.compile(r"<command-name>\s*/?([^<\s]+)\s*</command-name>")
SYNTHETIC_NO_REPLY = "No response requested."  # written on resume after a local command; not an answer, not an error


def new_state(subagent: bool = False) -> dict:
    """An empty parse state; `subagent` for a subagent's own transcript (agent-*.jsonl), whose lines are sidechain."""
    return {"agent": "claude", "id": None, "cwd": None, "turn": "none", "turn_at": None, "pending": {},
            "end_turn_at": None, "stop_reason": None, "markers": False, "last_ts": None, "last_kind": None,
            "tokens": None, "last_msg": None, "msgs": [], "permission_mode": None, "error": None, "error_at": None,
            "usage_limit": False, "api_errors": 0, "retry": None, "compactions": 0, "compact_at": None, "prompts": 0,
            "plan": None, "version": None, "subagent": subagent, "agent_id": None, "command": None, "lines": 0}


_s = text


def feed(st: dict, obj) -> None:
    """Apply one decoded transcript line to the parse state; unknown shapes only count as activity."""
    if not isinstance(obj, dict):
        return
    kind = begin(st, obj)
    ts = _s(obj.get("timestamp"))
    st["last_kind"] = kind
    # a resumed session (1.0.x SDK, --continue) holds the old session's copied lines, then the new id's: the newest
    # id is the one the live process and its hooks use
    st["id"] = _s(obj.get("sessionId")) or st["id"]
    st["cwd"] = _s(obj.get("cwd")) or st["cwd"]
    st["version"] = _s(obj.get("version")) or st.get("version")
    sub = _s(obj.get("subtype")) or ""
    meaning = K.claude_meaning(kind, sub)
    if meaning is None:
        K.note_unknown(st, f"system:{sub}" if kind == "system" else kind)
        meaning = K.ACTIVITY
    if kind == "system":
        st["last_kind"] = f"system:{sub}"
    if meaning == K.CONTEXT:
        st["permission_mode"] = _s(obj.get("permissionMode")) or st["permission_mode"]
        return
    if meaning == K.ACTIVITY:
        return  # queue operations, hook/tool progress, snapshots: the agent is there, the turn is unchanged
    if obj.get("isSidechain") is True:
        if not st.get("subagent"):
            return  # a subagent's line inline in the parent's file: activity, but not the main turn
        st["agent_id"] = st.get("agent_id") or _s(obj.get("agentId"))  # a subagent's own transcript
    msg = obj.get("message") if isinstance(obj.get("message"), dict) else {}
    if meaning == K.USER_LINE:
        st["permission_mode"] = _s(obj.get("permissionMode")) or st["permission_mode"]
        origin = obj.get("origin") if isinstance(obj.get("origin"), dict) else {}
        if origin.get("kind") == "task-notification":  # 2.1.x: a background task's notice, tagged or not
            _notified(st, ts)
            return
        _user(st, msg.get("content"), ts, meta=bool(obj.get("isMeta") or obj.get("isCompactSummary")))
    elif meaning == K.ANSWER:
        synthetic = _s(msg.get("model")) == "<synthetic>"
        if synthetic and obj.get("isApiErrorMessage") is not True and _text(msg.get("content")) == SYNTHETIC_NO_REPLY:
            return
        quota = obj.get("quotaLimits") if isinstance(obj.get("quotaLimits"), dict) else {}
        _assistant(st, msg, ts, api_error=obj.get("isApiErrorMessage") is True or synthetic,
                   limit=quota.get("status") == "rejected")
    elif meaning == K.TURN_END:
        # an API error after the last retry, then the end-of-turn markers: the error is how the turn ended
        st.update(turn="failed" if st.get("error") and st.get("error_at") else "ended", turn_at=ts, pending={},
                  markers=True)
    elif meaning == K.RETRY:
        st["api_errors"] = st.get("api_errors", 0) + 1
        attempt, most = obj.get("retryAttempt"), obj.get("maxRetries")
        st["retry"] = {"at": ts, "attempt": attempt if isinstance(attempt, int) else None,
                       "max": most if isinstance(most, int) else None,
                       "in_ms": obj.get("retryInMs") if isinstance(obj.get("retryInMs"), (int, float)) else None}
    elif meaning == K.COMPACTION:
        st["compactions"] = st.get("compactions", 0) + 1
        st["compact_at"] = ts
    elif meaning == K.LOCAL_COMMAND:
        _local(st, _s(obj.get("content")) or "", ts)


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_s(b.get("text")) or "" for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _local(st: dict, words: str, ts: str | None) -> bool:
    """A slash command's or `!` shell's line: True when handled (not a prompt); /exit ends the session."""
    head = words.lstrip()
    if not head.startswith(LOCAL_TAGS):
        return False
    m = _COMMAND.search(head[:2000])
    if m is None:
        return True  # its output, the caveat, a `!` shell: the state is as it was
    name = m.group(1).lower()
    st["command"] = {"name": name[:40], "at": ts}
    if name in EXIT_COMMANDS:
        st.update(turn="exited", turn_at=ts, pending={})
        return True
    return name in LOCAL_COMMANDS  # /model, /mcp, /cost...: nothing went to the model


def _notified(st: dict, ts: str | None) -> None:
    """A background task's notice, handed to the model by Claude Code: the agent answers it, no one asked."""
    if st["turn"] != "running":
        st.update(turn="running", turn_at=ts, end_turn_at=None)


def _hook_feedback(st: dict, ts: str | None) -> None:
    """A Stop hook blocked the end of the turn: the model goes on with the hook's reason, in the same turn."""
    st.update(turn="running", turn_at=ts, end_turn_at=None)


def _user(st: dict, content, ts: str | None, meta: bool) -> None:
    if isinstance(content, str):
        if content.startswith(INTERRUPT):
            st.update(turn="interrupted", turn_at=ts, pending={})
        elif content.startswith(HOOK_FEEDBACK):
            _hook_feedback(st, ts)
        elif _local(st, content, ts):
            return
        elif content.lstrip().startswith(NOTIFICATION):
            _notified(st, ts)
        elif not meta:
            _prompt(st, ts)
        return
    if not isinstance(content, list):
        return
    prompt = False
    local_only = True
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            st["pending"].pop(_s(block.get("tool_use_id")) or "", None)
            st["error"] = None
            local_only = False
        elif block.get("type") == "text":
            words = _s(block.get("text")) or ""
            if words.startswith(INTERRUPT):
                st.update(turn="interrupted", turn_at=ts, pending={})
                return
            if words.startswith(HOOK_FEEDBACK):
                _hook_feedback(st, ts)
                return
            if _local(st, words, ts):
                continue
            local_only = False
            prompt = prompt or not (meta or words.lstrip().startswith(NOTIFICATION))
        else:
            local_only = False
    if prompt:
        _prompt(st, ts)
    elif st["turn"] not in ("running",) and not local_only:
        st["turn"] = "running"


def _prompt(st: dict, ts: str | None) -> None:
    st.update(turn="running", turn_at=ts, pending={}, end_turn_at=None, error=None, error_at=None,
              usage_limit=False, retry=None)
    st["prompts"] = st.get("prompts", 0) + 1


def _assistant(st: dict, msg: dict, ts: str | None, api_error: bool = False, limit: bool = False) -> None:
    """An assistant line; `api_error` for Claude Code's synthetic error line, `limit` when it says the account's
    quota refused the request (2.1.2xx `quotaLimits.status: rejected`, whatever the words)."""
    if st["turn"] != "running":
        st.update(turn="running", turn_at=ts)
    st["error"] = None
    st["retry"] = None
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
                if limit or any(w in words for w in USAGE_LIMIT) and NOT_USAGE_LIMIT not in words:
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
