"""Hook events from Codex and Claude Code: `orch hook` records them fast and safely; the tick uses them."""

from __future__ import annotations

import json
import subprocess
import time
import tomllib
from pathlib import Path

from conftest import ORCH
from sessionlogs import ClaudeTranscript


def verdict(r, key):
    return next(t for t in r.report_json()["tasks"] if t["id"] == key)


def hook(r, kind, payload, cwd=None):
    """Run `orch hook KIND` the way the agent does: JSON on stdin (or the last argument for codex-notify)."""
    if kind == "codex-notify":
        args = [ORCH, "hook", kind, json.dumps(payload)]
        proc = subprocess.run(args, cwd=cwd or r.root, env=r.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=30)
    else:
        proc = subprocess.run([ORCH, "hook", kind], cwd=cwd or r.root, env=r.env, input=json.dumps(payload)
                              if not isinstance(payload, str) else payload, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    return proc


def test_claude_hooks_drive_waiting_and_finished(any_repo):
    r = any_repo
    wt = r.worktree("cl")
    r.dispatch("cl", "cl", wt, "--agent", "claude")
    log = ClaudeTranscript(Path(r.env["CLAUDE_CONFIG_DIR"]), wt)
    log.prompt()
    tool = log.tool_use("Bash")
    base = {"session_id": log.id, "transcript_path": str(log.path), "cwd": str(wt / "sub"), "permission_mode": "default"}
    (wt / "sub").mkdir()
    hook(r, "claude", {**base, "hook_event_name": "PermissionRequest", "tool_name": "Bash",
                       "tool_input": {"command": "rm -rf build"}}, cwd=wt)
    r.orch("tick")
    v = verdict(r, "cl")
    assert (v["condition"], v["reason"]) == ("waiting-input", "waiting-approval")
    assert v["evidence"][0]["kind"] == "hook" and "PermissionRequest" in v["evidence"][0]["text"]

    # Approved (a person takes a moment): the tool's result lands in the transcript after the hook,
    # so the log wins again. Lines within a second of a hook do not overrule it (fuse.HOOK_SKEW).
    time.sleep(1.5)
    log.tool_result(tool)
    r.orch("tick")
    assert verdict(r, "cl")["condition"] == "working"

    r.write(wt, "out.txt", "result\n")
    hook(r, "claude", {**base, "hook_event_name": "Stop", "stop_hook_active": False,
                       "last_assistant_message": "done"})
    r.orch("tick")
    v = verdict(r, "cl")
    assert (v["condition"], v["reason"]) == ("finished-uncommitted", "turn-ended-uncommitted")
    assert "hook" in {e["kind"] for e in v["evidence"]}

    hook(r, "claude", {**base, "hook_event_name": "Notification", "notification_type": "elicitation_dialog",
                       "message": "Claude has a question"})
    r.orch("tick")
    assert verdict(r, "cl")["condition"] == "waiting-input"


def test_codex_notify_and_hooks_without_any_rollout(repo):
    r = repo
    wt = r.worktree("cx")
    r.dispatch("cx", "cx", wt, "--agent", "codex")
    hook(r, "codex", {"hook_event_name": "UserPromptSubmit", "session_id": "t-1", "cwd": str(wt), "prompt": "go"})
    r.orch("tick")
    assert (verdict(r, "cx")["condition"], verdict(r, "cx")["reason"]) == ("working", "agent-running")
    r.commit(wt, "a.py", "a = 1\n")
    hook(r, "codex-notify", {"type": "agent-turn-complete", "thread-id": "t-1", "turn-id": "u-1", "cwd": str(wt),
                             "client": "codex-tui", "input-messages": ["go"], "last-assistant-message": "Done."})
    r.orch("tick")
    v = verdict(r, "cx")
    assert (v["condition"], v["reason"]) == ("finished", "committed-clean")
    assert any(e["kind"] == "hook" and "agent-turn-complete" in e["text"] for e in v["evidence"])


def test_hook_never_fails_the_agent(repo, tmp_path):
    r = repo
    wt = r.worktree("h")
    hook(r, "claude", "{not json", cwd=wt)
    hook(r, "claude", "", cwd=wt)
    hook(r, "claude", json.dumps([1, 2]), cwd=wt)
    hook(r, "codex-notify", {"type": "agent-turn-complete", "cwd": str(tmp_path)})  # not an orch repository
    hook(r, "codex", {"hook_event_name": "Stop", "cwd": "/no/such/dir"}, cwd=tmp_path)
    log = (r.root / ".orch" / "logs" / "hook.log").read_text()
    assert "not a JSON object" in log
    events = r.root / ".orch" / "hooks" / "events.jsonl"
    assert not events.exists() or events.read_text() == ""
    # The events file is orch's alone: 0600.
    hook(r, "claude", {"hook_event_name": "SessionStart", "cwd": str(wt), "session_id": "x", "source": "startup"})
    assert oct(events.stat().st_mode & 0o777) == "0o600"
    # A tick ingests it and later ones do not ingest it again.
    r.orch("tick")
    r.orch("tick")
    assert r.report_json()["health"]["problems"] == []


def test_hooks_install_claude_merges_backs_up_and_is_idempotent(repo):
    r = repo
    settings = Path(r.env["CLAUDE_CONFIG_DIR"]) / "settings.json"
    settings.parent.mkdir(parents=True)
    mine = {"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}}
    settings.write_text(json.dumps(mine))
    shown = r.orch("hooks", "install", "claude", "--print").stdout
    assert "+" in shown and json.loads(settings.read_text()) == mine  # --print writes nothing
    first = r.orch("hooks", "install", "claude").stdout
    assert "backup:" in first
    data = json.loads(settings.read_text())
    assert data["model"] == "opus"
    stop_cmds = [h["command"] for g in data["hooks"]["Stop"] for h in g["hooks"]]
    assert "say done" in stop_cmds and sum("hook claude" in c for c in stop_cmds) == 1
    assert data["hooks"]["Notification"][0]["matcher"] == "permission_prompt|idle_prompt|elicitation_dialog"
    assert "already installed" in r.orch("hooks", "install", "claude").stdout
    assert json.loads(settings.read_text()) == data
    assert len(list(settings.parent.glob("settings.json.orch-backup-*"))) == 1


def test_hooks_install_codex_keeps_comments_and_existing_notify(repo):
    r = repo
    home = Path(r.env["CODEX_HOME"])
    home.mkdir(parents=True)
    cfg = home / "config.toml"
    cfg.write_text('# my settings\nmodel = "gpt-5.3-codex"\n\n[features]\n# experimental\nweb_search = true\n')
    r.orch("hooks", "install", "codex")
    text = cfg.read_text()
    assert "# my settings" in text and "# experimental" in text
    data = tomllib.loads(text)
    assert data["notify"][1:] == ["hook", "codex-notify"] and data["features"] == {"web_search": True, "hooks": True}
    hooks = json.loads((home / "hooks.json").read_text())["hooks"]
    assert set(hooks) == {"SessionStart", "UserPromptSubmit", "PermissionRequest", "Stop"}
    assert "already installed" in r.orch("hooks", "install", "codex").stdout

    cfg.write_text('notify = ["python3", "/home/me/notify.py"]\n')
    res = r.orch("hooks", "install", "codex")
    assert "left alone" in res.stdout
    assert tomllib.loads(cfg.read_text())["notify"] == ["python3", "/home/me/notify.py"]

    cfg.write_text("this is = = not toml")
    bad = r.orch("hooks", "install", "codex", check=False)
    assert bad.returncode == 2 and "not valid TOML" in bad.stderr and "Traceback" not in bad.stderr


def test_hook_log_rotation_loses_no_event(tmp_path):
    """A fully read, large events.jsonl is moved aside; a hook that still wrote to the old file is not lost."""
    from orchestrator.probes import appendlog as hookfile

    folder = tmp_path / "hooks"
    folder.mkdir()
    main = folder / "events.jsonl"

    def line(n: int) -> str:
        return json.dumps({"v": 1, "at": "2026-11-25T10:00:00Z", "agent": "claude", "event": f"E{n}"}) + "\n"

    main.write_text("".join(line(n) for n in range(15000)))  # well over hookfile.ROTATE_AT
    health: dict = {}
    got, cur = hookfile.read_new(folder, {}, health, rotate=True)
    assert len(got) == 15000 and cur["offset"] == main.stat().st_size
    with open(main, "a") as f:  # a hook writes while the last tick's cursor is committed...
        f.write(line(15000))
    got, cur = hookfile.read_new(folder, cur, health, rotate=True)
    assert [g["event"] for g in got] == ["E15000"]  # not rotated: it had not been fully read
    got, cur = hookfile.read_new(folder, cur, health, rotate=True)  # fully read and large: rotate now
    assert got == [] and not main.exists() and (folder / "events.jsonl.1").exists()
    with open(folder / "events.jsonl.1", "a") as f:  # a straggler that had opened the old file
        f.write(line(15001))
    main.write_text(line(15002))  # and a new event in the new file
    got, cur = hookfile.read_new(folder, cur, health, rotate=True)
    assert [g["event"] for g in got] == ["E15001", "E15002"]
    assert health == {}
