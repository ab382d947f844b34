"""The session trail parser on lines in both agents' real shapes (pure: lines in, a small dict out)."""

from __future__ import annotations

import json

import pytest

from orchestrator.probes.sessions import claude, codex, trail


def feed(mod, lines):
    st = mod.new_state()
    for obj in lines:
        mod.feed(st, obj)
        trail.feed(st, obj)
    return st["trail"]


def cx(kind, ts, **payload):
    return {"timestamp": f"2026-03-02T09:{ts}Z", "type": kind, "payload": payload}


@pytest.mark.parametrize("output,code", [
    ("Chunk ID: 1a\nWall time: 0.5 seconds\nProcess exited with code 3\nOriginal token count: 1\nOutput:\nx", 3),
    (json.dumps({"output": "ok", "metadata": {"exit_code": 0, "duration_seconds": 1.0}}), 0),
    ("Exit code: 2\nWall time: 1 seconds\nOutput:\nboom", 2),
    ("Process running with session ID 7", None),
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
