"""What a worker did, from its session log line by line: commands and exit codes, edits, final claims, pushback.

The trail is a small JSON-able dict kept in SessionFile.state["trail"], bounded in size: the recent
commands, the last run of each kind of check, git operations that may exceed authority, the time of the
last file edit, the claims of the final message (never the message itself), interrupts and corrections,
and where each was in the file (line numbers). Long-running commands are followed to their end: Codex
`exec_command` answering "Process running with session ID N" ends with a later `write_stdin` poll (or an
`exec_command_end`), a Claude background `Bash` with its task notification or a `BashOutput` poll.
"""

from __future__ import annotations

import json
import re

from orchestrator.classify.checks import check_kind, exit_trusted, output_says
from orchestrator.classify.claims import extract, words
from orchestrator.redact import redact

CMD_MAX = 200
RECENT = 12
EVENTS = 10
PENDING_MAX = 30
ASKED_MAX = 60
EDIT_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
RULE_FILES = ("AGENTS.md", "CLAUDE.md")
# Git and GitHub operations the trust checks judge against the task's authority.
GIT_OP = re.compile(r"\b(?:git\b[^|;&\n]*?\b(?:push|merge|branch|reset|remote|config|checkout|switch)\b|"
                    r"gh\s+pr\s+merge)")
# A person's correction, right after an agent action (inferred, English only) ...
PUSHBACK = re.compile(r"^\W*(stop|no|nope|don'?t|do not|wait|undo|revert|hold on)\b", re.I)
# ... unless it only adds something or reassures: "don't forget …", "no problem", "wait for CI".
NOT_PUSHBACK = re.compile(r"^\W*(?:no (?:problem|worries|thanks|need to worry|rush|hurry)\b|(?:don'?t|do not) "
                          r"(?:forget|worry|hesitate|bother)\b|wait(?:ing)? (?:for|until)\b|nope,? (?:all )?good\b)",
                          re.I)
CLAUDE_INTERRUPT = "[Request interrupted by user"
CLAUDE_REJECTED = ("The user doesn't want to proceed", "User rejected tool use")
_CODEX_EXIT = re.compile(r"(?:Process exited with code|Exit code:?)\s*(-?\d+)")
_CODEX_RUNNING = re.compile(r"Process running with session ID\s*(\d+)")
_CLAUDE_EXIT = re.compile(r"^(?:Error: )?Exit code (\d+)")
_CLAUDE_BACKGROUND = re.compile(r"running in background with ID:\s*([\w-]+)|moved to the background \(ID:\s*([\w-]+)\)")
_NOTICE_ID = re.compile(r"<(?:task-id|shell-id|bash-id)>([\w-]+)</")
_NOTICE_TOOL = re.compile(r"<tool-use-id>([\w-]+)</")
_NOTICE_STATUS = re.compile(r"<status>(\w+)</status>")
_NOTICE_EXIT = re.compile(r"<exit_code>(-?\d+)</exit_code>|exit code:? (-?\d+)", re.I)
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$|^\*\*\* Move to: (.+)$", re.M)
_RULES_NAMED = re.compile(r"(?<![\w.-])(AGENTS\.md|CLAUDE\.md)\b")
_RULES_NOT = re.compile(r"\b(?:don'?t|do not|never|without) (?:\w+ ){0,3}(?:touch|edit|change|modify|update)", re.I)


def new() -> dict:
    return {"cmds": [], "pending": {}, "running": {}, "polls": {}, "checks": {}, "git_ops": [], "edits": [],
            "last_edit_at": None, "final": None, "draft": None, "interrupts": [], "corrections": [], "acted": False,
            "notice": False, "asked": [], "rules_asked": [], "line": None}


def _push(lst: list, item, limit: int) -> None:
    lst.append(item)
    del lst[:-limit]


def _s(v) -> str | None:
    return v if isinstance(v, str) else None


def feed(st: dict, obj, line: int | None = None) -> None:
    """Update st["trail"] from one decoded line (number `line` in the file) of this agent's session log; never
    raises on odd shapes."""
    if not isinstance(obj, dict):
        return
    tr = st.get("trail")
    if not isinstance(tr, dict):
        tr = st["trail"] = new()
    for key, empty in (("running", {}), ("polls", {}), ("asked", []), ("rules_asked", [])):
        tr.setdefault(key, empty)  # trails written before these existed
    tr["line"] = line
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
                              "kind": check_kind(cmd), "git": bool(GIT_OP.search(cmd)),
                              "trusted": exit_trusted(cmd), "line": tr.get("line")}


def _finish(tr: dict, run: dict, exit_code: int | None, at: str | None, output: str | None = None,
            rejected: bool = False) -> None:
    """A command ended: its exit code (unknown when the shell line hides it), what its output says if a check."""
    trusted = run.get("trusted", True)
    done = {"cmd": run["cmd"], "cwd": run["cwd"], "at": run["at"], "end": at,
            "exit": exit_code if trusted else None, "line": run.get("line")}
    if not trusted and exit_code is not None:
        done["masked"] = exit_code
    if run.get("kind") and (not trusted or exit_code is None):
        done["said"] = output_says(output)
    if rejected:
        done["rejected"] = True
    _push(tr["cmds"], done, RECENT)
    if run.get("kind") and not rejected:
        tr["checks"][run["kind"]] = done
    if run.get("git"):
        _push(tr["git_ops"], done, EVENTS)


def _end_cmd(tr: dict, call_id: str | None, exit_code: int | None, at: str | None, rejected: bool = False,
             output: str | None = None) -> None:
    run = tr["pending"].pop(call_id or "", None)
    if run is not None:
        _finish(tr, run, exit_code, at, output, rejected)


def _to_background(tr: dict, call_id: str | None, key: str) -> None:
    """A command still running under its own id (Codex session id, Claude background task id)."""
    run = tr["pending"].pop(call_id or "", None)
    if run is not None and len(tr["running"]) < PENDING_MAX:
        tr["running"][key] = {**run, "call": call_id}


def _end_background(tr: dict, key: str | None, exit_code: int | None, at: str | None, output: str | None) -> bool:
    run = tr["running"].pop(key or "", None)
    if run is None:
        return False
    _finish(tr, run, exit_code, at, output)
    return True


def _edit(tr: dict, path: str | None, at: str | None) -> None:
    _acted(tr)
    if path:
        _push(tr["edits"], {"path": path[:300], "at": at}, RECENT)
    tr["last_edit_at"] = at or tr["last_edit_at"]


def _said(tr: dict, text: str | None, at: str | None, final: bool) -> None:
    if not text:
        return
    tr["acted"] = True
    if tr.get("notice"):
        return  # answering a background task's notice: not the worker's last word on its task
    item = {"at": at, "line": tr.get("line"), "claims": extract(text)}
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
    tr["notice"] = False
    if tr["acted"]:
        m = PUSHBACK.match(text)
        if m and not NOT_PUSHBACK.match(text):
            _push(tr["corrections"], {"at": at, "line": tr.get("line"), "word": m.group(1).lower(),
                                      "text": redact(" ".join(text.split()))[:160]}, EVENTS)
    tr["acted"] = False
    _asked(tr, text)


def _asked(tr: dict, text: str, init_rules: str | None = None) -> None:
    """What the person asked for: its content words (for deviations) and the rule files it asks to change."""
    tr["asked"] = (words(text, 30) + [w for w in tr["asked"] if w not in words(text, 30)])[:ASKED_MAX]
    named = set(_RULES_NAMED.findall(text)) if not _RULES_NOT.search(text) else set()
    if init_rules:
        named.add(init_rules)
    for name in sorted(named):
        if name not in tr["rules_asked"]:
            tr["rules_asked"].append(name)


def _interrupt(tr: dict, at: str | None, how: str) -> None:
    _push(tr["interrupts"], {"at": at, "line": tr.get("line"), "how": how}, EVENTS)
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
    if name in ("shell", "shell_command", "container.exec", "local_shell"):
        return _joined(args.get("command"))
    return None


def _joined(cmd) -> str | None:
    if isinstance(cmd, str):
        return cmd
    if isinstance(cmd, list) and all(isinstance(x, str) for x in cmd):
        if len(cmd) >= 3 and cmd[0] in ("bash", "sh", "zsh", "/bin/bash", "/bin/sh", "/bin/zsh") \
                and cmd[1] in ("-lc", "-c"):
            return cmd[2]
        return " ".join(cmd)
    return None


def _text(output) -> str:
    """A function call's output as text: a string, content items, or {"output": …, "metadata": …} JSON."""
    if isinstance(output, list):  # content items
        output = " ".join(_s(x.get("text")) or "" for x in output if isinstance(x, dict))
    if not isinstance(output, str):
        return ""
    if output.startswith("{"):
        inner = _args(output).get("output")
        if isinstance(inner, str):
            return inner
    return output


def _codex_exit(output) -> int | None:
    if isinstance(output, str) and output.startswith("{"):
        meta = _args(output).get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("exit_code"), int):
            return meta["exit_code"]
    m = _CODEX_EXIT.search(_text(output)[:2000])
    return int(m.group(1)) if m else None


def _patch_paths(text: str | None) -> list[str]:
    return [a or b for a, b in _PATCH_FILE.findall(text or "")]


def _codex_output(tr: dict, call_id: str | None, output, at: str | None) -> None:
    """A function call's output: a command's end, a command left running, or a poll of a running one."""
    code, text = _codex_exit(output), _text(output)
    if call_id in tr["polls"]:  # write_stdin on a running command: "Process exited with code X" ends it
        key = tr["polls"].pop(call_id)
        if code is not None:
            _end_background(tr, key, code, at, text)
        return
    running = _CODEX_RUNNING.search(text[:2000])
    if code is None and running and call_id in tr["pending"]:
        _to_background(tr, call_id, running.group(1))
        return
    _end_cmd(tr, call_id, code, at, output=text)


def _codex_end_event(tr: dict, call_id: str | None, code, at: str | None, output) -> None:
    """exec_command_end / item_completed(CommandExecution): the command's real exit code, when it has one."""
    code = code if isinstance(code, int) else None
    text = output if isinstance(output, str) else None
    if call_id in tr["pending"]:
        _end_cmd(tr, call_id, code, at, output=text)
        return
    for key, run in list(tr["running"].items()):
        if run.get("call") == call_id:
            _end_background(tr, key, code, at, text)
            return


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
            elif name == "write_stdin" and call_id and args.get("session_id") is not None:
                _acted(tr)
                if str(args["session_id"]) in tr["running"] and len(tr["polls"]) < PENDING_MAX:
                    tr["polls"][call_id] = str(args["session_id"])
            else:
                _acted(tr)
        elif ptype == "local_shell_call":
            action = p.get("action") if isinstance(p.get("action"), dict) else {}
            cmd = _joined(action.get("command"))
            if cmd and p.get("status") not in ("completed", "incomplete"):
                _start_cmd(tr, call_id, cmd, _s(action.get("working_directory")), at)
        elif ptype in ("function_call_output", "local_shell_call_output"):
            _codex_output(tr, call_id, p.get("output"), at)
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
            msg = _s(p.get("message"))
            _user(tr, msg, at)
        elif ptype == "exec_command_end":
            _codex_end_event(tr, _s(p.get("call_id")), p.get("exit_code"), at,
                             p.get("aggregated_output") or p.get("formatted_output") or p.get("stdout"))
        elif ptype == "item_completed" and isinstance(p.get("item"), dict) and \
                p["item"].get("type") == "CommandExecution":
            item = p["item"]
            item_id = _s(item.get("id"))
            out = item.get("aggregated_output") or item.get("stdout")
            if item_id not in tr["pending"] and not any(r.get("call") == item_id for r in tr["running"].values()):
                cmd = _joined(item.get("command"))
                if not cmd:
                    return
                _start_cmd(tr, item_id or f"item:{at}", cmd, _s(item.get("cwd")), at)
                item_id = item_id or f"item:{at}"
            _codex_end_event(tr, item_id, item.get("exit_code"), at, out)


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
                    bg = _s(inp.get("bash_id")) or _s(inp.get("task_id")) or _s(inp.get("shell_id"))
                    if name in ("BashOutput", "TaskOutput") and bg and bg in tr["running"] and _s(b.get("id")) \
                            and len(tr["polls"]) < PENDING_MAX:
                        tr["polls"][b["id"]] = bg
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
    if text.startswith("<task-notification>"):
        _notice(tr, text, at)
        return False
    if text.startswith("<command-") and "<command-name>" in text:  # a slash command the person typed
        args = re.search(r"<command-args>(.*?)</command-args>", text, re.S)
        _asked(tr, args.group(1) if args else "", "CLAUDE.md" if "<command-name>/init<" in text else None)
        return False
    if meta or text.startswith(("<", "Caveat:")):
        return False  # local commands, system reminders: not the person
    _close_turn(tr)
    _user(tr, text, at)
    return False


def _notice(tr: dict, text: str, at: str | None) -> None:
    """A background task's completion notice: ends that command; the turn it starts is not the worker's claim."""
    _close_turn(tr)
    tr["notice"] = True
    key = (_NOTICE_ID.search(text) or [None, None])[1]
    tool = (_NOTICE_TOOL.search(text) or [None, None])[1]
    if key not in tr["running"] and tool:
        key = next((k for k, r in tr["running"].items() if r.get("call") == tool), key)
    status = (_NOTICE_STATUS.search(text) or [None, None])[1]
    m = _NOTICE_EXIT.search(text)
    code = int(m.group(1) or m.group(2)) if m else (1 if status == "failed" else None)
    if status in ("completed", "failed") or m:
        _end_background(tr, key, code, at, None)


def _result_text(b: dict) -> str:
    c = b.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return " ".join(_s(x.get("text")) or "" for x in c if isinstance(x, dict))
    return ""


def _claude_result(tr: dict, b: dict, at: str | None) -> None:
    text = _result_text(b)
    tool_id = _s(b.get("tool_use_id"))
    if tool_id in tr["polls"]:  # BashOutput / TaskOutput on a background command
        key = tr["polls"].pop(tool_id)
        status = (_NOTICE_STATUS.search(text) or [None, None])[1]
        m = _NOTICE_EXIT.search(text)
        if status in ("completed", "failed") or m:
            code = int(m.group(1) or m.group(2)) if m else (1 if status == "failed" else None)
            _end_background(tr, key, code, at, text)
        return
    rejected = text.startswith(CLAUDE_REJECTED)
    bg = _CLAUDE_BACKGROUND.search(text[:500])
    if bg and b.get("is_error") is not True and tool_id in tr["pending"]:
        _to_background(tr, tool_id, bg.group(1) or bg.group(2))
        return
    if b.get("is_error") is True:
        m = _CLAUDE_EXIT.match(text)
        code = int(m.group(1)) if m else 1
    else:
        code = 0
    _end_cmd(tr, tool_id, None if rejected else code, at, rejected=rejected, output=text)
    if rejected:
        _interrupt(tr, at, "tool use rejected")


def claims_of(trail: dict | None) -> dict | None:
    """The message the worker ended on: the last text with nothing done after it, else its last final answer."""
    if not trail:
        return None
    return trail.get("draft") or trail.get("final")
