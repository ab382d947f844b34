"""Write Codex rollouts and Claude Code transcripts in their real on-disk formats, for tests and benchmarks."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path


def ts(at: datetime | None = None) -> str:
    at = at or datetime.now(timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Log:
    """An append-only JSONL session file; every helper appends one or more real lines."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def raw(self, data: bytes | str) -> None:
        with open(self.path, "ab") as f:
            f.write(data.encode() if isinstance(data, str) else data)

    def line(self, obj: dict) -> None:
        self.raw(json.dumps(obj, separators=(",", ":")) + "\n")


class CodexRollout(Log):
    """$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl"""

    def __init__(self, codex_home: Path, cwd: Path | str, *, approval: str = "on-request", at: datetime | None = None,
                 session_id: str | None = None, version: str = "0.107.0", source: str | dict = "cli",
                 ordinal: bool = False, meta: dict | None = None):
        at = at or datetime.now(timezone.utc)
        self.id = session_id or str(uuid.uuid4())
        local = at.astimezone()
        path = Path(codex_home) / "sessions" / f"{local:%Y}" / f"{local:%m}" / f"{local:%d}" / \
            f"rollout-{local:%Y-%m-%dT%H-%M-%S}-{self.id}.jsonl"
        super().__init__(path)
        self.cwd = str(cwd)
        self.approval = approval
        self.turn = None
        self.ordinal = 0 if ordinal else None  # 0.15x: an `ordinal` on every line
        self.line({"timestamp": ts(at), "type": "session_meta", "payload": {
            "id": self.id, "timestamp": ts(at), "cwd": self.cwd, "originator": "codex_cli_rs", "cli_version": version,
            "source": source, "model_provider": "openai", "base_instructions": {"text": "You are Codex."},
            **(meta or {}), "git": {"commit_hash": "0" * 40, "branch": "main"}}})

    def line(self, obj: dict) -> None:
        if self.ordinal is not None:
            obj = {"timestamp": obj.get("timestamp"), "ordinal": self.ordinal, **obj}
            self.ordinal += 1
        super().line(obj)

    def sub_agent(self, codex_home: Path, cwd: Path | str | None = None, nickname: str = "Hypatia",
                  at: datetime | None = None) -> "CodexRollout":
        """A sub-agent this session spawned (multi-agent `spawn_agent`): its own rollout, whose session_meta names
        the parent thread and which starts with a copy of the parent's session_meta and history (a forked spawn)."""
        child = CodexRollout(codex_home, cwd or self.cwd, approval=self.approval, at=at, meta={
            "forked_from_id": self.id, "thread_source": "subagent", "agent_nickname": nickname, "agent_role": "worker"},
            source={"subagent": {"thread_spawn": {"parent_thread_id": self.id, "depth": 1,
                                                  "agent_nickname": nickname, "agent_role": "worker"}}})
        child.line({"timestamp": ts(at), "type": "session_meta", "payload": {
            "id": self.id, "timestamp": ts(at), "cwd": self.cwd, "originator": "codex_cli_rs",
            "cli_version": "0.107.0", "source": "cli", "model_provider": "openai"}})
        child.event("task_started", at, turn_id=self.turn, model_context_window=272000)
        child.event("user_message", at, message="the parent's prompt, copied", local_images=[], text_elements=[])
        return child

    def tool(self, name: str, args: dict, at: datetime | None = None, custom: bool = False) -> str:
        """A function call (or a custom tool call such as apply_patch) by name with its arguments."""
        call_id = f"call_{uuid.uuid4().hex[:8]}"
        if custom:
            self.item("custom_tool_call", at, status="completed", call_id=call_id, name=name, input=args.get("input", ""))
        else:
            self.item("function_call", at, name=name, arguments=json.dumps(args), call_id=call_id)
        return call_id

    def error(self, message: str, info=None, at: datetime | None = None) -> None:
        """An `error` event (0.12x+: with `codex_error_info`, a code or {code: {http_status_code}})."""
        fields = {"message": message}
        if info is not None:
            fields["codex_error_info"] = info
        self.event("error", at, **fields)

    def complete(self, error: dict | None = None, at: datetime | None = None) -> None:
        """task_complete with no agent message, as Codex closes a turn that failed (0.14x+: the error rides on it)."""
        fields = {"turn_id": self.turn, "last_agent_message": None, "duration_ms": 2410}
        if error is not None:
            fields["error"] = error
        self.event("task_complete", at, **fields)

    def completed_item(self, item: dict, at: datetime | None = None) -> None:
        """0.149+: an `item_completed` event (UserMessage, AgentMessage, CommandExecution, ...)."""
        self.event("item_completed", at, thread_id=self.id, turn_id=self.turn, item=item)

    def world_state(self, at: datetime | None = None) -> None:
        self.line({"timestamp": ts(at), "type": "world_state", "payload": {"full": True, "state": {
            "environments": {"environments": {"local": {"cwd": self.cwd, "shell": "bash"}}}}}})

    def event(self, ptype: str, at: datetime | None = None, **fields) -> None:
        self.line({"timestamp": ts(at), "type": "event_msg", "payload": {"type": ptype, **fields}})

    def item(self, ptype: str, at: datetime | None = None, **fields) -> None:
        self.line({"timestamp": ts(at), "type": "response_item", "payload": {"type": ptype, **fields}})

    def start_turn(self, prompt: str = "do the task", at: datetime | None = None) -> str:
        self.turn = str(uuid.uuid4())
        self.line({"timestamp": ts(at), "type": "turn_context", "payload": {
            "turn_id": self.turn, "cwd": self.cwd, "approval_policy": self.approval,
            "sandbox_policy": {"type": "workspace-write", "network_access": False}, "model": "gpt-5.3-codex",
            "effort": "medium", "summary": "auto"}})
        self.event("task_started", at, turn_id=self.turn, model_context_window=272000)
        self.event("user_message", at, message=prompt, local_images=[], text_elements=[])
        return self.turn

    def call(self, name: str = "shell", command=("bash", "-lc", "npm test"), escalated: bool = False,
             at: datetime | None = None) -> str:
        call_id = f"call_{uuid.uuid4().hex[:8]}"
        args = {"command": list(command), "workdir": self.cwd}
        if escalated:
            args.update(sandbox_permissions="require_escalated", justification="needs network")
        self.item("function_call", at, name=name, arguments=json.dumps(args), call_id=call_id)
        return call_id

    def output(self, call_id: str, text: str = "ok", at: datetime | None = None) -> None:
        self.item("function_call_output", at, call_id=call_id,
                  output=json.dumps({"output": text, "metadata": {"exit_code": 0, "duration_seconds": 1.5}}))

    def tokens(self, total: int = 43042, used_percent: float = 12.0, at: datetime | None = None) -> None:
        self.event("token_count", at, info={
            "total_token_usage": {"input_tokens": total - 1812, "cached_input_tokens": 1000, "output_tokens": 1812,
                                  "reasoning_output_tokens": 960, "total_tokens": total},
            "last_token_usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12},
            "model_context_window": 272000},
            rate_limits={"primary": {"used_percent": used_percent, "window_minutes": 300, "resets_at": 1772452800},
                         "secondary": None, "credits": None, "plan_type": "plus"})

    def finish(self, message: str = "Done.", at: datetime | None = None) -> None:
        self.event("agent_message", at, message=message, phase="final_answer")
        self.event("task_complete", at, turn_id=self.turn, last_agent_message=message, duration_ms=117329)

    def abort(self, reason: str = "interrupted", at: datetime | None = None) -> None:
        self.event("turn_aborted", at, turn_id=self.turn, reason=reason)

    # Codex 0.5x-0.9x (codex_cli_rs): no task_started/task_complete, messages without a phase
    def legacy_prompt(self, prompt: str = "do the task", at: datetime | None = None) -> None:
        self.line({"timestamp": ts(at), "type": "turn_context", "payload": {
            "cwd": self.cwd, "approval_policy": self.approval, "sandbox_policy": {"mode": "workspace-write"},
            "model": "gpt-5.1-codex", "effort": "medium", "summary": "auto"}})
        self.item("message", at, role="user", content=[{"type": "input_text", "text": prompt}])
        self.event("user_message", at, message=prompt, kind="plain")

    def legacy_answer(self, message: str = "Done.", at: datetime | None = None) -> None:
        self.event("agent_message", at, message=message)
        self.item("message", at, role="assistant", content=[{"type": "output_text", "text": message}])

    def plan(self, steps: list[tuple[str, str]], at: datetime | None = None) -> str:
        """An update_plan call: (step, status) pairs, status pending | in_progress | completed."""
        call_id = f"call_{uuid.uuid4().hex[:8]}"
        self.item("function_call", at, name="update_plan", call_id=call_id, arguments=json.dumps(
            {"plan": [{"step": step, "status": status} for step, status in steps]}))
        self.item("function_call_output", at, call_id=call_id, output="Plan updated")
        return call_id

    def usage(self, used: int, window: int = 272000, used_percent: float = 12.0, total: int = 43042,
              at: datetime | None = None) -> None:
        """A token_count whose last request used `used` tokens of a `window` context, `used_percent` of the 5h limit."""
        self.event("token_count", at, info={
            "total_token_usage": {"input_tokens": total - 1812, "cached_input_tokens": 1000, "output_tokens": 1812,
                                  "reasoning_output_tokens": 960, "total_tokens": total},
            "last_token_usage": {"input_tokens": used - 400, "cached_input_tokens": 0, "output_tokens": 400,
                                 "reasoning_output_tokens": 0, "total_tokens": used},
            "model_context_window": window},
            rate_limits={"primary": {"used_percent": used_percent, "window_minutes": 300, "resets_at": 1772452800},
                         "secondary": {"used_percent": 40.0, "window_minutes": 10080, "resets_at": 1772852800},
                         "credits": None, "plan_type": "plus"})

    def compacted(self, at: datetime | None = None) -> None:
        self.line({"timestamp": ts(at), "type": "compacted", "payload": {"message": "", "replacement_history": []}})
        self.event("context_compacted", at)


def claude_slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", path)


class ClaudeTranscript(Log):
    """$CLAUDE_CONFIG_DIR/projects/<slug of cwd>/<session id>.jsonl"""

    def __init__(self, claude_dir: Path, cwd: Path | str, session_id: str | None = None, mode: str = "default",
                 version: str = "2.1.220", path: Path | None = None, sidechain: bool = False):
        self.id = session_id or str(uuid.uuid4())
        self.cwd = str(cwd)
        self.claude_dir = Path(claude_dir)
        super().__init__(path or self.claude_dir / "projects" / claude_slug(self.cwd) / f"{self.id}.jsonl")
        self.mode = mode
        self.version = version
        self.sidechain = sidechain
        self.agent_id = None
        self.parent = None

    def subagent(self, layout: str = "new") -> "ClaudeTranscript":
        """A Task subagent's own transcript: `<session>/subagents/agent-<id>.jsonl` (2.1.2+, "new") or
        `agent-<id>.jsonl` beside the parent (before, "old"); its lines are sidechain lines with the parent's id."""
        agent_id = uuid.uuid4().hex[:8]
        folder = self.path.parent / self.id / "subagents" if layout == "new" else self.path.parent
        sub = ClaudeTranscript(self.claude_dir, self.cwd, session_id=self.id, mode=self.mode, version=self.version,
                               path=folder / f"agent-{agent_id}.jsonl", sidechain=True)
        sub.agent_id = agent_id
        return sub

    def _base(self, kind: str, at: datetime | None) -> dict:
        uid = str(uuid.uuid4())
        base = {"parentUuid": self.parent, "isSidechain": self.sidechain, "userType": "external", "cwd": self.cwd,
                "sessionId": self.id, "version": self.version, "gitBranch": "main", "type": kind, "uuid": uid,
                "timestamp": ts(at)}
        if self.agent_id:
            base["agentId"] = self.agent_id
        self.parent = uid
        return base

    def prompt(self, text: str = "fix the flaky test", at: datetime | None = None) -> None:
        self.line({**self._base("user", at), "permissionMode": self.mode, "message": {"role": "user", "content": text}})

    def tool_use(self, name: str = "Bash", tool_input: dict | None = None, at: datetime | None = None) -> str:
        tid = f"toolu_{uuid.uuid4().hex[:10]}"
        self.line({**self._base("assistant", at), "requestId": "req_1", "message": {
            "id": f"msg_{uuid.uuid4().hex[:8]}", "model": "claude-opus-4-6", "role": "assistant",
            "content": [{"type": "tool_use", "id": tid, "name": name, "input": tool_input or {"command": "npm test"}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 812, "output_tokens": 64,
                                                 "cache_read_input_tokens": 20480, "cache_creation_input_tokens": 0}}})
        return tid

    def tool_result(self, tool_use_id: str, text: str = "42 passing", at: datetime | None = None) -> None:
        self.line({**self._base("user", at), "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_use_id, "content": text, "is_error": False}]}})

    def say(self, text: str = "All tests pass.", at: datetime | None = None) -> None:
        self.line({**self._base("assistant", at), "requestId": "req_2", "message": {
            "id": f"msg_{uuid.uuid4().hex[:8]}", "model": "claude-opus-4-6", "role": "assistant",
            "content": [{"type": "text", "text": text}], "stop_reason": None,
            "usage": {"input_tokens": 100, "output_tokens": 20}}})

    def stream(self, blocks: list[dict], msg_id: str | None = None, usage: list[dict] | None = None,
               stop_reason: str | None = None, at: datetime | None = None) -> str:
        """One API message written as Claude Code streams it: a line per content block sharing `message.id`,
        stop_reason null, each line's usage as it stood (only the last line has the final output_tokens)."""
        msg_id = msg_id or f"msg_{uuid.uuid4().hex[:8]}"
        for i, block in enumerate(blocks):
            u = (usage or [{}])[min(i, len(usage or [{}]) - 1)]
            self.line({**self._base("assistant", at), "requestId": "req_3", "message": {
                "id": msg_id, "type": "message", "model": "claude-opus-4-6", "role": "assistant", "content": [block],
                "stop_reason": stop_reason if i == len(blocks) - 1 else None, "stop_sequence": None,
                "usage": {"input_tokens": 3, "cache_creation_input_tokens": 500, "cache_read_input_tokens": 20000,
                          "output_tokens": 2, "service_tier": "standard", **u}}})
        return msg_id

    def todos(self, items: list[tuple[str, str]], at: datetime | None = None) -> str:
        """A TodoWrite call: (content, status) pairs."""
        return self.tool_use("TodoWrite", {"todos": [{"content": c, "status": st, "activeForm": c}
                                                     for c, st in items]}, at)

    def task_notification(self, at: datetime | None = None) -> None:
        """A background command finished: Claude Code queues its notice and hands it to the model as a user line."""
        note = ("<task-notification>\n<task-id>b0be39e</task-id>\n<status>completed</status>\n"
                "<summary>Background command \"Run tests\" completed (exit code 0)</summary>\n</task-notification>")
        self.line({"type": "queue-operation", "operation": "enqueue", "timestamp": ts(at), "sessionId": self.id,
                   "content": note})
        self.line({"type": "queue-operation", "operation": "dequeue", "timestamp": ts(at), "sessionId": self.id})
        self.line({**self._base("user", at), "message": {"role": "user", "content": note}})

    def progress(self, kind: str = "hook_progress", at: datetime | None = None) -> None:
        self.line({**self._base("progress", at), "data": {"type": kind, "hookEvent": "PreToolUse"},
                   "toolUseID": "toolu_x", "parentToolUseID": "toolu_x"})

    def compact(self, at: datetime | None = None) -> None:
        self.line({**self._base("system", at), "subtype": "compact_boundary", "content": "Conversation compacted",
                   "level": "info", "compactMetadata": {"trigger": "auto", "preTokens": 167000}})

    def api_error_message(self, text: str = "API Error: 529 Overloaded", at: datetime | None = None) -> None:
        """The synthetic assistant line Claude Code writes when a request fails (usage limits included)."""
        self.line({**self._base("assistant", at), "isApiErrorMessage": True, "message": {
            "id": str(uuid.uuid4()), "model": "<synthetic>", "role": "assistant", "type": "message",
            "content": [{"type": "text", "text": text}], "stop_reason": "stop_sequence", "stop_sequence": "",
            "usage": {"input_tokens": 0, "output_tokens": 0}}})

    def end_turn(self, at: datetime | None = None) -> None:
        self.line({**self._base("system", at), "subtype": "turn_duration", "durationMs": 59902, "messageCount": 6})

    def stop_hook_summary(self, at: datetime | None = None) -> None:
        self.line({**self._base("system", at), "subtype": "stop_hook_summary", "hookCount": 1, "hookInfos": [
            {"command": "orch hook claude"}], "hookErrors": [], "preventedContinuation": False, "stopReason": "",
            "hasOutput": False, "level": "suggestion"})

    def retry(self, attempt: int, max_retries: int = 10, in_ms: int = 4000, at: datetime | None = None) -> None:
        """A failed API request that Claude Code retries: a system api_error line."""
        self.line({**self._base("system", at), "subtype": "api_error", "level": "error", "cause": {
            "code": "overloaded_error"}, "retryInMs": in_ms, "retryAttempt": attempt, "maxRetries": max_retries})

    def local_command(self, name: str, stdout: str = "", args: str = "", system: bool = False,
                      at: datetime | None = None) -> None:
        """A slash command Claude Code answers itself: the caveat, the command and its output as user lines (before
        2.1) or as system local_command lines (2.1.x, `system=True`)."""
        command = (f"<command-name>/{name}</command-name>\n            <command-message>{name}</command-message>\n"
                   f"            <command-args>{args}</command-args>")
        output = f"<local-command-stdout>{stdout}</local-command-stdout>"
        if system:
            for content in (command, output):
                self.line({**self._base("system", at), "subtype": "local_command", "content": content,
                           "level": "info"})
            return
        self.line({**self._base("user", at), "isMeta": True, "message": {"role": "user", "content": (
            "<local-command-caveat>Caveat: The messages below were generated by the user while running local "
            "commands. DO NOT respond to these messages or otherwise consider them in your response unless the user "
            "explicitly asks you to.</local-command-caveat>")}})
        for content in (command, output):
            self.line({**self._base("user", at), "message": {"role": "user", "content": content}})

    def interrupt(self, at: datetime | None = None) -> None:
        self.line({**self._base("user", at), "message": {"role": "user", "content": [
            {"type": "text", "text": "[Request interrupted by user]"}]}})


def later(minutes: float) -> str:
    """An ISO-8601 instant at least `minutes` from now, for `orch tick --now` (rounded up to the second: cut down,
    it could fall just short of what the test means when the commands before it ran within the same second)."""
    at = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return (at.replace(microsecond=0) + timedelta(seconds=1 if at.microsecond else 0)).isoformat(timespec="seconds")


# --- reading a written log back through orch's pure readers ---------------------------------------------------------

def parse(mod, path: Path, **kw) -> dict:
    """The reader state of a whole file (`mod`: orchestrator.probes.sessions.codex or .claude)."""
    from orchestrator.probes.sessions.reader import Cursor, read_appended

    st = mod.new_state(**kw)
    read_appended(str(path), Cursor(), lambda obj: mod.feed(st, obj), lambda: None)
    return st


def derived_state(mod, log, now: datetime, wait: timedelta, hooks_seen: bool = False, **kw) -> tuple[str, str]:
    """(state, text) the classifier derives from a written log at `now`."""
    from orchestrator.classify.agent import derive

    view = derive(parse(mod, log.path, **kw), path=str(log.path), size=1, mtime=None, now=now, wait_after=wait,
                  hooks_seen=hooks_seen)
    return view.state, view.text

