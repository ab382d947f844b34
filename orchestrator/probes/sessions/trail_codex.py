"""Codex rollout lines into the trail: exec_command / shell / shell_command calls and their outputs, commands left
running ("Process running with session ID N") ended by write_stdin polls or exec_command_end, item_completed
commands, apply_patch edits, final answers, interrupts and the person's messages."""

from __future__ import annotations

import json
import re

from orchestrator.probes.sessions.trail_steps import (
    PENDING_MAX, acted, close_turn, edit, end_background, end_cmd, interrupt, as_str, said, start_cmd,
    to_background, user)

_CODEX_EXIT = re.compile(r"(?:Process exited with code|Exit code:?)\s*(-?\d+)")
_CODEX_RUNNING = re.compile(r"Process running with session ID\s*(\d+)")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$|^\*\*\* Move to: (.+)$", re.M)


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
        return as_str(args.get("cmd")) or (as_str(args.get("command")) if not isinstance(args.get("command"), list) else None) \
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
        output = " ".join(as_str(x.get("text")) or "" for x in output if isinstance(x, dict))
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
            end_background(tr, key, code, at, text)
        return
    running = _CODEX_RUNNING.search(text[:2000])
    if code is None and running and call_id in tr["pending"]:
        to_background(tr, call_id, running.group(1))
        return
    end_cmd(tr, call_id, code, at, output=text)


def _codex_end_event(tr: dict, call_id: str | None, code, at: str | None, output) -> None:
    """exec_command_end / item_completed(CommandExecution): the command's real exit code, when it has one."""
    code = code if isinstance(code, int) else None
    text = output if isinstance(output, str) else None
    if call_id in tr["pending"]:
        end_cmd(tr, call_id, code, at, output=text)
        return
    for key, run in list(tr["running"].items()):
        if run.get("call") == call_id:
            end_background(tr, key, code, at, text)
            return


def feed(tr: dict, obj: dict) -> None:
    kind = obj.get("type")
    at = as_str(obj.get("timestamp"))
    p = obj.get("payload") if isinstance(obj.get("payload"), dict) else {}
    ptype = as_str(p.get("type"))
    if kind == "response_item":
        call_id = as_str(p.get("call_id"))
        if ptype == "function_call":
            name = as_str(p.get("name")) or ""
            args = _args(p.get("arguments"))
            cmd = _codex_cmd(name, args)
            if cmd is not None:
                if cmd.lstrip().startswith("apply_patch"):
                    for path in _patch_paths(cmd) or [None]:
                        edit(tr, path, at)
                start_cmd(tr, call_id, cmd, as_str(args.get("workdir")), at)
            elif name == "write_stdin" and call_id and args.get("session_id") is not None:
                acted(tr)
                if str(args["session_id"]) in tr["running"] and len(tr["polls"]) < PENDING_MAX:
                    tr["polls"][call_id] = str(args["session_id"])
            else:
                acted(tr)
        elif ptype == "local_shell_call":
            action = p.get("action") if isinstance(p.get("action"), dict) else {}
            cmd = _joined(action.get("command"))
            if cmd and p.get("status") not in ("completed", "incomplete"):
                start_cmd(tr, call_id, cmd, as_str(action.get("working_directory")), at)
        elif ptype in ("function_call_output", "local_shell_call_output"):
            _codex_output(tr, call_id, p.get("output"), at)
        elif ptype == "custom_tool_call" and p.get("name") == "apply_patch":
            for path in _patch_paths(as_str(p.get("input"))) or [None]:
                edit(tr, path, at)
        elif ptype == "message" and p.get("role") == "assistant" and p.get("phase") == "final_answer":
            text = " ".join(as_str(c.get("text")) or "" for c in p.get("content") or [] if isinstance(c, dict))
            said(tr, text, at, final=True)
    elif kind == "event_msg":
        if ptype == "agent_message":
            phase = p.get("phase")
            if phase != "commentary":
                said(tr, as_str(p.get("message")), at, final=phase == "final_answer")
        elif ptype in ("task_complete", "turn_complete"):
            last = as_str(p.get("last_agent_message"))
            if last:
                said(tr, last, at, final=True)
            else:
                close_turn(tr)
        elif ptype == "turn_aborted":
            if p.get("reason") == "interrupted":
                interrupt(tr, at, "turn_aborted: interrupted")
        elif ptype == "user_message":
            close_turn(tr)
            msg = as_str(p.get("message"))
            user(tr, msg, at)
        elif ptype == "exec_command_end":
            _codex_end_event(tr, as_str(p.get("call_id")), p.get("exit_code"), at,
                             p.get("aggregated_output") or p.get("formatted_output") or p.get("stdout"))
        elif ptype == "item_completed" and isinstance(p.get("item"), dict) and \
                p["item"].get("type") == "CommandExecution":
            item = p["item"]
            item_id = as_str(item.get("id"))
            out = item.get("aggregated_output") or item.get("stdout")
            if item_id not in tr["pending"] and not any(r.get("call") == item_id for r in tr["running"].values()):
                cmd = _joined(item.get("command"))
                if not cmd:
                    return
                start_cmd(tr, item_id or f"item:{at}", cmd, as_str(item.get("cwd")), at)
                item_id = item_id or f"item:{at}"
            _codex_end_event(tr, item_id, item.get("exit_code"), at, out)
