"""The trust scenarios' worker (tests/trustscenarios.py): one session in the real lines of its agent, Codex rollout
or Claude Code transcript, several of each agent's shapes for commands and their results."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sessionlogs import ClaudeTranscript, CodexRollout

T0 = datetime.now(timezone.utc) - timedelta(minutes=40)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Worker:
    """One worker's session, in the real lines of its agent; git is done on its worktree through the repo."""

    def __init__(self, r, agent: str, wt: Path, prompt: str):
        self.r, self.agent, self.wt, self.t = r, agent, wt, 1.0
        home = Path(r.env["CODEX_HOME"] if agent == "codex" else r.env["CLAUDE_CONFIG_DIR"])
        if agent == "codex":
            self.log = CodexRollout(home, wt, at=at(0))
            self.log.start_turn(prompt, at(0.5))
        else:
            self.log = ClaudeTranscript(home, wt)
            self.log.prompt(prompt, at(0.5))

    def _tick(self, step: float = 1.0) -> float:
        self.t += step
        return self.t

    # --- what the worker does ----------------------------------------------------------------------------------
    def edit(self, path: str, text: str = "x = 1\n", commit: bool = True) -> None:
        m = self._tick()
        if self.agent == "codex":
            cid = f"call_{uuid.uuid4().hex[:10]}"
            self.log.item("custom_tool_call", at(m), status="completed", call_id=cid, name="apply_patch",
                          input=f"*** Begin Patch\n*** Update File: {path}\n@@\n-old\n+new\n*** End Patch\n")
            self.log.item("custom_tool_call_output", at(m + 0.1), call_id=cid, output=json.dumps(
                {"output": f"Success. Updated the following files:\nM {path}\n", "metadata": {"exit_code": 0}}))
        else:
            tid = self.log.tool_use("Edit", {"file_path": str(self.wt / path), "old_string": "a", "new_string": "b"},
                                    at(m))
            self.log.tool_result(tid, f"The file {self.wt / path} has been updated.", at(m + 0.1))
        self.r.write(self.wt, path, text)
        if commit:
            self.r.git("add", "-A", cwd=self.wt)
            self.r.git("commit", "-q", "-m", f"edit {path}", cwd=self.wt)

    def run(self, cmd: str, code: int, out: str = "ok", shape: str = "plain") -> None:
        """A command and its result. shape (Codex): plain | shell | shell_command | end_event | item;
        (Claude): plain. A failing Claude command is an is_error tool_result with `Exit code N`."""
        m = self._tick()
        if self.agent == "claude":
            tid = self.log.tool_use("Bash", {"command": cmd, "description": "run"}, at(m))
            if code == 0:
                self.log.tool_result(tid, out, at(m + 0.2))
            else:
                self.log.line({**self.log._base("user", at(m + 0.2)), "message": {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": tid, "content": f"Exit code {code}\n{out}",
                     "is_error": True}]}, "toolUseResult": f"Error: Exit code {code}\n{out}"})
            return
        cid = f"call_{uuid.uuid4().hex[:10]}"
        if shape == "item":  # newer Codex: the command as a completed item, no function call line
            self.log.event("item_completed", at(m), item={"type": "CommandExecution", "id": cid,
                                                          "command": ["/bin/zsh", "-lc", cmd], "status": "completed",
                                                          "exit_code": code, "aggregated_output": out})
            return
        if shape == "shell":
            self.log.item("function_call", at(m), name="shell", call_id=cid,
                          arguments=json.dumps({"command": ["bash", "-lc", cmd], "workdir": str(self.wt)}))
            self.log.item("function_call_output", at(m + 0.2), call_id=cid,
                          output=json.dumps({"output": out, "metadata": {"exit_code": code, "duration_seconds": 0.4}}))
            return
        if shape == "shell_command":
            self.log.item("function_call", at(m), name="shell_command", call_id=cid,
                          arguments=json.dumps({"command": cmd, "workdir": str(self.wt)}))
            self.log.item("function_call_output", at(m + 0.2), call_id=cid,
                          output=f"Exit code: {code}\nWall time: 0.8 seconds\nOutput:\n{out}\n")
            return
        self.log.item("function_call", at(m), name="exec_command", call_id=cid,
                      arguments=json.dumps({"cmd": cmd, "workdir": str(self.wt), "yield_time_ms": 10000}))
        if shape == "end_event":  # exec_command_end carries the exit code, the output line does not
            self.log.event("exec_command_end", at(m + 0.1), call_id=cid, exit_code=code, aggregated_output=out,
                           status="completed" if code == 0 else "failed")
            self.log.item("function_call_output", at(m + 0.2), call_id=cid, output=out)
            return
        self.log.item("function_call_output", at(m + 0.2), call_id=cid,
                      output=f"Chunk ID: 4f1c2a\nWall time: 1.2040 seconds\nProcess exited with code {code}\n"
                             f"Original token count: 12\nOutput:\n{out}\n")

    def run_long(self, cmd: str, code: int, out: str) -> None:
        """A long-running command: Codex exec_command left running then polled with write_stdin; a Claude
        background Bash ended by its task notification (which starts a turn that is not the worker's claim)."""
        m = self._tick(3)
        if self.agent == "codex":
            cid, sid = f"call_{uuid.uuid4().hex[:10]}", str(20000 + int(m * 10))
            self.log.item("function_call", at(m), name="exec_command", call_id=cid,
                          arguments=json.dumps({"cmd": cmd, "workdir": str(self.wt), "yield_time_ms": 10000}))
            self.log.item("function_call_output", at(m + 0.2), call_id=cid,
                          output=f"Chunk ID: 1\nWall time: 10.0 seconds\nProcess running with session ID {sid}\n"
                                 f"Original token count: 4\nOutput:\ncollecting ...\n")
            for i, (tail, text) in enumerate([(f"Process running with session ID {sid}", "....."),
                                              (f"Process exited with code {code}", out)]):
                pid = f"call_{uuid.uuid4().hex[:10]}"
                self.log.item("function_call", at(m + 1 + i), name="write_stdin", call_id=pid,
                              arguments=json.dumps({"session_id": int(sid), "chars": "", "yield_time_ms": 30000}))
                self.log.item("function_call_output", at(m + 1.5 + i), call_id=pid,
                              output=f"Chunk ID: {i + 2}\nWall time: 30.0 seconds\n{tail}\nOriginal token count: 9\n"
                                     f"Output:\n{text}\n")
        else:
            task = uuid.uuid4().hex[:7]
            tid = self.log.tool_use("Bash", {"command": cmd, "run_in_background": True}, at(m))
            self.log.tool_result(tid, f"Command running in background with ID: {task}. Output is being written to: "
                                      f"/tmp/claude-1000/x/tasks/{task}.output", at(m + 0.1))
            self.pending_notice = (task, code, at(m + 2))

    def notice(self) -> None:
        """Claude: the background command's completion notice, after the turn ended, and the worker's reply to it."""
        if self.agent != "claude" or not getattr(self, "pending_notice", None):
            return
        task, code, when = self.pending_notice
        status = "completed" if code == 0 else "failed"
        summary = f"completed (exit code {code})" if code == 0 else f"failed with exit code {code}"
        note = (f"<task-notification>\n<task-id>{task}</task-id>\n<output-file>/tmp/claude-1000/x/tasks/{task}.output"
                f"</output-file>\n<status>{status}</status>\n<summary>Background command \"Run tests\" {summary}"
                f"</summary>\n</task-notification>")
        self.log.line({**self.log._base("user", when), "message": {"role": "user", "content": note}})
        self.log.say("That notice is from the background run started earlier; it completed successfully.",
                     when + timedelta(seconds=5))
        self.log.end_turn(when + timedelta(seconds=6))

    def user(self, text: str) -> None:
        m = self._tick()
        if self.agent == "codex":
            self.log.event("user_message", at(m), message=text, local_images=[], text_elements=[])
        else:
            self.log.prompt(text, at(m))

    def say(self, message: str, notice_after: bool = True) -> None:
        """The worker's last word; its turn ends."""
        m = self._tick()
        if self.agent == "codex":
            self.log.finish(message, at(m))
        else:
            self.log.say(message, at(m))
            self.log.end_turn(at(m + 0.1))
            if notice_after:
                self.notice()
