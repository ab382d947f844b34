"""The session trail parser on lines in both agents' real shapes (pure: lines in, a small dict out)."""

from __future__ import annotations

import json

import pytest

from orchestrator.classify.claims import words
from orchestrator.probes.sessions import claude, codex, trail


def feed(mod, lines):
    st = mod.new_state()
    for n, obj in enumerate(lines, 1):
        mod.feed(st, obj)
        trail.feed(st, obj, n)
    return st["trail"]


def cx(kind, ts, **payload):
    return {"timestamp": f"2026-03-02T09:{ts}Z", "type": kind, "payload": payload}


@pytest.mark.parametrize("output,code", [
    ("Chunk ID: 1a\nWall time: 0.5 seconds\nProcess exited with code 3\nOriginal token count: 1\nOutput:\nx", 3),
    (json.dumps({"output": "ok", "metadata": {"exit_code": 0, "duration_seconds": 1.0}}), 0),
    ("Exit code: 2\nWall time: 1 seconds\nOutput:\nboom", 2),
])
def test_codex_commands_and_exit_codes(output, code):
    tr = feed(codex, [
        cx("session_meta", "00:00.000", id="s", cwd="/w"),
        cx("response_item", "01:00.000", type="function_call", name="exec_command", call_id="c1",
           arguments=json.dumps({"cmd": "pytest -q", "workdir": "/w"})),
        cx("response_item", "01:05.000", type="function_call_output", call_id="c1", output=output),
    ])
    assert tr["cmds"][-1]["cmd"] == "pytest -q" and tr["cmds"][-1]["exit"] == code
    assert tr["checks"]["tests"]["exit"] == code


def test_codex_edits_final_message_interrupt_and_correction():
    tr = feed(codex, [
        cx("session_meta", "00:00.000", id="s", cwd="/w"),
        cx("event_msg", "00:01.000", type="user_message", message="fix it"),
        cx("response_item", "01:00.000", type="custom_tool_call", name="apply_patch", call_id="p", status="completed",
           input="*** Begin Patch\n*** Add File: src/new.py\n+x\n*** End Patch"),
        cx("event_msg", "02:00.000", type="agent_message", message="Done, all tests pass.", phase="final_answer"),
        cx("event_msg", "02:01.000", type="task_complete", last_agent_message="Done, all tests pass."),
        cx("event_msg", "03:00.000", type="user_message", message="No - revert the new file"),
        cx("response_item", "03:10.000", type="function_call", name="shell", call_id="c2",
           arguments=json.dumps({"command": ["bash", "-lc", "git push"]})),
        cx("event_msg", "03:20.000", type="turn_aborted", reason="interrupted"),
        cx("event_msg", "04:00.000", type="user_message", message="no problem, carry on"),
    ])
    assert tr["edits"][-1]["path"] == "src/new.py" and tr["last_edit_at"].startswith("2026-03-02T09:01")
    assert [c["kind"] for c in trail.claims_of(tr)["claims"]] == ["tests", "done"]
    assert [c["word"] for c in tr["corrections"]] == ["no"]  # "no problem" is not a correction
    assert tr["interrupts"][-1]["how"] == "turn_aborted: interrupted"
    assert tr["pending"] == {}


def test_the_first_prompt_is_never_a_correction():
    tr = feed(codex, [cx("session_meta", "00:00.000", id="s", cwd="/w"),
                      cx("event_msg", "00:01.000", type="user_message", message="Don't use globals; refactor X")])
    assert tr["corrections"] == []


def cl(kind, ts, content, **extra):
    return {"type": kind, "timestamp": f"2026-03-02T09:{ts}Z", "sessionId": "s", "cwd": "/w", "isSidechain": False,
            "message": {"role": "user" if kind == "user" else "assistant", "content": content}, **extra}


def test_claude_bash_exit_codes_edits_drafts_and_rejections():
    tr = feed(claude, [
        cl("user", "00:00.000", "make the tests pass"),
        cl("assistant", "00:10.000", [{"type": "text", "text": "All tests pass now, I think."},
                                      {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "npm test"}}]),
        cl("user", "00:20.000", [{"type": "tool_result", "tool_use_id": "t1", "content": "Exit code 1\n2 failing",
                                  "is_error": True}]),
        cl("assistant", "00:30.000", [{"type": "tool_use", "id": "t2", "name": "Edit",
                                       "input": {"file_path": "/w/src/a.ts", "old_string": "a", "new_string": "b"}}]),
        cl("user", "00:31.000", [{"type": "tool_result", "tool_use_id": "t2", "content": "updated"}]),
        cl("assistant", "00:40.000", [{"type": "tool_use", "id": "t3", "name": "Bash",
                                       "input": {"command": "git push --force"}}]),
        cl("user", "00:41.000", [{"type": "tool_result", "tool_use_id": "t3", "is_error": True,
                                  "content": "The user doesn't want to proceed with this tool use."}]),
        cl("user", "00:41.500", [{"type": "text", "text": "[Request interrupted by user for tool use]"}]),
        cl("assistant", "00:50.000", [{"type": "text", "text": "Committed the fix; tests pass."}]),
    ])
    assert tr["checks"]["tests"]["exit"] == 1 and tr["checks"]["tests"]["cmd"] == "npm test"
    assert tr["last_edit_at"] == "2026-03-02T09:00:30.000Z"
    assert tr["git_ops"][-1]["rejected"] is True
    assert [i["how"] for i in tr["interrupts"]] == ["tool use rejected"]  # one stop, not two
    assert [c["kind"] for c in trail.claims_of(tr)["claims"]] == ["tests", "committed"]


def test_trail_stays_small():
    lines = [cl("user", "00:00.000", "go")]
    for i in range(500):
        lines.append(cl("assistant", "01:00.000", [{"type": "tool_use", "id": f"t{i}", "name": "Bash",
                                                    "input": {"command": f"git push origin b{i} " + "x" * 500}}]))
        lines.append(cl("user", "01:01.000", [{"type": "tool_result", "tool_use_id": f"t{i}", "content": "ok"}]))
    tr = feed(claude, lines)
    assert len(json.dumps(tr)) < 8000


# --- long-running commands, hidden exit codes, notices (the real shapes of both agents) -------------------------

def exec_call(call_id, cmd, ts):
    return cx("response_item", ts, type="function_call", name="exec_command", call_id=call_id,
              arguments=json.dumps({"cmd": cmd, "workdir": "/w", "yield_time_ms": 10000}))


def unified(call_id, ts, tail, out=""):
    return cx("response_item", ts, type="function_call_output", call_id=call_id,
              output=f"Chunk ID: 9e\nWall time: 10.0 seconds\n{tail}\nOriginal token count: 3\nOutput:\n{out}\n")


def test_a_codex_command_left_running_ends_with_its_write_stdin_poll():
    tr = feed(codex, [
        cx("session_meta", "00:00.000", id="s", cwd="/w"),
        exec_call("c1", "pytest -q", "01:00.000"),
        unified("c1", "01:10.000", "Process running with session ID 41", "collecting ..."),
        cx("response_item", "01:20.000", type="function_call", name="write_stdin", call_id="p1",
           arguments=json.dumps({"session_id": 41, "chars": "", "yield_time_ms": 30000})),
        unified("p1", "01:50.000", "Process running with session ID 41", "....."),
        cx("response_item", "02:00.000", type="function_call", name="write_stdin", call_id="p2",
           arguments=json.dumps({"session_id": 41, "chars": ""})),
        unified("p2", "02:30.000", "Process exited with code 0", "120 passed in 80.1s"),
    ])
    run = tr["checks"]["tests"]
    assert run["cmd"] == "pytest -q" and run["exit"] == 0 and run["end"] == "2026-03-02T09:02:30.000Z"
    assert run["line"] == 2 and tr["running"] == {} and tr["polls"] == {}


def test_codex_exit_codes_from_exec_command_end_and_item_completed():
    tr = feed(codex, [
        cx("session_meta", "00:00.000", id="s", cwd="/w"),
        exec_call("c1", "cargo test", "01:00.000"),
        unified("c1", "01:10.000", "Process running with session ID 7"),
        cx("event_msg", "01:40.000", type="exec_command_end", call_id="c1", process_id="7", exit_code=101,
           aggregated_output="test result: FAILED. 3 passed; 1 failed", status="failed"),
        cx("event_msg", "02:00.000", type="item_completed", item={
            "type": "CommandExecution", "id": "exec-9", "command": ["/bin/zsh", "-lc", "npm run lint"],
            "status": "completed", "exit_code": 0, "aggregated_output": "ok"}),
    ])
    assert tr["checks"]["tests"]["exit"] == 101 and tr["checks"]["lint"]["exit"] == 0


def test_a_piped_check_has_no_trustworthy_exit_code_its_output_decides():
    tr = feed(codex, [
        cx("session_meta", "00:00.000", id="s", cwd="/w"),
        exec_call("c1", "pytest -q 2>&1 | tail -3", "01:00.000"),
        unified("c1", "01:10.000", "Process exited with code 0", "FAILED tests/test_a.py::test_x\n1 failed, 41 passed"),
        exec_call("c2", "npm test || true", "02:00.000"),
        unified("c2", "02:10.000", "Process exited with code 0", "Tests: 2 failed, 10 passed, 12 total"),
    ])
    assert tr["cmds"][0]["exit"] is None and tr["cmds"][0]["said"] == "fail" and tr["cmds"][0]["masked"] == 0
    assert tr["checks"]["tests"]["cmd"] == "npm test || true" and tr["checks"]["tests"]["said"] == "fail"


def test_a_claude_background_command_ends_with_its_notice_which_starts_no_claim():
    tr = feed(claude, [
        cl("user", "00:00.000", "run the full suite and commit"),
        cl("assistant", "00:10.000", [{"type": "tool_use", "id": "t1", "name": "Bash",
                                       "input": {"command": "mix test", "run_in_background": True}}]),
        cl("user", "00:11.000", [{"type": "tool_result", "tool_use_id": "t1", "is_error": False, "content":
                                  "Command running in background with ID: b7636e2. Output is being written to: "
                                  "/tmp/claude-1000/x/tasks/b7636e2.output"}]),
        cl("assistant", "00:20.000", [{"type": "text", "text": "Committed; the full suite is running."}]),
        {"type": "system", "subtype": "turn_duration", "timestamp": "2026-03-02T09:00:21.000Z", "durationMs": 1},
        cl("user", "01:00.000", "<task-notification>\n<task-id>b7636e2</task-id>\n<status>failed</status>\n"
                                "<summary>Background command \"Run tests\" failed with exit code 2</summary>\n"
                                "</task-notification>"),
        cl("assistant", "01:05.000", [{"type": "text", "text": "The background run completed successfully."}]),
    ])
    assert tr["checks"]["tests"]["exit"] == 2 and tr["checks"]["tests"]["end"] == "2026-03-02T09:01:00.000Z"
    said = trail.claims_of(tr)
    assert said["line"] == 4 and [c["kind"] for c in said["claims"]] == ["committed"]


def test_a_claude_background_command_polled_with_bash_output():
    tr = feed(claude, [
        cl("user", "00:00.000", "build it"),
        cl("assistant", "00:10.000", [{"type": "tool_use", "id": "t1", "name": "Bash",
                                       "input": {"command": "npm run build", "run_in_background": True}}]),
        cl("user", "00:11.000", [{"type": "tool_result", "tool_use_id": "t1",
                                  "content": "Command running in background with ID: bash_3"}]),
        cl("assistant", "00:30.000", [{"type": "tool_use", "id": "t2", "name": "BashOutput",
                                       "input": {"bash_id": "bash_3"}}]),
        cl("user", "00:31.000", [{"type": "tool_result", "tool_use_id": "t2", "content":
                                  "<status>completed</status>\n\n<exit_code>0</exit_code>\n\n<stdout>built</stdout>"}]),
    ])
    assert tr["checks"]["build"]["exit"] == 0 and tr["running"] == {}


def test_additions_are_not_corrections_and_rule_files_the_person_asks_for_are_noted():
    tr = feed(claude, [
        cl("user", "00:00.000", "<command-message>init is analyzing your codebase…</command-message>\n"
                                "<command-name>/init</command-name>"),
        cl("assistant", "00:10.000", [{"type": "tool_use", "id": "t1", "name": "Write",
                                       "input": {"file_path": "/w/CLAUDE.md", "content": "x"}}]),
        cl("user", "00:11.000", [{"type": "tool_result", "tool_use_id": "t1", "content": "File created"}]),
        cl("user", "00:20.000", "Don't forget to add a CHANGELOG line as well"),
        cl("assistant", "00:30.000", [{"type": "tool_use", "id": "t2", "name": "Edit",
                                       "input": {"file_path": "/w/CHANGELOG.md", "old_string": "a", "new_string": "b"}}]),
        cl("user", "00:40.000", "no, don't touch AGENTS.md - put it in the README instead"),
    ])
    assert [c["word"] for c in tr["corrections"]] == ["no"] and tr["corrections"][0]["line"] == 6
    assert tr["rules_asked"] == ["CLAUDE.md"]  # /init; "don't touch AGENTS.md" asks for nothing
    assert set(words("CHANGELOG README")) <= set(tr["asked"])
