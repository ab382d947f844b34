"""What real agent versions write, line shape by line shape: streamed Claude messages, subagent transcripts, Codex
before task events, never-asking permission modes, plans, limits and lines that are not prompts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import ORCH
from sessionlogs import ClaudeTranscript, CodexRollout, later, ts

from orchestrator.classify.classifier import classify
from orchestrator.classify.evidence import SessionFacts, TaskInput, Thresholds, GitFacts
from orchestrator.probes.sessions import claude, codex
from orchestrator.probes.sessions.reader import Cursor, read_appended


def verdicts(r) -> dict[str, dict]:
    return {t["id"]: t for t in r.report_json()["tasks"]}


def homes(r) -> tuple[Path, Path]:
    return Path(r.env["CODEX_HOME"]), Path(r.env["CLAUDE_CONFIG_DIR"])


def task(r, key: str) -> Path:
    wt = r.worktree(key)
    r.dispatch(key, key, wt)
    return wt


def session_of(r, key: str, *args) -> dict:
    return next(s for s in r.orch_json("sessions", *args)["sessions"] if s["task"] == key)


def parse(mod, path: Path, **kw) -> dict:
    st = mod.new_state(**kw)
    read_appended(str(path), Cursor(), lambda obj: mod.feed(st, obj), lambda: None)
    return st


def test_claude_text_before_a_streamed_tool_call_is_not_the_end_of_the_turn(repo):
    r = repo
    _, home = homes(r)
    streaming, answered = ClaudeTranscript(home, task(r, "streaming")), ClaudeTranscript(home, task(r, "answered"))
    for log in (streaming, answered):
        log.prompt("rewrite the renderer")
        log.tool_result(log.tool_use("Read", {"file_path": "r.py"}), "...")
    # "Now I'll write the complete file": a text block, stop_reason null, then silence while the Write streams
    streaming.stream([{"type": "text", "text": "Now I'll write the complete updated file."}])
    answered.stream([{"type": "text", "text": "Done: the renderer is rewritten."}], stop_reason="end_turn")

    r.orch("tick", "--now", later(0.8))  # 48 s of silence
    v = verdicts(r)
    assert (v["streaming"]["condition"], v["streaming"]["reason"]) == ("working", "agent-running")
    assert "maybe streaming a tool call" in v["streaming"]["evidence"][0]["text"]
    assert (v["answered"]["condition"], v["answered"]["reason"]) == ("no-output", "turn-ended-no-changes")

    r.orch("tick", "--now", later(3))  # a streamed text with nothing after it for minutes was the answer
    assert verdicts(r)["streaming"]["condition"] == "no-output"


def test_claude_tokens_count_each_api_message_once_with_its_final_usage(repo):
    r = repo
    _, home = homes(r)
    log = ClaudeTranscript(home, task(r, "tok"))
    log.prompt()
    # one API message over three lines: only the last carries the final output_tokens
    log.stream([{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_a1", "name": "Bash", "input": {"command": "ls"}}],
               usage=[{"output_tokens": 2}, {"output_tokens": 2}, {"output_tokens": 350}])
    log.tool_result("toolu_a1", "a.py")
    log.stream([{"type": "text", "text": "Fine."}], usage=[{"output_tokens": 40}], stop_reason="end_turn")
    per_message_input = 3 + 500 + 20000
    s = session_of(r, "tok")
    assert s["tokens"]["output_tokens"] == 390
    assert s["tokens"]["total_tokens"] == 2 * per_message_input + 390


def test_claude_subagent_transcripts_are_followed_counted_and_keep_the_task_working(repo):
    r = repo
    _, home = homes(r)
    for key, layout in (("new", "new"), ("old", "old")):
        parent = ClaudeTranscript(home, task(r, key), version="2.1.38" if layout == "new" else "1.0.98")
        parent.prompt("explore and plan")
        parent.tool_use("Task", {"description": "Explore", "prompt": "map the code", "subagent_type": "Explore"})
        sub = parent.subagent(layout)
        sub.prompt("map the code")
        # the subagent keeps working long after its parent's last line
        for minutes in (5, 12, 24):
            sub.tool_result(sub.tool_use("Grep", {"pattern": "def "}, at=_in(minutes)), "many", at=_in(minutes))
    r.orch("tick", "--now", later(25))
    v = verdicts(r)
    for key in ("new", "old"):
        assert (v[key]["condition"], v[key]["reason"]) == ("working", "agent-running"), v[key]
        assert "Task subagent working" in v[key]["evidence"][0]["text"]
    listed = r.orch_json("sessions", "--all")["sessions"]
    for key in ("new", "old"):
        mine = [s for s in listed if s["task"] == key]
        assert len(mine) == 1, mine  # the session once, its subagent inside it
        s = mine[0]
        assert len(s["subagents"]) == 1 and s["subagents"][0]["path"].endswith(".jsonl")
        assert s["subagent_tokens"] == 3 * (812 + 64 + 20480)
        assert s["tokens_with_subagents"]["total_tokens"] == s["tokens"]["total_tokens"] + s["subagent_tokens"]


def _in(minutes: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


def test_codex_without_task_events_ends_on_its_last_message_then_quiet(repo):
    r = repo
    codex_home, _ = homes(r)
    done, working = CodexRollout(codex_home, task(r, "done")), CodexRollout(codex_home, task(r, "busy"))
    for log in (done, working):
        log.legacy_prompt("fix it")
        log.output(log.call())
    done.legacy_answer("Fixed the bug.")
    done.tokens()
    working.tokens()  # reasoning after a tool call, no message yet

    r.orch("tick", "--now", later(0.5))
    assert verdicts(r)["done"]["condition"] == "working"
    r.orch("tick", "--now", later(3))
    v = verdicts(r)
    assert (v["done"]["condition"], v["done"]["reason"]) == ("no-output", "turn-ended-no-changes")
    assert "likely" in v["done"]["evidence"][0]["text"] and "inferred" in v["done"]["evidence"][0]["text"]
    assert v["busy"]["condition"] == "working"


def test_codex_without_task_events_the_notify_hook_still_decides(repo):
    import json
    import subprocess

    r = repo
    codex_home, _ = homes(r)
    wt = task(r, "hooked")
    log = CodexRollout(codex_home, wt)
    log.legacy_prompt("fix it")
    log.output(log.call())
    r.orch("tick")
    assert verdicts(r)["hooked"]["condition"] == "working"
    subprocess.run([ORCH, "hook", "codex-notify",
                    json.dumps({"type": "agent-turn-complete", "thread-id": log.id, "turn-id": "u-1",
                                "cwd": str(wt), "last-assistant-message": "Done."})],
                   cwd=r.root, env=r.env, check=True, capture_output=True, timeout=30)
    r.orch("tick", "--now", later(0.2))
    v = verdicts(r)["hooked"]
    assert (v["condition"], v["evidence"][0]["kind"]) == ("no-output", "hook")


def test_permission_modes_that_never_ask_are_never_read_as_waiting_for_approval(repo):
    r = repo
    _, home = homes(r)
    for mode in ("dontAsk", "bypassPermissions", "default"):
        log = ClaudeTranscript(home, task(r, mode.lower()), mode=mode)
        log.prompt()
        log.tool_use("Bash", {"command": "npm run build"})
    r.orch("tick", "--now", later(2))
    v = verdicts(r)
    assert (v["dontask"]["condition"], v["dontask"]["reason"]) == ("working", "agent-running")
    assert (v["bypasspermissions"]["condition"], v["bypasspermissions"]["reason"]) == ("working", "agent-running")
    assert (v["default"]["condition"], v["default"]["reason"]) == ("waiting-input", "waiting-approval")


def test_plan_progress_context_and_limits_are_evidence_and_a_health_note(repo):
    r = repo
    codex_home, home = homes(r)
    cx = CodexRollout(codex_home, task(r, "cx"))
    cx.start_turn()
    cx.plan([("Read the code", "completed"), ("Write the parser", "in_progress"), ("Test it", "pending")])
    cx.compacted()
    cx.usage(used=260000, window=272000, used_percent=93.0)
    cl = ClaudeTranscript(home, task(r, "cl"))
    cl.prompt()
    cl.todos([("Analyze", "completed"), ("Fix", "completed"), ("Document", "in_progress"), ("Ship", "pending")])
    cl.compact()
    r.orch("tick")
    v = verdicts(r)
    texts = [e["text"] for e in v["cx"]["evidence"]]
    assert v["cx"]["condition"] == "working"  # notes, not conditions, while the worker still works
    assert "codex: step 2/3: Write the parser" in texts
    assert any("context 96% full" in t for t in texts)
    assert any("primary limit 93% used" in t for t in texts)
    assert any("compacted 1 time" in t for t in texts)
    cl_texts = [e["text"] for e in v["cl"]["evidence"]]
    assert "claude: step 3/4: Document" in cl_texts
    assert any("compacted 1 time" in t for t in cl_texts)
    problems = r.report_json()["health"]["problems"]
    assert any("near a context or rate limit" in p for p in problems)


def test_claude_usage_limit_and_api_errors(repo):
    r = repo
    _, home = homes(r)
    limited, failing = ClaudeTranscript(home, task(r, "limited")), ClaudeTranscript(home, task(r, "failing"))
    limited.prompt()
    limited.api_error_message("Claude AI usage limit reached|1772452800")
    limited.end_turn()
    failing.prompt()
    failing.api_error_message("API Error: 500 Internal server error")
    r.orch("tick", "--now", later(2))
    v = verdicts(r)
    assert (v["limited"]["condition"], v["limited"]["reason"]) == ("blocked", "usage-limit")
    assert (v["failing"]["condition"], v["failing"]["reason"]) == ("no-output", "errored-no-changes")
    assert any(e["code"] == "api-error" for e in v["failing"]["evidence"])


def test_notifications_queue_and_progress_lines_are_not_prompts(repo, tmp_path):
    r = repo
    _, home = homes(r)
    log = ClaudeTranscript(home, task(r, "idle"))
    log.prompt()
    log.say("Done.")
    log.end_turn()
    log.progress()
    log.line({"type": "queue-operation", "operation": "enqueue", "timestamp": ts(), "sessionId": log.id,
              "content": "also run the linter"})
    r.orch("tick")
    v = verdicts(r)["idle"]
    assert (v["condition"], v["evidence"][0]["code"]) == ("no-output", "turn-ended")

    st = parse(claude, log.path)
    assert st["prompts"] == 1
    log.task_notification()  # the agent answers a background task's notice: working, but nobody prompted
    st = parse(claude, log.path)
    assert (st["prompts"], st["turn"]) == (1, "running")


def test_parsers_unit_shapes(tmp_path):
    log = CodexRollout(tmp_path / "codex", tmp_path / "w", approval="never")
    log.legacy_prompt()
    log.legacy_answer("Done.")
    log.tokens(used_percent=95.0)
    st = parse(codex, log.path)
    assert st["explicit"] is False and st["msg_at"] and st["msg_counted"] is True
    assert st["rate_limit"]["used_percent"] == 95.0 and st["usage_limit"] is False
    log.tokens(used_percent=100.0)
    assert parse(codex, log.path)["usage_limit"] is True

    sub = ClaudeTranscript(tmp_path / "claude", tmp_path / "w").subagent("new")
    sub.prompt("explore")
    sub.say("found it")
    assert parse(claude, sub.path)["turn"] == "none"  # read as a main session, a subagent's lines are sidechain
    st = parse(claude, sub.path, subagent=True)
    assert st["subagent"] is True and st["turn"] == "running" and st["tokens"]["total_tokens"] == 120


def test_the_classifier_applies_the_thresholds_to_session_facts():
    now = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    st = claude.new_state()
    for obj in ({"type": "user", "sessionId": "s", "cwd": "/w", "timestamp": "2026-11-24T07:58:00Z",
                 "permissionMode": "default", "message": {"role": "user", "content": "go"}},
                {"type": "assistant", "sessionId": "s", "timestamp": "2026-11-24T07:58:10Z", "message": {
                    "id": "m1", "role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash",
                                                                  "input": {}}], "stop_reason": "tool_use"}}):
        claude.feed(st, obj)
    facts = SessionFacts(agent="claude", path="/p.jsonl", state=st, size=10, mtime=now - timedelta(minutes=2))
    base = dict(key="T", status="active", branch="b", created_at=now - timedelta(hours=1), worktree_recorded=True,
                git=GitFacts(found=True, path="/w", path_exists=True, head="a" * 40, branch="b"), sessions=(facts,))
    quick = classify(TaskInput(**base), Thresholds(wait_after=timedelta(seconds=30)), now)
    patient = classify(TaskInput(**base), Thresholds(wait_after=timedelta(minutes=5)), now)
    assert (quick.condition, quick.reason) == ("waiting-input", "waiting-approval")
    assert (patient.condition, patient.reason) == ("working", "agent-running")


def test_plan_steps_pass_through_the_redactor(repo):
    r = repo
    codex_home, _ = homes(r)
    cx = CodexRollout(codex_home, task(r, "secret"))
    cx.start_turn()
    cx.plan([("Export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 and run", "in_progress")])
    r.orch("tick")
    texts = " ".join(e["text"] for e in verdicts(r)["secret"]["evidence"])
    assert "step 1/1" in texts and "abcdefghijklmnopqrstuvwxyz0123456789" not in texts
