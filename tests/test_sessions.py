"""Session-log evidence: Codex rollouts and Claude Code transcripts written in their real formats drive verdicts."""

from __future__ import annotations

import json
from pathlib import Path

from sessionlogs import ClaudeTranscript, CodexRollout, later


def verdicts(r) -> dict[str, dict]:
    return {t["id"]: t for t in r.report_json()["tasks"]}


def kinds(t: dict) -> set[str]:
    return {e["kind"] for e in t["evidence"]}


def homes(r) -> tuple[Path, Path]:
    return Path(r.env["CODEX_HOME"]), Path(r.env["CLAUDE_CONFIG_DIR"])


def task(r, key: str) -> Path:
    wt = r.worktree(key)
    r.dispatch(key, key, wt)
    return wt


def test_codex_states_from_rollouts(repo):
    r = repo
    codex, _ = homes(r)
    logs = {}
    for key in ("run", "esc", "ask", "dirty", "commit", "empty", "abort", "limit", "failed"):
        wt = task(r, key)
        logs[key] = log = CodexRollout(codex, wt)
        log.start_turn()
    logs["run"].call("shell")
    logs["esc"].call("shell", escalated=True)
    logs["ask"].call("request_user_input")
    r.write(r.base / "dirty", "notes.md", "half done\n")
    logs["dirty"].finish()
    r.commit(r.base / "commit", "feature.py", "x = 1\n")
    logs["commit"].tokens(total=5000)
    logs["commit"].finish()
    logs["empty"].finish("Nothing to do.")
    logs["abort"].abort("interrupted")
    logs["limit"].tokens(used_percent=100.0)
    logs["failed"].event("error", message="stream disconnected", codex_error_info="server_overloaded")

    r.orch("tick")
    v = verdicts(r)
    assert (v["run"]["condition"], v["run"]["reason"]) == ("working", "agent-running")
    assert "session-log" in kinds(v["run"])
    assert (v["esc"]["condition"], v["esc"]["reason"]) == ("waiting-input", "waiting-approval")
    assert (v["ask"]["condition"], v["ask"]["reason"]) == ("waiting-input", "waiting-input")
    assert (v["dirty"]["condition"], v["dirty"]["reason"]) == ("finished-uncommitted", "turn-ended-uncommitted")
    assert (v["commit"]["condition"], v["commit"]["reason"]) == ("finished", "committed-clean")
    assert (v["empty"]["condition"], v["empty"]["reason"]) == ("no-output", "turn-ended-no-changes")
    assert (v["abort"]["condition"], v["abort"]["reason"]) == ("no-output", "interrupted-no-changes")
    assert (v["limit"]["condition"], v["limit"]["reason"]) == ("blocked", "usage-limit")
    assert (v["failed"]["condition"], v["failed"]["reason"]) == ("no-output", "errored-no-changes")
    report = r.report()
    assert "esc" in report.split("## Act now")[1].split("##")[0]

    # A minute later the plain shell call still has no output under approval policy on-request:
    # orch infers (and says so) that it may wait for an approval.
    r.orch("tick", "--now", later(1))
    v = verdicts(r)
    assert (v["run"]["condition"], v["run"]["reason"]) == ("waiting-input", "waiting-approval")
    assert "timing" in kinds(v["run"]) and "maybe waiting for approval" in json.dumps(v["run"]["evidence"])


def test_codex_open_turn_that_goes_silent_is_stuck(repo):
    r = repo
    codex, _ = homes(r)
    wt = task(r, "quiet")
    log = CodexRollout(codex, wt, approval="never")
    log.start_turn()
    call = log.call("shell")
    log.output(call)
    r.orch("tick")
    assert verdicts(r)["quiet"]["condition"] == "working"
    r.orch("tick", "--now", later(25))
    v = verdicts(r)["quiet"]
    assert (v["condition"], v["reason"]) == ("stuck", "session-silent")


def test_claude_states_from_transcripts(repo):
    r = repo
    _, claude = homes(r)
    logs = {}
    for key in ("tool", "question", "ended", "interrupted", "answered", "bypass"):
        wt = task(r, key)
        logs[key] = ClaudeTranscript(claude, wt, mode="bypassPermissions" if key == "bypass" else "default")
        logs[key].prompt()
    logs["tool"].tool_use("Bash")
    logs["bypass"].tool_use("Bash")
    logs["question"].tool_use("AskUserQuestion", {"questions": [{"question": "Which DB?"}]})
    r.commit(r.base / "ended", "fix.py", "ok = True\n")
    tid = logs["ended"].tool_use("Edit")
    logs["ended"].tool_result(tid)
    logs["ended"].say("Fixed.")
    logs["ended"].end_turn()
    logs["interrupted"].interrupt()
    logs["answered"].say("Here is the plan.")

    r.orch("tick")
    v = verdicts(r)
    assert (v["tool"]["condition"], v["tool"]["reason"]) == ("working", "agent-running")
    assert (v["question"]["condition"], v["question"]["reason"]) == ("waiting-input", "waiting-input")
    assert (v["ended"]["condition"], v["ended"]["reason"]) == ("finished", "committed-clean")
    assert (v["interrupted"]["condition"], v["interrupted"]["reason"]) == ("no-output", "interrupted-no-changes")
    assert v["answered"]["condition"] == "working"

    r.orch("tick", "--now", later(2))
    v = verdicts(r)
    assert (v["tool"]["condition"], v["tool"]["reason"]) == ("waiting-input", "waiting-approval")
    assert (v["bypass"]["condition"], v["bypass"]["reason"]) == ("working", "agent-running")
    assert (v["answered"]["condition"], v["answered"]["reason"]) == ("no-output", "turn-ended-no-changes")


def test_lines_appended_between_ticks_are_read_incrementally(any_repo):
    r = any_repo
    codex, claude = homes(r)
    wt = task(r, "inc")
    log = CodexRollout(codex, wt)
    log.start_turn()
    r.orch("tick")
    assert verdicts(r)["inc"]["condition"] == "working"
    size_before = log.path.stat().st_size
    r.write(wt, "a.txt", "a\n")
    log.finish()
    r.orch("tick")
    v = verdicts(r)["inc"]
    assert (v["condition"], v["reason"]) == ("finished-uncommitted", "turn-ended-uncommitted")
    data = r.orch_json("sessions")
    s = next(x for x in data["sessions"] if x["task"] == "inc")
    assert s["state"] == "turn-ended" and s["observed"] is True
    assert log.path.stat().st_size > size_before
    shown = r.orch_json("task", "show", "inc")
    assert [(x["agent"], x["session_id"], x["state"]) for x in shown["sessions"]] == [("codex", log.id, "turn-ended")]
    assert "sessions:" in r.orch("task", "show", "inc").stdout

    # The file is replaced by a shorter one (a rewrite): orch notices and parses it afresh.
    log.path.write_text("")
    fresh = CodexRollout(codex, wt, session_id=log.id)
    fresh.path = log.path
    fresh.line({"timestamp": "2026-11-25T10:00:00.000Z", "type": "session_meta", "payload": {"id": log.id, "cwd": str(wt)}})
    fresh.start_turn()
    r.orch("tick")
    assert verdicts(r)["inc"]["condition"] == "working"


def test_bad_session_lines_are_skipped_and_counted(repo):
    r = repo
    codex, claude = homes(r)
    wt = task(r, "bad")
    log = CodexRollout(codex, wt)
    log.start_turn()
    log.raw(b"{not json\n")
    log.raw(b"\x00\xff\xfe binary garbage \x80\n")
    log.raw(b"[1, 2, 3]\n")
    log.line({"timestamp": "x", "type": "brand_new_kind", "payload": {"type": "unheard_of"}})
    log.raw(b'{"timestamp":"2026-11-25T10:00:00Z","type":"event_msg","payload":' + b'"' + b"x" * (10 << 20) + b'"}\n')
    log.finish()
    log.raw(b'{"timestamp":"2026-11-25T10:00:00Z","type":"event_msg","payl')  # a line still being written
    (codex / "archived_sessions").write_text("not a folder")
    (Path(r.env["CLAUDE_CONFIG_DIR"]) / "projects").mkdir(parents=True)
    r.orch("tick")
    v = verdicts(r)["bad"]
    assert (v["condition"], v["reason"]) == ("no-output", "turn-ended-no-changes")
    data = r.report_json()
    problems = "; ".join(data["health"]["problems"])
    assert "unreadable session-log line(s) skipped" in problems
    assert "over-long session-log line(s) skipped" in problems
    assert "sessions:" in r.report()


def test_untracked_worker_and_orchestrator_session(repo):
    r = repo
    codex, claude = homes(r)
    stray = r.worktree("stray")  # a worker nobody recorded with `orch dispatch`
    ClaudeTranscript(claude, stray).prompt("refactor everything")
    CodexRollout(codex, r.root).start_turn("plan the work")  # the orchestrator itself, in the integration checkout
    r.orch("tick")
    data = r.report_json()
    assert [u["cwd"] for u in data["untracked_sessions"]] == [str(stray)]
    assert "untracked workers (1)" in r.report()
    roles = {s["role"] for s in r.orch_json("sessions")["sessions"]}
    assert roles == {"untracked", "orchestrator"}


def test_secrets_in_logs_never_reach_reports_or_terminal(repo):
    r = repo
    codex, claude = homes(r)
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    wt = task(r, "sec")
    log = CodexRollout(codex, wt)
    log.start_turn(f"use OPENAI_API_KEY={secret} to call the API")
    log.call("shell", command=("bash", "-lc", f"curl -H 'Authorization: Bearer {secret}' https://x"))
    log.event("agent_message", message=f"I used {secret}", phase="commentary")
    r.orch("hook", "claude", input=json.dumps({"hook_event_name": "PermissionRequest", "cwd": str(wt),
                                                "session_id": "s1", "tool_name": "Bash",
                                                "tool_input": {"command": f"export TOKEN={secret}"}}))
    outputs = [r.orch("tick").stdout, r.orch("sessions").stdout, r.orch("status").stdout,
               r.orch("task", "show", "sec").stdout, r.orch("tick", "--dry-run").stdout]
    for f in (r.root / ".orch" / "reports").rglob("*"):
        if f.is_file():
            outputs.append(f.read_text())
    outputs.append((r.root / ".orch" / "hooks" / "events.jsonl").read_text())
    for text in outputs:
        assert secret not in text
        assert "A1b2C3d4E5f6" not in text


def test_codex_app_worktree_symlinked_cwd_and_archived_rollout(repo):
    r = repo
    codex, _ = homes(r)
    app_wt = codex / "worktrees" / "49a9" / "repo"  # where the Codex App puts its managed worktrees
    app_wt.parent.mkdir(parents=True)
    r.git("worktree", "add", "-q", "-b", "codex/search", str(app_wt), "main")
    r.dispatch("app", "codex/search", app_wt)
    link = r.base / "shortcut"
    link.symlink_to(app_wt)  # the session reports its cwd through a symlink
    log = CodexRollout(codex, link / "src")
    log.start_turn()
    r.orch("tick")
    v = verdicts(r)["app"]
    assert (v["condition"], v["reason"]) == ("working", "agent-running")

    archived = codex / "archived_sessions" / log.path.name  # `codex archive` moves the file
    archived.parent.mkdir(parents=True)
    log.path.rename(archived)
    r.orch("tick")
    v = verdicts(r)["app"]
    assert (v["condition"], v["reason"]) == ("no-output", "turn-ended-no-changes")
    assert "archived" in json.dumps(v["evidence"])


def test_a_silent_open_turn_tells_a_live_agent_from_a_gone_one(repo):
    """Codex's thread-writer lock and Claude's session registry say whether the process still runs."""
    import os
    import subprocess
    import sys

    r = repo
    codex, claude = homes(r)
    logs = {}
    for key in ("cx-alive", "cx-gone", "cl-alive", "cl-gone"):
        wt = task(r, key)
        if key.startswith("cx"):
            logs[key] = CodexRollout(codex, wt, approval="never")
        else:
            logs[key] = ClaudeTranscript(claude, wt, mode="bypassPermissions")
            logs[key].prompt()
    for key in ("cx-alive", "cx-gone"):
        logs[key].start_turn()
    locks = codex / "thread-writer-locks"
    locks.mkdir(parents=True)
    (locks / f"{logs['cx-gone'].id}.lock").touch()  # left behind by a killed process: nobody holds it
    held = locks / f"{logs['cx-alive'].id}.lock"
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(120)", str(held)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        registry = claude / "sessions"
        registry.mkdir(parents=True)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        (registry / f"{holder.pid}.json").write_text(json.dumps(
            {"pid": holder.pid, "sessionId": logs["cl-alive"].id, "cwd": logs["cl-alive"].cwd, "status": "busy"}))
        (registry / f"{dead.stdout.strip()}.json").write_text(json.dumps(
            {"pid": int(dead.stdout.strip()), "sessionId": logs["cl-gone"].id, "cwd": logs["cl-gone"].cwd}))
        r.orch("tick")
        r.orch("tick", "--now", later(25))
        v = verdicts(r)
        for key in ("cx-alive", "cl-alive"):
            assert (v[key]["condition"], v[key]["reason"]) == ("stuck", "session-silent"), key
            assert "still running" in json.dumps(v[key]["evidence"])
        for key in ("cx-gone", "cl-gone"):
            assert (v[key]["condition"], v[key]["reason"]) == ("stuck", "agent-exited"), key
            assert "process is gone" in json.dumps(v[key]["evidence"])
        assert os.path.exists(held)  # orch only looked
    finally:
        holder.kill()
        holder.wait()
