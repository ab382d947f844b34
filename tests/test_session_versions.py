"""What agents write, version by version: failed Codex turns, Claude API errors before the end markers, Codex
multi-agent tools and sub-agent rollouts, Claude local commands, per-tool waits, Codex 0.15x lines, unknown line
kinds, Windows cwd values, Codex 0.4x rate limits and Claude SDK resumes. Lines are written in the real shapes
(tests/sessionlogs.py); most checks run the pure readers, a few the CLI."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sessionlogs import ClaudeTranscript, CodexRollout, derived_state, later, parse, ts

from orchestrator.classify.agent import derive
from orchestrator.classify.evidence import HookView, SessionFacts
from orchestrator.classify.fuse import agent_state
from orchestrator.probes.sessions import claude, codex, kinds
from orchestrator.tick_sessions import Matcher

NOW = datetime.now(timezone.utc).replace(microsecond=0)
WAIT = timedelta(seconds=30)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def state_of(mod, log, now=NOW, hooks_seen=False, **kw):
    return derived_state(mod, log, now, WAIT, hooks_seen, **kw)


def facts(mod, log, **kw) -> SessionFacts:
    st = parse(mod, log.path, **kw)
    return SessionFacts(agent=st["agent"], path=str(log.path), state=st, size=1, subagent=bool(st.get("subagent")))


# 1. Codex: an error, then task_complete with no agent message

def test_codex_error_then_task_complete_is_errored_or_usage_limit(tmp_path):
    def rollout(name):
        log = CodexRollout(tmp_path / name, tmp_path / "w", at=ago(300), version="0.128.0")
        log.start_turn(at=ago(290))
        return log

    overloaded = rollout("503")
    overloaded.error("stream disconnected before completion: unexpected status 503 Service Unavailable",
                     {"response_stream_disconnected": {"http_status_code": 503}}, at=ago(200))
    overloaded.complete(at=ago(200))
    assert state_of(codex, overloaded) == ("errored", "codex: turn failed (response_stream_disconnected)")

    limited = rollout("429")
    limited.error("exceeded retry limit, last status: 429 Too Many Requests, request id: a2c72ffc",
                  {"response_too_many_failed_attempts": {"http_status_code": 429}}, at=ago(200))
    limited.tokens(at=ago(200))  # a token count after it does not clear the limit
    limited.complete(at=ago(200))
    assert state_of(codex, limited)[0] == "usage-limit"

    quota = rollout("quota")  # 0.14x+: the error rides on task_complete itself
    quota.complete(error={"message": "You've hit your usage limit. Try again at 11:28 PM.",
                          "codex_error_info": "usage_limit_exceeded"}, at=ago(200))
    assert state_of(codex, quota)[0] == "usage-limit"

    bare = rollout("bare")  # 0.10x: no codex_error_info, only a message
    bare.error("unexpected status 500 Internal Server Error", at=ago(200))
    bare.complete(at=ago(200))
    assert state_of(codex, bare)[0] == "errored"

    recovered = rollout("recovered")  # a stream error, then the model answered: a clean end
    recovered.error("stream disconnected", {"response_stream_disconnected": {"http_status_code": 502}}, at=ago(250))
    recovered.finish("Done after a reconnect.", at=ago(200))
    assert state_of(codex, recovered)[0] == "turn-ended"

    steer = rollout("steer")  # an error that does not end the turn
    steer.error("cannot steer", "active_turn_not_steerable", at=ago(250))
    steer.finish(at=ago(200))
    assert state_of(codex, steer)[0] == "turn-ended"


def test_codex_failed_turns_read_blocked_and_errored_in_the_report(repo):
    r = repo
    codex_home = Path(r.env["CODEX_HOME"])
    for key, message, info in (("limited", "exceeded retry limit, last status: 429 Too Many Requests",
                                {"response_too_many_failed_attempts": {"http_status_code": 429}}),
                               ("broken", "unexpected status 400 Bad Request: model not supported", "other")):
        wt = r.worktree(key)
        r.dispatch(key, key, wt)
        log = CodexRollout(codex_home, wt)
        log.start_turn()
        log.error(message, info)
        log.complete()
    r.orch("tick", "--now", later(2))
    v = {t["id"]: t for t in r.report_json()["tasks"]}
    assert (v["limited"]["condition"], v["limited"]["reason"]) == ("blocked", "usage-limit")
    assert (v["broken"]["condition"], v["broken"]["reason"]) == ("no-output", "errored-no-changes")
    assert "turn failed (other)" in v["broken"]["evidence"][0]["text"]


# 2. Claude: an API error after the last retry, then the end-of-turn markers or a Stop hook

def test_claude_api_error_wins_over_the_end_markers_and_the_stop_hook(tmp_path):
    marked = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.49")
    marked.prompt(at=ago(120))
    marked.tool_result(marked.tool_use("Read", {"file_path": "a.py"}, at=ago(110)), "...", at=ago(109))
    marked.api_error_message("API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                             "\"message\":\"Overloaded\"}}", at=ago(60))
    marked.stop_hook_summary(at=ago(60))
    marked.end_turn(at=ago(60))
    assert state_of(claude, marked)[0] == "errored"

    hooked = ClaudeTranscript(tmp_path, tmp_path / "w2", version="2.0.76")
    hooked.prompt(at=ago(120))
    hooked.api_error_message("API Error: 500 {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}", at=ago(60))
    assert state_of(claude, hooked)[0] == "errored"  # at once: the line is written after the last retry
    stop = HookView(id=1, agent="claude", event="Stop", at=ago(59), session_id=hooked.id)
    fused = agent_state([facts(claude, hooked)], [stop], NOW, WAIT, timedelta(minutes=15))
    assert fused.state == "errored" and fused.observed
    assert any(e.kind == "hook" for e in fused.evidence)

    answered = ClaudeTranscript(tmp_path, tmp_path / "w3")  # a later answer: the error is over
    answered.prompt(at=ago(120))
    answered.api_error_message("API Error: 529 Overloaded", at=ago(100))
    answered.prompt("try again", at=ago(90))
    answered.say("Done.", at=ago(80))
    answered.end_turn(at=ago(80))
    assert state_of(claude, answered)[0] == "turn-ended"


def test_claude_retries_are_running_until_no_retry_comes(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w")
    log.prompt(at=ago(100))
    log.retry(3, 10, in_ms=20000, at=ago(40))
    assert state_of(claude, log) == ("running", "claude: API error, retrying (attempt 3 of 10)")
    assert state_of(claude, log, now=NOW + timedelta(minutes=5))[0] == "errored"
    log.say("Here it is.", at=ago(10))
    assert state_of(claude, log)[0] == "running"


# 3. Codex multi-agent tools and sub-agent rollouts

def test_codex_pending_wait_is_the_parent_waiting_for_its_sub_agent(tmp_path):
    log = CodexRollout(tmp_path, tmp_path / "w", at=ago(900), version="0.150.0")
    log.start_turn(at=ago(900))
    spawn = log.tool("spawn_agent", {"agent_type": "worker", "message": "Inspect the parser"}, at=ago(800))
    log.item("function_call_output", ago(799), call_id=spawn, output=json.dumps({"agent_id": "019f", "nickname": "P"}))
    log.tool("wait", {"ids": ["019f"], "timeout_ms": 300000}, at=ago(600))
    state, text = state_of(codex, log)
    assert state == "running" and "waiting for its sub-agent" in text
    log.tool("wait_agent", {"targets": ["019f"], "timeout_ms": 60000}, at=ago(300))  # multi-agent v2 names
    assert state_of(codex, log)[0] == "running"

    child = log.sub_agent(tmp_path, at=ago(500))
    st = parse(codex, child.path)
    assert (st["id"], st["subagent"], st["parent"]) == (child.id, True, log.id)  # not the copied parent's meta


def test_codex_sub_agent_rollouts_are_activity_of_the_parents_task(repo):
    r = repo
    codex_home = Path(r.env["CODEX_HOME"])
    wt = r.worktree("multi")
    r.dispatch("multi", "multi", wt)
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    parent = CodexRollout(codex_home, wt, at=start, version="0.150.0")
    parent.start_turn(at=start)
    parent.tool("wait", {"ids": ["x"], "timeout_ms": 300000}, at=start + timedelta(minutes=1))
    # the sub-agent works in the repository's root (another cwd): its parent's thread id ties it to the task
    child = parent.sub_agent(codex_home, cwd=r.root, at=start + timedelta(minutes=1))
    child.start_turn("inspect the parser")
    child.call()
    # a sub-agent whose parent's rollout is not here: its cwd ties it to its worktree, and it stands in
    wt2 = r.worktree("orphan")
    r.dispatch("orphan", "orphan", wt2)
    other = CodexRollout(codex_home / "elsewhere", wt2)  # the parent lives in another CODEX_HOME
    other.turn = "t"
    orphan = other.sub_agent(codex_home, at=datetime.now(timezone.utc))
    orphan.start_turn("audit")
    orphan.finish("Audit done.")

    r.orch("tick")
    v = {t["id"]: t for t in r.report_json()["tasks"]}
    assert (v["multi"]["condition"], v["multi"]["reason"]) == ("working", "agent-running")
    assert (v["orphan"]["condition"], v["orphan"]["reason"]) == ("no-output", "turn-ended-no-changes")
    assert any(e["code"] == "sub-agent" for e in v["orphan"]["evidence"])
    sessions = r.orch_json("sessions", "--all")["sessions"]
    mine = [s for s in sessions if s["task"] == "multi"]
    assert len(mine) == 1 and [x["path"] for x in mine[0]["subagents"]] == [str(child.path)]
    assert not any(s["role"] == "orchestrator" for s in sessions)  # the child in the root is not the orchestrator


# 4. Claude local commands

def test_claude_local_commands_are_not_turns(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.0.76")
    log.prompt(at=ago(300))
    log.stream([{"type": "text", "text": "Done."}], stop_reason="end_turn", at=ago(290))
    log.local_command("model", "Set model to opus", args="opus", at=ago(200))
    log.local_command("cost", "Total cost: $0.42", at=ago(190))
    st = parse(claude, log.path)
    assert st["prompts"] == 1 and st["command"]["name"] == "cost"
    assert state_of(claude, log)[0] == "turn-ended"
    log.local_command("exit", "Goodbye!", at=ago(100))
    assert state_of(claude, log) == ("turn-ended", "claude: session ended (/exit)")
    assert derive(parse(claude, log.path), path="p", size=1, mtime=None, now=NOW, wait_after=WAIT,
                  hooks_seen=False).observed

    busy = ClaudeTranscript(tmp_path, tmp_path / "w2", version="2.1.49")  # 2.1.x: system local_command lines
    busy.prompt(at=ago(20))
    busy.tool_use("Bash", {"command": "make test"}, at=ago(10))
    busy.local_command("mcp", "No MCP servers configured", system=True, at=ago(5))
    st = parse(claude, busy.path)
    assert st["turn"] == "running" and len(st["pending"]) == 1
    busy.local_command("exit", "Bye!", system=True, at=ago(2))
    assert state_of(claude, busy)[0] == "turn-ended"

    review = ClaudeTranscript(tmp_path, tmp_path / "w3")  # a command that prompts the model opens a turn
    review.line({**review._base("user", ago(5)), "message": {"role": "user", "content": (
        "<command-message>review is running…</command-message>\n<command-name>/review</command-name>")}})
    assert parse(claude, review.path)["turn"] == "running"


# 5. Tools that never wait: how long a pending call may take depends on what the tool is

def test_pending_call_waits_depend_on_the_tool(tmp_path):
    def claude_pending(name, age, mode="default"):
        log = ClaudeTranscript(tmp_path, tmp_path / f"c-{name}-{age}-{mode}", mode=mode)
        log.prompt(at=ago(age + 5))
        log.tool_use(name, {"file_path": "a.py", "content": "x"}, at=ago(age))
        return state_of(claude, log)[0]

    assert claude_pending("Write", 16) == "waiting-approval"
    assert claude_pending("Edit", 10) == "running"
    assert claude_pending("Write", 16, mode="bypassPermissions") == "running"
    assert claude_pending("Write", 16, mode="acceptEdits") == "running"
    assert claude_pending("Bash", 16) == "running"
    assert claude_pending("Bash", 40) == "waiting-approval"
    assert claude_pending("WebFetch", 60) == "running"
    assert claude_pending("WebFetch", 100) == "waiting-approval"
    assert claude_pending("mcp__github__create_issue", 45) == "running"
    assert claude_pending("mcp__github__create_issue", 70) == "waiting-approval"
    assert claude_pending("Task", 3600) == "running"
    assert claude_pending("TodoWrite", 3600) == "running"

    def codex_pending(name, age, custom=False, approval="on-request"):
        log = CodexRollout(tmp_path / f"x-{name}-{age}-{approval}", tmp_path / "w", at=ago(age + 10),
                           approval=approval)
        log.start_turn(at=ago(age + 10))
        log.tool(name, {"input": "*** Begin Patch\n*** Update File: a.py\n*** End Patch"} if custom else
                 {"cmd": "cat", "session_id": 3}, at=ago(age), custom=custom)
        return state_of(codex, log)[0]

    assert codex_pending("apply_patch", 16, custom=True) == "waiting-approval"
    assert codex_pending("apply_patch", 16, custom=True, approval="never") == "running"
    assert codex_pending("write_stdin", 600) == "running"  # polls a command already running
    assert codex_pending("exec_command", 16) == "running"
    assert codex_pending("mcp__supabase__execute_sql", 70) == "waiting-approval"
    assert kinds.tool_kind("close_agent") == kinds.tool_kind("spawn_agent") == kinds.SUB_AGENT_TOOL


# Codex 0.15x lines, unknown line kinds and `orch doctor`

def test_codex_015x_ordinal_world_state_and_item_completed(tmp_path):
    log = CodexRollout(tmp_path, tmp_path / "w", at=ago(300), version="0.154.0", ordinal=True)
    log.event("task_started", ago(300), turn_id="t1", model_context_window=258400)
    log.world_state(at=ago(299))
    log.completed_item({"type": "UserMessage", "id": "u1", "content": [{"type": "text", "text": "go"}]}, at=ago(299))
    log.completed_item({"type": "CommandExecution", "id": "e1", "command": ["/bin/bash", "-lc", "ls"],
                        "status": "completed", "exit_code": 0}, at=ago(250))
    log.line({"timestamp": ts(ago(249)), "type": "token_usage_record", "payload": {
        "response_id": "resp_1", "usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}}})
    log.completed_item({"type": "AgentMessage", "id": "a1", "phase": "final_answer",
                        "content": [{"type": "Text", "text": "Done."}]}, at=ago(200))
    st = parse(codex, log.path)
    assert st["turn"] == "running" and st["final_at"] and not st.get("unknown_kinds")
    assert json.loads(log.path.read_text().splitlines()[1])["ordinal"] == 1
    assert state_of(codex, log)[0] == "turn-ended"  # a final answer, then quiet (no task_complete yet)

    log.line({"timestamp": ts(ago(100)), "type": "holodeck_state", "payload": {"x": 1}})  # a type no version had
    log.event("brand_new_event", ago(100))
    log.completed_item({"type": "Hologram", "id": "h"}, at=ago(100))
    log.line({"timestamp": ts(ago(99)), "type": "event_msg", "payload": "not an object"})
    st = parse(codex, log.path)
    assert st["unknown_kinds"] == {"holodeck_state": 1, "event_msg:brand_new_event": 1,
                                   "item_completed:Hologram": 1, "event_msg": 1}
    assert st["last_ts"] == ts(ago(99))  # still activity


def test_claude_unknown_line_kinds_are_activity_and_counted(tmp_path):
    log = ClaudeTranscript(tmp_path, tmp_path / "w", version="2.1.49")
    log.prompt(at=ago(100))
    log.say("Done.", at=ago(90))
    log.end_turn(at=ago(90))
    log.line({**log._base("system", ago(10)), "subtype": "brand_new_subtype", "content": "x"})
    log.line({"type": "hologram", "timestamp": ts(ago(5)), "sessionId": log.id, "data": {}})
    st = parse(claude, log.path)
    assert st["unknown_kinds"] == {"system:brand_new_subtype": 1, "hologram": 1}
    assert st["turn"] == "ended" and st["last_ts"] == ts(ago(5))


def test_doctor_names_line_types_orch_does_not_know(repo):
    r = repo
    wt = r.worktree("new")
    r.dispatch("new", "new", wt)
    log = CodexRollout(Path(r.env["CODEX_HOME"]), wt, version="0.171.0", ordinal=True)
    log.start_turn()
    log.line({"timestamp": ts(), "type": "holodeck_state", "payload": {}})
    r.orch("tick")
    found = [f for f in json.loads(r.orch("doctor", "--json", check=False).stdout)["findings"]
             if f["check"] == "sessions.formats"]
    assert len(found) == 1 and found[0]["status"] == "warn"
    assert "codex 0.171.0" in found[0]["detail"] and "holodeck_state (1)" in found[0]["detail"]


# Windows cwd values, Codex 0.4x, Claude SDK resumes

def test_windows_cwd_values_match_worktrees():
    m = Matcher({1: r"C:\Users\Ana\wt\t1", 2: r"C:\Users\Ana\wt\t10"}, [r"C:\Users\Ana\repo"], r"C:\Users\Ana\repo")
    assert m.task(r"c:\users\ana\WT\T1\src") == 1  # case-insensitive
    assert m.task("C:/Users/Ana/wt/t10/") == 2  # forward slashes
    assert m.task(r"C:\Users\Ana\wt\t100") is None
    assert m.scope(r"C:\USERS\ana\repo\lib") == r"c:\users\ana\repo"
    assert m.task("/home/ana/wt/t1") is None


def test_codex_04x_without_task_events_and_with_flat_rate_limits(tmp_path):
    log = CodexRollout(tmp_path, tmp_path / "w", at=ago(600), version="0.44.0", approval="on-request")
    log.legacy_prompt(at=ago(600))
    log.legacy_answer("Done.", at=ago(500))
    log.event("token_count", ago(500), info={"total_token_usage": {"input_tokens": 900, "output_tokens": 100,
                                                                     "total_tokens": 1000}},
              rate_limits={"primary_used_percent": 96.0, "secondary_used_percent": 40.0,
                           "primary_to_secondary_ratio_percent": 12.0, "primary_window_minutes": 300,
                           "secondary_window_minutes": 10080})
    st = parse(codex, log.path)
    assert st["rate_limit"] == {"used_percent": 96.0, "window": "primary", "window_minutes": 300}
    assert st["tokens"]["total_tokens"] == 1000 and not st.get("unknown_kinds")
    assert state_of(codex, log)[0] == "turn-ended"


def test_claude_sdk_resume_keeps_the_newest_session_id(tmp_path):
    old, new = "4f1c0e9a-7b21-4c55-9d3e-0a1b2c3d4e5f", "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4"
    log = ClaudeTranscript(tmp_path, tmp_path / "w", session_id=new, version="1.0.71")
    copied = ago(600)  # the resumed session's history, copied under one timestamp with the old id
    log.id = old
    log.prompt("first question", at=copied)
    log.stream([{"type": "text", "text": "First answer."}], stop_reason="end_turn", at=copied)
    log.id = new
    log.prompt("second question", at=ago(60))
    log.tool_use("Bash", {"command": "git push"}, at=ago(50))
    st = parse(claude, log.path)
    assert st["id"] == new and st["prompts"] == 2
    ask = HookView(id=1, agent="claude", event="PermissionRequest", at=ago(49), session_id=new, detail="Bash")
    fused = agent_state([facts(claude, log)], [ask], NOW, WAIT, timedelta(minutes=15))
    assert fused.state == "waiting-approval" and fused.observed


def test_docs_list_every_line_kind_the_readers_know():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "sessions.md").read_text()
    named = set(re.findall(r"`([^`]+)`", doc))
    for row in (*kinds.CODEX_ROWS, *kinds.CLAUDE_ROWS):
        if row.kind != "?":
            assert row.kind in named or row.kind.split(":")[-1] in named, row.kind
