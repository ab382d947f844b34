"""Shared by the trust tests: a clock, the agents' homes, and commands, edits and results in each agent's real
line shapes; what the ledger says (misalignments, trust)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sessionlogs import ClaudeTranscript, CodexRollout

T0 = datetime.now(timezone.utc) - timedelta(minutes=30)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def homes(r) -> tuple[Path, Path]:
    return Path(r.env["CODEX_HOME"]), Path(r.env["CLAUDE_CONFIG_DIR"])


# --- the real line shapes of commands, edits and their results ------------------------------------------------

def codex_exec(log: CodexRollout, cmd: str, exit_code: int, minute: float, output: str = "") -> None:
    """Codex unified exec: exec_command with {cmd, workdir}, its output text ends with the exit code."""
    call_id = f"call_{uuid.uuid4().hex[:10]}"
    log.item("function_call", at(minute), name="exec_command", call_id=call_id,
             arguments=json.dumps({"cmd": cmd, "workdir": log.cwd, "yield_time_ms": 10000}))
    log.item("function_call_output", at(minute + 0.2), call_id=call_id,
             output=f"Chunk ID: 4f1c2a\nWall time: 1.2040 seconds\nProcess exited with code {exit_code}\n"
                    f"Original token count: 12\nOutput:\n{output}\n")


def codex_shell(log: CodexRollout, cmd: str, exit_code: int, minute: float) -> None:
    """Older Codex shell tool: command as an argv list, output JSON with metadata.exit_code."""
    call_id = f"call_{uuid.uuid4().hex[:10]}"
    log.item("function_call", at(minute), name="shell", call_id=call_id,
             arguments=json.dumps({"command": ["bash", "-lc", cmd], "workdir": log.cwd, "timeout_ms": 120000}))
    log.item("function_call_output", at(minute + 0.2), call_id=call_id,
             output=json.dumps({"output": "...", "metadata": {"exit_code": exit_code, "duration_seconds": 0.4}}))


def codex_patch(log: CodexRollout, path: str, minute: float) -> None:
    call_id = f"call_{uuid.uuid4().hex[:10]}"
    log.item("custom_tool_call", at(minute), status="completed", call_id=call_id, name="apply_patch",
             input=f"*** Begin Patch\n*** Update File: {path}\n@@\n-old\n+new\n*** End Patch\n")
    log.item("custom_tool_call_output", at(minute + 0.1), call_id=call_id,
             output=json.dumps({"output": f"Success. Updated the following files:\nM {path}\n",
                                "metadata": {"exit_code": 0, "duration_seconds": 0.0}}))


def claude_bash(log: ClaudeTranscript, cmd: str, exit_code: int, minute: float, out: str = "ok") -> None:
    tid = log.tool_use("Bash", {"command": cmd, "description": "run"}, at(minute))
    if exit_code == 0:
        log.tool_result(tid, out, at(minute + 0.2))
    else:
        log.line({**log._base("user", at(minute + 0.2)), "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tid, "content": f"Exit code {exit_code}\n{out}", "is_error": True}]},
            "toolUseResult": f"Error: Exit code {exit_code}\n{out}"})


def claude_edit(log: ClaudeTranscript, path: str, minute: float) -> None:
    tid = log.tool_use("Edit", {"file_path": path, "old_string": "a", "new_string": "b", "replace_all": False},
                       at(minute))
    log.tool_result(tid, f"The file {path} has been updated.", at(minute + 0.1))


def claude_worker_with_a_remote(r, task: str, branch: str, path: str, text: str) -> tuple[Path, Path]:
    """A bare `origin`, and a Claude worker's task with one commit on its branch: (worktree, remote)."""
    remote = r.base / "remote.git"
    r.git("init", "-q", "--bare", str(remote))
    r.git("remote", "add", "origin", str(remote))
    wt = r.worktree(f"w-{task.lower()}", branch)
    r.dispatch(task, branch, wt, "--agent", "claude")
    r.commit(wt, path, text, "feature")
    return wt, remote


def trust(r) -> dict:
    return r.orch_json("trust")


def misaligned(r, open_only: bool = False) -> list[dict]:
    return r.orch_json("misalign", "list", *(["--open"] if open_only else []))["misalignments"]


def cats(items) -> set[tuple[str, str]]:
    return {(m["category"], m["evidence_kind"]) for m in items}
