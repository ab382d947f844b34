"""The line kinds each agent writes, per version, and what each means; the tools they call and what kind each is.

A reader looks a line's kind up here and acts on its meaning; a new agent version is mostly a new row. A kind
not in a table is still activity, and is counted (`unknown_kinds`) so that `orch doctor` can name it.
"""

from __future__ import annotations

from typing import NamedTuple

# What a line means for the agent's state.
ACTIVITY = "activity"  # the agent is there; the turn is unchanged
META = "meta"  # who and where: session id, cwd, version, sub-agent parent
CONTEXT = "context"  # per-turn settings: approval policy, permission mode, cwd
TURN_START = "turn-start"
TURN_END = "turn-end"
TURN_ABORT = "turn-abort"
PROMPT = "prompt"  # a person (or the harness for them) asked something: a turn opens
ANSWER = "answer"  # the model said something
TOOL_CALL = "tool-call"
TOOL_RESULT = "tool-result"
TOKENS = "tokens"
ERROR = "error"  # a failure that ends the turn (unless the agent says it does not)
RETRY = "retry"  # a failed request that the agent retries
COMPACTION = "compaction"
SUB_AGENT = "sub-agent"  # a sub-agent started, was waited for, finished
LOCAL_COMMAND = "local-command"  # a slash command answered locally: nothing went to the model
USER_LINE = "user-line"  # Claude's `user` line: a prompt, a tool result, an interrupt... by its content


class Row(NamedTuple):
    kind: str  # "type" or "type:payload type" (Codex), "type" or "system:subtype" (Claude)
    meaning: str
    versions: str  # where it was read
    note: str = ""


CODEX_ROWS: tuple[Row, ...] = (
    Row("session_meta", META, "all with type/payload (0.3x+)", "first line; a forked sub-agent repeats its parent's"),
    Row("turn_context", CONTEXT, "0.3x+", "approval_policy, cwd; turn_id since 0.10x"),
    Row("event_msg:task_started", TURN_START, "0.10x+"),
    Row("event_msg:turn_started", TURN_START, "alias"),
    Row("event_msg:task_complete", TURN_END, "0.10x+", "an `error` field (0.14x+) or an error before it: failed"),
    Row("event_msg:turn_complete", TURN_END, "alias"),
    Row("event_msg:turn_aborted", TURN_ABORT, "0.3x+", "reason: interrupted, replaced, review_ended"),
    Row("event_msg:thread_rolled_back", TURN_END, "0.9x+"),
    Row("event_msg:user_message", PROMPT, "0.3x+"),
    Row("event_msg:agent_message", ANSWER, "0.3x+", "phase final_answer since 0.10x"),
    Row("event_msg:item_completed", ACTIVITY, "0.149+", "by item type, below"),
    Row("item_completed:UserMessage", PROMPT, "0.149+", "in place of user_message"),
    Row("item_completed:AgentMessage", ANSWER, "0.149+", "in place of agent_message"),
    Row("item_completed:SubAgentActivity", SUB_AGENT, "0.152+"),
    Row("item_completed:CollabAgentToolCall", SUB_AGENT, "0.15x"),
    Row("item_completed:WorkSwarmActivity", SUB_AGENT, "0.16x"),
    Row("item_completed:FunctionCallOutput", TOOL_RESULT, "0.16x"),
    Row("item_completed:ContextCompaction", COMPACTION, "0.149+"),
    *(Row(f"item_completed:{t}", ACTIVITY, "0.149+") for t in (
        "CommandExecution", "FileChange", "Plan", "Reasoning", "WebSearch", "McpToolCall", "ImageGeneration",
        "Extension", "DynamicToolCall", "HookPrompt", "Error", "Sleep")),
    Row("event_msg:item_started", SUB_AGENT, "0.15x", "persisted only for sub-agent items (CollabAgentToolCall...)"),
    Row("inter_agent_communication", SUB_AGENT, "0.16x", "messages between a parent and its sub-agents"),
    Row("event_msg:token_count", TOKENS, "0.3x+", "rate_limits flat (0.3x-0.4x) or primary/secondary (0.45+)"),
    Row("event_msg:error", ERROR, "0.10x+", "codex_error_info since 0.12x; some codes do not end the turn"),
    Row("event_msg:stream_error", RETRY, "some builds", "a reconnect: the turn goes on"),
    Row("event_msg:context_compacted", COMPACTION, "0.5x+"),
    Row("compacted", COMPACTION, "0.3x+"),
    Row("response_item:message", ANSWER, "0.3x+", "assistant role only; user/developer lines are activity"),
    Row("response_item:function_call", TOOL_CALL, "0.3x+", "shell, exec_command, apply_patch, MCP, multi-agent"),
    Row("response_item:custom_tool_call", TOOL_CALL, "0.5x+", "apply_patch, exec (code mode)"),
    Row("response_item:local_shell_call", TOOL_CALL, "0.3x+", "pending only while status in_progress"),
    Row("response_item:function_call_output", TOOL_RESULT, "0.3x+"),
    Row("response_item:custom_tool_call_output", TOOL_RESULT, "0.5x+"),
    Row("response_item:local_shell_call_output", TOOL_RESULT, "0.3x+"),
    Row("event_msg:collab_*", SUB_AGENT, "0.9x+", "spawn, interaction, waiting, close, resume begin/end"),
    Row("event_msg:sub_agent_activity", SUB_AGENT, "0.15x"),
    # activity only: the agent is there, nothing to change
    *(Row(k, ACTIVITY, v) for k, v in (
        ("response_item:reasoning", "0.3x+"), ("response_item:web_search_call", "0.5x+"),
        ("response_item:ghost_snapshot", "0.5x+"), ("response_item:image_generation_call", "0.10x+"),
        ("response_item:tool_search_call", "0.14x+"), ("response_item:tool_search_call_output", "0.14x+"),
        ("response_item:tool_search_output", "0.146+"),
        ("response_item:compaction", "0.12x+"), ("response_item:context_compaction", "0.12x+"),
        ("response_item:agent_message", "0.15x (a sub-agent's answer delivered to its parent)"),
        ("event_msg:agent_reasoning", "0.3x+"), ("event_msg:agent_reasoning_raw_content", "0.3x+"),
        ("event_msg:agent_reasoning_section_break", "0.4x+"), ("event_msg:patch_apply_end", "0.3x+"),
        ("event_msg:exec_command_end", "extended persistence"), ("event_msg:mcp_tool_call_end", "0.3x+"),
        ("event_msg:web_search_end", "0.5x+"), ("event_msg:image_generation_end", "0.10x+"),
        ("event_msg:view_image_tool_call", "extended persistence"), ("event_msg:entered_review_mode", "0.4x+"),
        ("event_msg:exited_review_mode", "0.4x+"), ("event_msg:thread_goal_updated", "0.14x+"),
        ("event_msg:thread_settings_applied", "0.15x"), ("event_msg:thread_name_updated", "0.12x+"),
        ("event_msg:undo_completed", "0.5x"), ("event_msg:turn_diff", "some builds"),
        ("event_msg:plan_update", "some builds"), ("event_msg:warning", "some builds"),
        ("event_msg:guardian_assessment", "extended persistence"),
        ("event_msg:dynamic_tool_call_request", "extended persistence"),
        ("event_msg:dynamic_tool_call_response", "extended persistence"),
        ("world_state", "0.15x (with `ordinal` on every line)"), ("token_usage_record", "0.15x"),
        # before 0.3x: bare response items, no type/payload wrapper and no cwd (never matched to a task)
        ("?", "before 0.3x"), ("message", "before 0.3x"), ("reasoning", "before 0.3x"),
        ("function_call", "before 0.3x"), ("function_call_output", "before 0.3x"),
        ("local_shell_call", "before 0.3x"))),
)

CLAUDE_ROWS: tuple[Row, ...] = (
    Row("user", USER_LINE, "all", "a prompt, a tool result, an interrupt, a local command, a notification (`origin.kind` "
        "task-notification in 2.1.2xx), a Stop hook's feedback (the turn goes on), meta"),
    Row("assistant", ANSWER, "all", "text, tool_use blocks; `isApiErrorMessage` or model <synthetic>: an API error"),
    Row("system:turn_duration", TURN_END, "2.1.x"),
    Row("system:stop_hook_summary", TURN_END, "2.0.x+"),
    Row("system:api_error", RETRY, "2.0.x+", "retryAttempt of maxRetries; the final failure is an assistant line"),
    Row("system:compact_boundary", COMPACTION, "1.0.x+"),
    Row("system:microcompact_boundary", COMPACTION, "2.0.x+"),
    Row("system:local_command", LOCAL_COMMAND, "2.1.x", "/model, /exit... written as system lines"),
    Row("permission-mode", CONTEXT, "2.1.x"),
    *(Row(k, ACTIVITY, v) for k, v in (
        ("system:informational", "2.0.x+"), ("system:away_summary", "2.1.x"), ("system:bridge_status", "2.1.x"),
        ("system:thinking", "2.1.x"), ("system:memory_saved", "2.1.x"), ("system:permission_retry", "2.1.x"),
        ("system:scheduled_task_fire", "2.1.x"), ("system:api_metrics", "2.1.x"), ("system:agents_killed", "2.1.x"),
        ("system:file_snapshot", "2.1.x"), ("system:tool_use_summary", "2.1.x"), ("system:hook_result", "2.1.x"),
        ("system:status", "2.1.x"), ("tombstone", "2.1.x"),
        ("queue-operation", "2.0.x+"), ("progress", "2.1.x"), ("file-history-snapshot", "1.0.x+"),
        ("last-prompt", "2.1.x"), ("summary", "1.0.x+"), ("custom-title", "2.0.x+"), ("agent-setting", "2.1.x"),
        ("agent-name", "2.1.x"), ("attachment", "2.1.x"), ("pr-link", "2.1.x"), ("ai-title", "2.1.x"),
        ("tag", "2.1.x"))),
)

# What a pending tool call is, for how long it may run before the silence means a prompt.
EDIT = "edit"  # local file edits: they finish at once
LOCAL = "local"  # reads and searches on this machine: they finish at once
PLAN = "plan"  # the agent's own to-do list: never asks
SHELL = "shell"
POLL = "poll"  # reading a command already running: never asks
WEB = "web"
MCP = "mcp"
SUB_AGENT_TOOL = "sub-agent"  # runs or waits for a sub-agent: never asks
INPUT = "input"  # asks the person a question
OTHER = "other"

TOOLS: dict[str, str] = {
    # Claude Code
    "Write": EDIT, "Edit": EDIT, "MultiEdit": EDIT, "NotebookEdit": EDIT,
    "Read": LOCAL, "Glob": LOCAL, "Grep": LOCAL, "LS": LOCAL, "NotebookRead": LOCAL, "KillBash": LOCAL,
    "KillShell": LOCAL, "Skill": LOCAL, "SlashCommand": LOCAL,
    "TodoWrite": PLAN, "EnterPlanMode": PLAN,
    "Bash": SHELL, "BashOutput": POLL, "TaskOutput": POLL,
    "WebFetch": WEB, "WebSearch": WEB,
    "Task": SUB_AGENT_TOOL, "Agent": SUB_AGENT_TOOL,
    "AskUserQuestion": INPUT, "ExitPlanMode": INPUT,
    # Codex
    "apply_patch": EDIT, "read_file": LOCAL, "list_dir": LOCAL, "grep_files": LOCAL, "view_image": LOCAL,
    "update_plan": PLAN,
    "shell": SHELL, "exec_command": SHELL, "local_shell": SHELL, "container.exec": SHELL, "exec": SHELL,
    "write_stdin": POLL,
    "web_search": WEB,
    "spawn_agent": SUB_AGENT_TOOL, "send_input": SUB_AGENT_TOOL, "wait": SUB_AGENT_TOOL,
    "wait_agent": SUB_AGENT_TOOL, "close_agent": SUB_AGENT_TOOL, "resume_agent": SUB_AGENT_TOOL,
    "send_message": SUB_AGENT_TOOL, "followup_task": SUB_AGENT_TOOL, "interrupt_agent": SUB_AGENT_TOOL,
    "list_agents": SUB_AGENT_TOOL,
    "request_user_input": INPUT, "ask_user_question": INPUT,
}


def tool_kind(name: str | None) -> str:
    """What a tool is, from its name (both agents); MCP tools are `mcp__<server>__<tool>`."""
    if not name:
        return OTHER
    if name.startswith("mcp__"):
        return MCP
    return TOOLS.get(name, OTHER)


def _index(rows: tuple[Row, ...]) -> dict[str, str]:
    return {r.kind: r.meaning for r in rows}


CODEX = _index(CODEX_ROWS)
CLAUDE = _index(CLAUDE_ROWS)
UNKNOWN_MAX = 20  # distinct unknown kinds kept per session file


def codex_meaning(kind: str, ptype: str) -> str | None:
    """The meaning of a Codex line from its type and payload type; None for a kind no version was read with."""
    if kind in ("event_msg", "response_item"):
        if ptype.startswith("collab_"):
            return SUB_AGENT
        return CODEX.get(f"{kind}:{ptype}")
    return CODEX.get(kind)


def claude_meaning(kind: str, subtype: str) -> str | None:
    """The meaning of a Claude Code line from its type (and a system line's subtype); None when unknown."""
    if kind == "system":
        return CLAUDE.get(f"system:{subtype}")
    return CLAUDE.get(kind)


def note_unknown(st: dict, kind: str) -> None:
    """Count a line kind no table row knows: it stays activity, and `orch doctor` names it with the version."""
    seen = st.get("unknown_kinds")
    if not isinstance(seen, dict):
        seen = st["unknown_kinds"] = {}
    key = kind[:80]
    if key in seen or len(seen) < UNKNOWN_MAX:
        seen[key] = seen.get(key, 0) + 1
