"""Claude Code transcript lines into the trail: Bash tool uses and their results (`is_error`, `Exit code N`),
background commands ended by their task notification or a BashOutput poll, edits, drafts and final words,
interrupts, rejected tool uses, slash commands and the person's messages (sidechains are skipped)."""

from __future__ import annotations

import re

from orchestrator.probes.sessions.trail_steps import (
    EDIT_TOOLS, PENDING_MAX, acted, asked, close_turn, edit, end_background, end_cmd, interrupt, as_str, said,
    start_cmd, to_background, user)

CLAUDE_INTERRUPT = "[Request interrupted by user"
CLAUDE_REJECTED = ("The user doesn't want to proceed", "User rejected tool use")
_CLAUDE_EXIT = re.compile(r"^(?:Error: )?Exit code (\d+)")
_CLAUDE_BACKGROUND = re.compile(r"running in background with ID:\s*([\w-]+)|moved to the background \(ID:\s*([\w-]+)\)")
_NOTICE_ID = re.compile(r"<(?:task-id|shell-id|bash-id)>([\w-]+)</")
_NOTICE_TOOL = re.compile(r"<tool-use-id>([\w-]+)</")
_NOTICE_STATUS = re.compile(r"<status>(\w+)</status>")
_NOTICE_EXIT = re.compile(r"<exit_code>(-?\d+)</exit_code>|exit code:? (-?\d+)", re.I)


def feed(tr: dict, obj: dict) -> None:
    if obj.get("isSidechain") is True:
        return
    kind = obj.get("type")
    at = as_str(obj.get("timestamp"))
    msg = obj.get("message") if isinstance(obj.get("message"), dict) else {}
    content = msg.get("content")
    if kind == "assistant":
        texts, ends_text = [], False
        for b in content if isinstance(content, list) else []:
            if not isinstance(b, dict):
                continue
            ends_text = b.get("type") == "text"
            if b.get("type") == "tool_use":
                name, inp = as_str(b.get("name")) or "", b.get("input") if isinstance(b.get("input"), dict) else {}
                if name == "Bash" and as_str(inp.get("command")):
                    start_cmd(tr, as_str(b.get("id")), inp["command"], None, at)
                elif name in EDIT_TOOLS:
                    edit(tr, as_str(inp.get("file_path")) or as_str(inp.get("notebook_path")), at)
                else:
                    acted(tr)
                    bg = as_str(inp.get("bash_id")) or as_str(inp.get("task_id")) or as_str(inp.get("shell_id"))
                    if name in ("BashOutput", "TaskOutput") and bg and bg in tr["running"] and as_str(b.get("id")) \
                            and len(tr["polls"]) < PENDING_MAX:
                        tr["polls"][b["id"]] = bg
            elif b.get("type") == "text" and as_str(b.get("text")):
                texts.append(b["text"])
        if texts and ends_text:
            said(tr, "\n".join(texts), at, final=False)
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
            elif b.get("type") == "text" and as_str(b.get("text")):
                if _claude_text(tr, b["text"], at, meta):
                    return
    elif kind == "system" and obj.get("subtype") in ("turn_duration", "stop_hook_summary"):
        close_turn(tr)
        tr["idle"] = True  # the turn is over: a notice now starts a turn of its own


def _claude_text(tr: dict, text: str, at: str | None, meta: bool) -> bool:
    if text.startswith(CLAUDE_INTERRUPT):
        close_turn(tr)
        last = tr["interrupts"][-1] if tr["interrupts"] else None
        if tr["acted"] or not last or last.get("how") != "tool use rejected":  # one stop, not two
            interrupt(tr, at, "interrupted by user")
        return True
    if text.startswith("<task-notification>"):
        _notice(tr, text, at)
        return False
    if text.startswith("<command-") and "<command-name>" in text:  # a slash command the person typed
        args = re.search(r"<command-args>(.*?)</command-args>", text, re.S)
        asked(tr, args.group(1) if args else "", "CLAUDE.md" if "<command-name>/init<" in text else None)
        return False
    if meta or text.startswith(("<", "Caveat:")):
        return False  # local commands, system reminders: not the person
    close_turn(tr)
    user(tr, text, at)
    return False


def _notice(tr: dict, text: str, at: str | None) -> None:
    """A background task's completion notice: ends that command; the turn it starts is not the worker's claim."""
    close_turn(tr)
    tr["notice"] = bool(tr.get("idle"))  # mid-turn, the worker's next words are still its own
    key = (_NOTICE_ID.search(text) or [None, None])[1]
    tool = (_NOTICE_TOOL.search(text) or [None, None])[1]
    if key not in tr["running"] and tool:
        key = next((k for k, r in tr["running"].items() if r.get("call") == tool), key)
    status = (_NOTICE_STATUS.search(text) or [None, None])[1]
    m = _NOTICE_EXIT.search(text)
    code = int(m.group(1) or m.group(2)) if m else (1 if status == "failed" else None)
    if status in ("completed", "failed") or m:
        end_background(tr, key, code, at, None)


def _result_text(b: dict) -> str:
    c = b.get("content")
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return " ".join(as_str(x.get("text")) or "" for x in c if isinstance(x, dict))
    return ""


def _claude_result(tr: dict, b: dict, at: str | None) -> None:
    text = _result_text(b)
    tool_id = as_str(b.get("tool_use_id"))
    if tool_id in tr["polls"]:  # BashOutput / TaskOutput on a background command
        key = tr["polls"].pop(tool_id)
        status = (_NOTICE_STATUS.search(text) or [None, None])[1]
        m = _NOTICE_EXIT.search(text)
        if status in ("completed", "failed") or m:
            code = int(m.group(1) or m.group(2)) if m else (1 if status == "failed" else None)
            end_background(tr, key, code, at, text)
        return
    rejected = text.startswith(CLAUDE_REJECTED)
    bg = _CLAUDE_BACKGROUND.search(text[:500])
    if bg and b.get("is_error") is not True and tool_id in tr["pending"]:
        to_background(tr, tool_id, bg.group(1) or bg.group(2))
        return
    if b.get("is_error") is True:
        m = _CLAUDE_EXIT.match(text)
        code = int(m.group(1)) if m else 1
    else:
        code = 0
    end_cmd(tr, tool_id, None if rejected else code, at, rejected=rejected, output=text)
    if rejected:
        interrupt(tr, at, "tool use rejected")
