"""Shapes read in real public session files that the other tests did not cover: the last lines of each file, written
again here with our own content (only the structure and the fields that matter are kept), and the state a careful
reader gives the agent at that point. Each test names its source (repository: path)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sessionlogs import ClaudeTranscript, CodexRollout, derived_state, parse, ts

from orchestrator.probes.sessions import claude, codex

NOW = datetime.now(timezone.utc).replace(microsecond=0)
WAIT = timedelta(seconds=30)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def state_of(mod, log, now=NOW, **kw) -> tuple[str, str]:
    return derived_state(mod, log, now, WAIT, **kw)


def claude_msg(log: ClaudeTranscript, blocks: list[dict], at: datetime, msg_id: str, out: int,
               stop_reason: str | None = None, **extra) -> None:
    """An assistant line as 2.1.x writes it (one content block per line, usage with cache fields)."""
    log.line({**log._base("assistant", at), "requestId": "req_x", **extra, "message": {
        "model": "claude-opus-4-5-20251101", "id": msg_id, "type": "message", "role": "assistant", "content": blocks,
        "stop_reason": stop_reason, "stop_sequence": None, "usage": {
            "input_tokens": 1, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 0},
            "output_tokens": out, "service_tier": "standard"}}})


def claude_result(log: ClaudeTranscript, tool_id: str, text: str, at: datetime, **extra) -> None:
    log.line({**log._base("user", at), "message": {"role": "user", "content": [
        {"tool_use_id": tool_id, "type": "tool_result", "content": text, "is_error": False}]}, **extra})


# Claude Code 2.1.14, `claude -p` run by a test harness (no turn_duration, no stop_hook_summary): a Task subagent's
# result carries `toolUseResult` with agentId/totalTokens; the run ends on a text whose stop_reason is null.
# Source: DRMacIver/claude-reliability: snapshot-tests/tests/python-to-rust-port/transcript.jsonl
def test_claude_2_1_14_print_run_ends_on_a_streamed_text(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.14")
    log.line({"type": "queue-operation", "operation": "dequeue", "timestamp": ts(ago(600)), "sessionId": log.id})
    log.prompt("port the project", at=ago(600))
    claude_msg(log, [{"type": "tool_use", "id": "toolu_task", "name": "Task", "input": {
        "description": "explore", "prompt": "look around", "subagent_type": "Explore"}}], ago(595), "msg_1", 1)
    claude_result(log, "toolu_task", "overview", ago(560), toolUseResult={
        "status": "completed", "agentId": "ab81802", "totalDurationMs": 27974, "totalTokens": 17294,
        "totalToolUseCount": 18, "content": [{"type": "text", "text": "overview"}]})
    claude_msg(log, [{"type": "text", "text": "Let me start."}], ago(555), "msg_2", 1)
    claude_msg(log, [{"type": "tool_use", "id": "toolu_git", "name": "Bash", "input": {"command": "git status"}}],
               ago(554), "msg_2", 24)
    claude_result(log, "toolu_git", "clean", ago(553), toolUseResult={
        "stdout": "clean", "stderr": "", "interrupted": False, "isImage": False})
    claude_msg(log, [{"type": "text", "text": "Ported and committed."}], ago(550), "msg_3", 1)
    st = parse(claude, log.path)
    assert st["tokens"]["total_tokens"] == 3 * 1101 + 1 + 24 + 1  # msg_2's two lines count once, with its last usage
    assert not st.get("unknown_kinds")
    assert state_of(claude, log)[0] == "turn-ended"  # answered, nothing since (inferred: no marker in -p runs)
    assert state_of(claude, log, now=ago(550) + timedelta(seconds=40))[0] == "running"  # maybe streaming a tool call


# Claude Code 2.1.14 with a Stop hook that blocks once: the hook's reason comes back as an isMeta user line
# "Stop hook feedback:\n[...]: ...", and the model answers again in the same turn.
# Source: DRMacIver/claude-reliability: snapshot-tests/tests/stop-hook-reflection-first-stop/transcript.jsonl
def test_claude_stop_hook_feedback_in_a_print_run(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.14")
    log.prompt("change the file, commit, then stop", at=ago(300))
    claude_msg(log, [{"type": "text", "text": "Done, committed."}], ago(290), "msg_1", 1)
    log.line({**log._base("user", ago(289)), "isMeta": True, "message": {"role": "user", "content": (
        "Stop hook feedback:\n[${CLAUDE_PLUGIN_ROOT}/scripts/hooks/stop.sh]: # Completion check\n\nSummarise, "
        "then stop again.\n")}})
    st = parse(claude, log.path)
    assert st["prompts"] == 1 and st["turn"] == "running"  # not a prompt; the turn goes on
    assert state_of(claude, log, now=ago(289) + timedelta(seconds=10))[0] == "running"
    claude_msg(log, [{"type": "text", "text": "Summary: the file was changed and committed."}], ago(285), "msg_2", 2)
    assert state_of(claude, log)[0] == "turn-ended"
    assert parse(claude, log.path)["prompts"] == 1


# Claude Code 2.1.118 / 2.1.207 interactive: stop_hook_summary, then the blocking hook's `hook_blocking_error`
# attachment and the isMeta "Stop hook feedback:" line; the model works on (a Write here) until the real end.
# Source: the transcript excerpt (2.1.118) quoted in a plugin's headless Stop-hook probe notes (find_string
# "\"content\":\"Stop hook feedback:" -> id 58871762349), and a test library whose line shapes "mirror the live
# producer verbatim (sampled 2026-07-20)", 2.1.207 (id 62538361090).
def test_claude_stop_hook_that_blocks_keeps_the_turn_open(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.118")
    log.prompt("add the route", at=ago(300))
    log.say("Added.", at=ago(200))
    log.stop_hook_summary(at=ago(199))
    log.line({**log._base("attachment", ago(199)), "attachment": {
        "type": "hook_blocking_error", "hookName": "Stop", "hookEvent": "Stop", "blockingError": {
            "blockingError": "tests are failing", "command": "python3 check.py"}}})
    log.line({**log._base("user", ago(199)), "isMeta": True, "message": {
        "role": "user", "content": "Stop hook feedback:\ntests are failing"}})
    before = parse(claude, log.path)
    assert before["turn"] == "running" and before["prompts"] == 1
    # the model thinks, then streams a large Write: minutes may pass before its next line
    assert state_of(claude, log, now=ago(199) + timedelta(seconds=60)) == (
        "running", "claude: turn open, last line 1m ago")
    tid = log.tool_use("Write", {"file_path": "app.py", "content": "x"}, at=ago(100))
    log.tool_result(tid, "written", at=ago(99))
    log.say("Fixed; tests pass.", at=ago(90))
    log.stop_hook_summary(at=ago(89))
    log.end_turn(at=ago(89))
    assert state_of(claude, log) == ("turn-ended", "claude: turn ended (turn_duration)")

    sub = ClaudeTranscript(tmp_path, tmp_path / "w2", version="2.1.207")  # the text-block form, SubagentStop
    sub.prompt("go", at=ago(100))
    sub.say("Done.", at=ago(80))
    sub.end_turn(at=ago(79))
    sub.line({**sub._base("user", ago(78)), "isMeta": True, "message": {"role": "user", "content": [
        {"type": "text", "text": "SubagentStop hook feedback: keep going"}]}})
    assert parse(claude, sub.path)["turn"] == "running"


# Claude Code 2.1.114: a usage limit written as the synthetic error line with `error: "rate_limit"` and
# `apiErrorStatus: 429` ("You're out of extra usage · resets 9pm (...)").
# Source: a rate-limit detector's test of a "REAL_RATE_LIMIT_LINE" (find_string "\"apiErrorStatus\":" -> id
# 51920345782).
def test_claude_out_of_extra_usage_is_a_usage_limit(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.114")
    log.prompt(at=ago(200))
    log.line({**log._base("assistant", ago(100)), "error": "rate_limit", "isApiErrorMessage": True,
              "apiErrorStatus": 429, "entrypoint": "cli", "message": {
                  "id": "e5bbbf08-0000-4000-8000-000000000000", "model": "<synthetic>", "role": "assistant",
                  "stop_reason": "stop_sequence", "type": "message", "content": [
                      {"type": "text", "text": "You're out of extra usage \u00b7 resets 9pm (Europe/Madrid)"}]}})
    assert state_of(claude, log) == ("usage-limit", "claude: usage limit reached")


# Claude Code 2.1.260: the rate-limit line also carries `quotaLimits` ({status: "rejected", rateLimitType:
# "five_hour", resetsAt...}); the words vary, the structured field says it: a usage limit whatever the text, even with
# the end-of-turn markers after it.
# Source: a limit-recovery audit quoting "a real record (error=='rate_limit', cw 2.1.260)" (find_string
# "\"apiErrorStatus\":" -> id 68715450037).
def test_claude_quota_rejection_is_a_usage_limit_whatever_the_words(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.260")
    log.prompt(at=ago(200))
    log.line({**log._base("assistant", ago(100)), "error": "rate_limit", "isApiErrorMessage": True,
              "apiErrorStatus": 429, "quotaLimits": {
                  "status": "rejected", "resetsAt": 1789025400, "unifiedRateLimitFallbackAvailable": False,
                  "rateLimitType": "five_hour", "overageStatus": "rejected", "isUsingOverage": False},
              "message": {"id": "0f0d", "model": "<synthetic>", "role": "assistant", "stop_reason": "stop_sequence",
                          "type": "message", "content": [{"type": "text", "text": "Limit resets at 3pm"}]}})
    log.stop_hook_summary(at=ago(100))
    log.end_turn(at=ago(100))
    assert state_of(claude, log)[0] == "usage-limit"

    server = ClaudeTranscript(tmp_path, tmp_path / "w2", version="2.1.260")  # server throttling: not a usage limit
    server.prompt(at=ago(200))
    server.api_error_message("API Error: Server is temporarily limiting requests (not your usage limit)",
                             at=ago(100))
    assert state_of(claude, server)[0] == "errored"


# Claude Code 2.1.2xx: a background task's notice is a user line tagged `origin: {kind: "task-notification"}`, either
# the `<task-notification>` text or an isMeta "[SYSTEM NOTIFICATION - NOT USER INPUT]" text; the model answers it.
# Source: an SDK probe's captured line (2.1.258, `promptSource: "sdk"`, find_string
# "\"origin\":{\"kind\":\"task-notification\"}" -> id 68348713885) and a dispatcher's test of "both shapes as
# measured in [its] transcripts" (same search, id 70536625721).
def test_claude_origin_task_notification_reopens_the_turn(tmp_path):
    for meta, words in ((False, "<task-notification>\n<task-id>b1</task-id>\n<status>completed</status>\n"
                                "</task-notification>"),
                        (True, "[SYSTEM NOTIFICATION - NOT USER INPUT]\nA background task finished.")):
        log = ClaudeTranscript(tmp_path, tmp_path / f"w{meta}", version="2.1.258")
        log.prompt(at=ago(300))
        log.say("Started the build in the background.", at=ago(290))
        log.end_turn(at=ago(290))
        log.line({**log._base("user", ago(5)), "isMeta": meta, "origin": {"kind": "task-notification"},
                  "promptSource": "sdk", "queueSkipAttachments": True, "entrypoint": "sdk-cli",
                  "message": {"role": "user", "content": words}})
        st = parse(claude, log.path)
        assert (st["turn"], st["prompts"]) == ("running", 1)
        assert state_of(claude, log)[0] == "running"


# Claude Code 2.1.88-2.1.112 drift: a prompt with `origin`/`promptId`, a `permission-mode` line, an `attachment`
# (deferred_tools_delta), and a stop_hook_summary last (with `toolUseID`, `hasOutput`): the turn ended.
# Source: jazzyalex/agent-sessions: Resources/Fixtures/stage0/agents/claude/schema_drift.jsonl
def test_claude_2_1_1xx_prompt_origin_and_attachments(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.112")
    log.line({**log._base("user", ago(100)), "origin": {"kind": "human"}, "promptId": "p-1", "promptSource": "typed",
              "isMeta": False, "entrypoint": "cli", "permissionMode": "default",
              "message": {"role": "user", "content": "list files"}})
    log.line({"type": "permission-mode", "permissionMode": "bypassPermissions", "sessionId": log.id})
    log.line({**log._base("attachment", ago(99)), "attachment": {
        "type": "deferred_tools_delta", "addedNames": ["Bash"], "addedLines": ["Bash"], "removedNames": []}})
    log.say("Two files.", at=ago(90))
    log.line({**log._base("system", ago(89)), "subtype": "stop_hook_summary", "hookCount": 1, "hookInfos": [
        {"command": "node review.mjs", "durationMs": 112}], "hookErrors": [], "preventedContinuation": False,
        "stopReason": "", "hasOutput": False, "level": "suggestion", "toolUseID": "hook-1"})
    st = parse(claude, log.path)
    assert (st["prompts"], st["permission_mode"], st.get("unknown_kinds")) == (1, "bypassPermissions", None)
    assert state_of(claude, log)[0] == "turn-ended"


# Codex 0.146 (schema fixture trimmed from real rollouts): `tool_search_output` (not `tool_search_call_output`),
# assistant `phase: "output"`, `memory_citation`, rate_limits with `limit_id`/`spend_control_reached`, and a
# `compacted` window line (window_id/window_number) after task_complete: the turn ended; 16,422 tokens.
# Source: jazzyalex/agent-sessions: Resources/Fixtures/stage0/agents/codex/small.jsonl
def test_codex_0_146_tool_search_output_and_window_compaction(tmp_path):
    log = CodexRollout(tmp_path, tmp_path / "w", at=ago(300), version="0.146.0", approval="never",
                       meta={"thread_source": "cli", "history_mode": "default", "memory_mode": "off",
                             "context_window": {"window_id": "w-1"}})
    log.start_turn("list the files", at=ago(300))
    log.item("tool_search_call", ago(290), id="ts-1", call_id="c3", status="completed", execution="local",
             arguments={"query": "x"})
    log.item("tool_search_output", ago(290), id="tso-1", call_id="c3", status="completed", execution="local",
             tools=[])
    log.event("token_count", ago(280), info={
        "total_token_usage": {"input_tokens": 16341, "cached_input_tokens": 3584, "cache_write_input_tokens": 0,
                              "output_tokens": 81, "reasoning_output_tokens": 63, "total_tokens": 16422},
        "last_token_usage": {"input_tokens": 16341, "output_tokens": 81, "total_tokens": 16422},
        "model_context_window": 258400}, rate_limits={
        "limit_id": "codex", "limit_name": None, "plan_type": "pro", "primary": {
            "used_percent": 1.0, "window_minutes": 10080, "resets_at": 1785958530}, "secondary": None,
        "individual_limit": None, "credits": {"has_credits": False, "unlimited": False, "balance": "0"},
        "rate_limit_reached_type": None, "spend_control_reached": False})
    log.item("message", ago(279), id="msg-2", role="assistant", phase="output",
             content=[{"type": "output_text", "text": "Two files."}])
    log.event("agent_message", ago(279), message="Two files.", phase="output",
              memory_citation={"rolloutIds": ["r"], "entries": []})
    log.event("task_complete", ago(279), turn_id=log.turn, last_agent_message="Two files.", duration_ms=1200,
              time_to_first_token_ms=300)
    log.line({"timestamp": ts(ago(278)), "type": "compacted", "payload": {
        "message": "", "window_id": "w-2", "window_number": 2, "previous_window_id": "w-1",
        "first_window_id": "w-1", "replacement_history": []}})
    st = parse(codex, log.path)
    assert not st.get("unknown_kinds")
    assert st["tokens"]["total_tokens"] == 16422 and st["usage_limit"] is False
    assert state_of(codex, log) == ("turn-ended", "codex: turn complete (task_complete)")


# Codex guardian sub-agent: `source: {"subagent": {"other": "guardian", "parent_thread_id": ...}}`, the parent named
# inside the sub-agent object rather than under thread_spawn.
# Source: EDM115/codex-sessions-viewer: tests/fixtures/catalog/guardian.jsonl
def test_codex_guardian_sub_agent_names_its_parent(tmp_path):
    log = CodexRollout(tmp_path, tmp_path / "w", at=ago(100), source={
        "subagent": {"other": "guardian", "parent_thread_id": "019f0000-0000-7000-8000-0000000000aa"}})
    st = parse(codex, log.path)
    assert (st["subagent"], st["parent"]) == (True, "019f0000-0000-7000-8000-0000000000aa")


# Codex: `turn_aborted` with reasons other than interrupted (`replaced`, `review_ended`, newer `budget_limited`):
# the turn stopped without the user pressing Esc; not an interruption, not running.
# Source: a Codex session reader's tests listing these reasons (find_string "\"reason\":\"review_ended\"" ->
# id 71008615723, "running out of budget is not a user halt", id 60411516251).
def test_codex_turn_aborted_for_a_budget_is_not_an_interruption(tmp_path):
    log = CodexRollout(tmp_path, tmp_path / "w", at=ago(300), version="0.160.0")
    log.start_turn(at=ago(300))
    log.abort("budget_limited", at=ago(200))
    assert state_of(codex, log) == ("turn-ended", "codex: turn aborted (budget_limited)")
    log.start_turn(at=ago(100))
    log.abort(at=ago(90))
    assert state_of(codex, log)[0] == "interrupted"


def test_the_sources_are_named():
    text = Path(__file__).read_text()
    assert text.count("# Source: ") >= 9
