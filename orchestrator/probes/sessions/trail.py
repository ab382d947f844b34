"""What a worker did, from its session log line by line: commands and exit codes, edits, final claims, pushback.

The trail is a small JSON-able dict kept in SessionFile.state["trail"], bounded in size: the recent
commands, the last run of each kind of check, git operations that may exceed authority, the time of the
last file edit, the claims of the final message (never the message itself), interrupts and corrections.
"""

from __future__ import annotations

import json
import re

from orchestrator.classify.claims import check_kind, extract
from orchestrator.redact import redact

CMD_MAX = 200
RECENT = 12
EVENTS = 10
PENDING_MAX = 30
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
# Git and GitHub operations the trust checks judge against the task's authority.
GIT_OP = re.compile(r"\b(?:git\b[^|;&\n]*?\b(?:push|merge|branch|reset|remote|config|checkout|switch)\b|"
                    r"gh\s+pr\s+merge)")
# A person's correction, right after an agent action (inferred, English only).
PUSHBACK = re.compile(r"^\W*(stop|no|nope|don'?t|do not|wait|undo|revert|hold on)\b", re.I)
NOT_PUSHBACK = re.compile(r"^\W*no (?:problem|worries|thanks|need)\b", re.I)
CLAUDE_INTERRUPT = "[Request interrupted by user"
CLAUDE_REJECTED = ("The user doesn't want to proceed", "User rejected tool use")
_CODEX_EXIT = re.compile(r"(?:Process exited with code|Exit code:?)\s*(-?\d+)")
_CLAUDE_EXIT = re.compile(r"^(?:Error: )?Exit code (\d+)")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$|^\*\*\* Move to: (.+)$", re.M)


def new() -> dict:
    return {"cmds": [], "pending": {}, "checks": {}, "git_ops": [], "edits": [], "last_edit_at": None,
            "final": None, "draft": None, "interrupts": [], "corrections": [], "acted": False}


def _push(lst: list, item, limit: int) -> None:
    lst.append(item)
    del lst[:-limit]


def _s(v) -> str | None:
    return v if isinstance(v, str) else None


def feed(st: dict, obj) -> None:
    """Update st["trail"] from one decoded line of this agent's session log; never raises on odd shapes."""
    if not isinstance(obj, dict):
        return
    tr = st.get("trail")
    if not isinstance(tr, dict):
        tr = st["trail"] = new()
    try:
        if st.get("agent") == "codex":
            _codex(tr, obj)
        elif st.get("agent") == "claude":
            _claude(tr, obj)
    except (TypeError, ValueError, AttributeError, KeyError):
        return


# -- shared steps -------------------------------------------------------------------------------------------

def _acted(tr: dict) -> None:
    """The agent did something: a message it wrote before this was not its last word."""
    tr["acted"] = True
    tr["draft"] = None


def _start_cmd(tr: dict, call_id: str | None, cmd: str, cwd: str | None, at: str | None) -> None:
    _acted(tr)
    if not call_id or len(tr["pending"]) >= PENDING_MAX:
        return
    tr["pending"][call_id] = {"cmd": redact(" ".join(cmd.split()))[:CMD_MAX], "cwd": cwd, "at": at,
                              "kind": check_kind(cmd), "git": bool(GIT_OP.search(cmd))}


def _end_cmd(tr: dict, call_id: str | None, exit_code: int | None, at: str | None, rejected: bool = False) -> None:
    run = tr["pending"].pop(call_id or "", None)
    if run is None:
        return
    done = {"cmd": run["cmd"], "cwd": run["cwd"], "at": run["at"], "end": at, "exit": exit_code}
    if rejected:
        done["rejected"] = True
    _push(tr["cmds"], done, RECENT)
    if run["kind"] and not rejected:
        tr["checks"][run["kind"]] = done
    if run["git"]:
        _push(tr["git_ops"], done, EVENTS)


def _edit(tr: dict, path: str | None, at: str | None) -> None:
    _acted(tr)
    if path:
        _push(tr["edits"], {"path": path[:300], "at": at}, RECENT)
    tr["last_edit_at"] = at or tr["last_edit_at"]


def _said(tr: dict, text: str | None, at: str | None, final: bool) -> None:
    if not text:
        return
    tr["acted"] = True
    item = {"at": at, "claims": extract(text)}
    if final:
        tr["final"], tr["draft"] = item, None
    else:
        tr["draft"] = item


def _close_turn(tr: dict) -> None:
    if tr["draft"] is not None:
        tr["final"], tr["draft"] = tr["draft"], None


def _user(tr: dict, text: str | None, at: str | None) -> None:
    """A person's message: a correction when it follows an agent action and starts like one."""
    if not text:
        return
    if tr["acted"]:
        m = PUSHBACK.match(text)
        if m and not NOT_PUSHBACK.match(text):
            _push(tr["corrections"], {"at": at, "word": m.group(1).lower(), "text": redact(" ".join(text.split()))[:160]},
                  EVENTS)
    tr["acted"] = False


def _interrupt(tr: dict, at: str | None, how: str) -> None:
    _push(tr["interrupts"], {"at": at, "how": how}, EVENTS)
    tr["pending"] = {}
    tr["acted"] = False


# -- Codex --------------------------------------------------------------------------------------------------

def _args(raw) -> dict:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            val = json.loads(raw)
        except ValueError:
            return {}
        return val if isinstance(val, dict) else {}
    return {}


def _codex_cmd(name: str, args: dict) -> str | None:
    if name == "exec_command":
        return _s(args.get("cmd")) or (_s(args.get("command")) if not isinstance(args.get("command"), list) else None) \
            or _joined(args.get("command"))
    if name in ("shell", "container.exec", "local_shell"):
        return _joined(args.get("command"))
    return None


def _joined(cmd) -> str | None:
    if isinstance(cmd, str):
        return cmd
    if isinstance(cmd, list) and all(isinstance(x, str) for x in cmd):
        if len(cmd) >= 3 and cmd[0] in ("bash", "sh", "zsh", "/bin/bash", "/bin/sh") and cmd[1] in ("-lc", "-c"):
            return cmd[2]
        return " ".join(cmd)
    return None


def _codex_exit(output) -> int | None:
    if isinstance(output, list):  # content items
        output = " ".join(_s(x.get("text")) or "" for x in output if isinstance(x, dict))
    if not isinstance(output, str):
        return None
    if output.startswith("{"):
        meta = _args(output).get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("exit_code"), int):
            return meta["exit_code"]
    m = _CODEX_EXIT.search(output[:2000])
    return int(m.group(1)) if m else None


def _patch_paths(text: str | None) -> list[str]:
    return [a or b for a, b in _PATCH_FILE.findall(text or "")]


def _codex(tr: dict, obj: dict) -> None:
    kind = obj.get("type")
    at = _s(obj.get("timestamp"))
    p = obj.get("payload") if isinstance(obj.get("payload"), dict) else {}
    ptype = _s(p.get("type"))
    if kind == "response_item":
        call_id = _s(p.get("call_id"))
        if ptype == "function_call":
            name = _s(p.get("name")) or ""
            args = _args(p.get("arguments"))
            cmd = _codex_cmd(name, args)
            if cmd is not None:
                if cmd.lstrip().startswith("apply_patch"):
                    for path in _patch_paths(cmd) or [None]:
                        _edit(tr, path, at)
                _start_cmd(tr, call_id, cmd, _s(args.get("workdir")), at)
            else:
                _acted(tr)
        elif ptype == "local_shell_call":
            action = p.get("action") if isinstance(p.get("action"), dict) else {}
            cmd = _joined(action.get("command"))
            if cmd and p.get("status") not in ("completed", "incomplete"):
                _start_cmd(tr, call_id, cmd, _s(action.get("working_directory")), at)
        elif ptype in ("function_call_output", "local_shell_call_output"):
            _end_cmd(tr, call_id, _codex_exit(p.get("output")), at)
        elif ptype == "custom_tool_call" and p.get("name") == "apply_patch":
            for path in _patch_paths(_s(p.get("input"))) or [None]:
                _edit(tr, path, at)
        elif ptype == "message" and p.get("role") == "assistant" and p.get("phase") == "final_answer":
            text = " ".join(_s(c.get("text")) or "" for c in p.get("content") or [] if isinstance(c, dict))
            _said(tr, text, at, final=True)
    elif kind == "event_msg":
        if ptype == "agent_message":
            phase = p.get("phase")
            if phase != "commentary":
                _said(tr, _s(p.get("message")), at, final=phase == "final_answer")
        elif ptype in ("task_complete", "turn_complete"):
            last = _s(p.get("last_agent_message"))
            if last:
                _said(tr, last, at, final=True)
            else:
                _close_turn(tr)
        elif ptype == "turn_aborted":
            if p.get("reason") == "interrupted":
                _interrupt(tr, at, "turn_aborted: interrupted")
        elif ptype == "user_message":
            _close_turn(tr)
            _user(tr, _s(p.get("message")), at)


# -- Claude Code --------------------------------------------------------------------------------------------

def _claude(tr: dict, obj: dict) -> None:
    if obj.get("isSidechain") is True:
        return
    kind = obj.get("type")
    at = _s(obj.get("timestamp"))
    msg = obj.get("message") if isinstance(obj.get("message"), dict) else {}
    content = msg.get("content")
    if kind == "assistant":
        texts, ends_text = [], False
        for b in content if isinstance(content, list) else []:
            if not isinstance(b, dict):
                continue
            ends_text = b.get("type") == "text"
            if b.get("type") == "tool_use":
                name, inp = _s(b.get("name")) or "", b.get("input") if isinstance(b.get("input"), dict) else {}
                if name == "Bash" and _s(inp.get("command")):
                    _start_cmd(tr, _s(b.get("id")), inp["command"], None, at)
                elif name in EDIT_TOOLS:
                    _edit(tr, _s(inp.get("file_path")) or _s(inp.get("notebook_path")), at)
                else:
                    _acted(tr)
            elif b.get("type") == "text" and _s(b.get("text")):
                texts.append(b["text"])
        if texts and ends_text:
            _said(tr, "\n".join(texts), at, final=False)
    elif kind == "user":
        meta = bool(obj.get("isMeta") or obj.get("isCompactSummary"))
        if isinstance(content, str):
            _claude_text(tr, content, at, meta)
            return
        for b in content if isinstance(content, list) else []:
            if not isinstance(b, dict):
                continue
            if b.get("type") == "tool_result":
                _claude_result(tr, b, at)
            elif b.get("type") == "text" and _s(b.get("text")):
                if _claude_text(tr, b["text"], at, meta):
                    return
    elif kind == "system" and obj.get("subtype") in ("turn_duration", "stop_hook_summary"):
        _close_turn(tr)


def _claude_text(tr: dict, text: str, at: str | None, meta: bool) -> bool:
    if text.startswith(CLAUDE_INTERRUPT):
        _close_turn(tr)
        last = tr["interrupts"][-1] if tr["interrupts"] else None
        if tr["acted"] or not last or last.get("how") != "tool use rejected":  # one stop, not two
            _interrupt(tr, at, "interrupted by user")
        return True
    if meta or text.startswith(("<", "Caveat:")):
        return False  # local commands, task notifications, system reminders: not the person
    _close_turn(tr)
    _user(tr, text, at)
    return False


def _result_text(b: dict) -> str:
    c = b.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return " ".join(_s(x.get("text")) or "" for x in c if isinstance(x, dict))
    return ""


def _claude_result(tr: dict, b: dict, at: str | None) -> None:
    text = _result_text(b)
    rejected = text.startswith(CLAUDE_REJECTED)
    if b.get("is_error") is True:
        m = _CLAUDE_EXIT.match(text)
        code = int(m.group(1)) if m else 1
    else:
        code = 0
    _end_cmd(tr, _s(b.get("tool_use_id")), None if rejected else code, at, rejected=rejected)
    if rejected:
        _interrupt(tr, at, "tool use rejected")


def claims_of(trail: dict | None) -> dict | None:
    """The message the worker ended on: the last text with nothing done after it, else its last final answer."""
    if not trail:
        return None
    return trail.get("draft") or trail.get("final")
