"""Notifications: `notify_command` runs per transition with JSON on stdin and ORCH_* variables; never fatal."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

from orchestrator.integrations import notify
from orchestrator.settings import Settings


def transition(task: str, to: str = "waiting-input", **extra) -> dict:
    return {"task": task, "from": "working", "to": to, "reason": "waiting-approval",
            "next_action": "answer the worker", "evidence": "approval requested 2m ago",
            "at": "2026-11-24T08:00:00Z", "project": "demo", "report": "/x/.orch/reports/latest.md", **extra}


def test_notify_test_sends_json_and_env(repo, tmp_path):
    out = tmp_path / "notified"
    out.mkdir()
    repo.set_config(notify_command=f'cat > {out}/stdin.json && printf "%s|%s|%s" "$ORCH_TO" "$ORCH_TASK" '
                                   f'"$ORCH_REPORT" > {out}/env.txt && pwd > {out}/cwd.txt')
    doc = repo.orch_json("notify", "test")
    assert doc["kind"] == "notify-test" and doc["result"]["ok"] is True and doc["result"]["exit_code"] == 0
    sent = json.loads((out / "stdin.json").read_text())
    assert sent["to"] == "waiting-input" and sent["task"] == doc["transition"]["task"]
    assert sent["project"] == "repo" and sent["next_action"]
    to, task, report = (out / "env.txt").read_text().split("|")
    assert to == "waiting-input" and task == sent["task"]
    assert report == str(repo.root.resolve() / ".orch" / "reports" / "latest.md")
    assert (out / "cwd.txt").read_text().strip() == str(repo.root.resolve())
    human = repo.orch("notify", "test")
    assert human.stdout.startswith("Sent a test notification")


def test_notify_test_without_command(repo):
    proc = repo.orch("notify", "test", check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "notify_command" in proc.stderr


def test_failing_and_hanging_commands_are_logged_not_fatal(repo):
    log = repo.root / ".orch" / "logs" / "notify.log"
    repo.set_config(notify_command="echo 'bad webhook' >&2; exit 7")
    proc = repo.orch("notify", "test", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert "exit 7: bad webhook" in proc.stdout
    assert "exit=7" in log.read_text() and "bad webhook" in log.read_text()

    repo.set_config(notify_command="no-such-notifier-xyz --now")
    doc = json.loads(repo.orch("notify", "test", "--json", check=False).stdout)
    assert doc["result"]["exit_code"] == 127 and "not found" in doc["result"]["error"]

    repo.set_config(notify_command="sleep 30", notify_timeout="1s")
    started = time.monotonic()
    doc = json.loads(repo.orch("notify", "test", "--json", check=False).stdout)
    assert time.monotonic() - started < 15
    assert doc["result"]["timed_out"] is True and doc["result"]["ok"] is False
    lines = log.read_text().splitlines()
    assert len(lines) == 3 and "timed_out=true" in lines[-1]


def test_send_runs_the_command_per_transition(tmp_path):
    seen = tmp_path / "seen.txt"
    cfg = Settings(notify_command=f'printf "%s %s %s\\n" "$ORCH_TASK" "$ORCH_TO" "$ORCH_NEXT_ACTION" >> {seen}')
    log = tmp_path / "logs" / "notify.log"
    res = notify.send(cfg, [transition("t1"), transition("t2", to="stuck", next_action="nudge")], tmp_path, log)
    assert [r["ok"] for r in res] == [True, True] and [r["task"] for r in res] == ["t1", "t2"]
    assert set(res[0]) == {"task", "ok", "exit_code", "timed_out", "error"}
    assert seen.read_text().splitlines() == ["t1 waiting-input answer the worker", "t2 stuck nudge"]
    assert not log.exists()  # only failures are logged
    assert notify.send(Settings(), [transition("t1")], tmp_path, log) == []  # nothing configured


def test_send_batches_more_than_ten(tmp_path):
    got = tmp_path / "got.json"
    cfg = Settings(notify_command=f'cat > {got}; echo "$ORCH_TO $ORCH_COUNT" > {got}.env')
    many = [transition(f"t{i}", to="stuck" if i % 2 else "waiting-input") for i in range(12)]
    res = notify.send(cfg, many, tmp_path, tmp_path / "notify.log")
    assert len(res) == 1 and res[0]["ok"]
    doc = json.loads(got.read_text())
    assert [t["task"] for t in doc["transitions"]] == [f"t{i}" for i in range(12)]
    assert doc["count"] == 12 and "6 stuck" in doc["evidence"]
    assert Path(f"{got}.env").read_text().split() == ["summary", "12"]


def test_send_kills_the_whole_group_on_timeout(tmp_path):
    pidfile = tmp_path / "child.pid"
    cfg = Settings(notify_command=f"sleep 60 & echo $! > {pidfile}; wait", notify_timeout=timedelta(seconds=1))
    log = tmp_path / "notify.log"
    started = time.monotonic()
    (res,) = notify.send(cfg, [transition("t1")], tmp_path, log)
    assert time.monotonic() - started < 10
    assert res["timed_out"] and not res["ok"] and res["exit_code"] is None
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the background child of the notify command survived the timeout")
    assert "task=t1" in log.read_text() and "timed_out=true" in log.read_text()


def test_send_never_raises(tmp_path):
    log = tmp_path / "ro" / "notify.log"
    cfg = Settings(notify_command="exit 3", notify_timeout="not-a-duration")
    weird = [{"task": "t\x00x", "to": "blocked", "evidence": {"kind": "git", "lines": [1, 2]}, "at": None}]
    (res,) = notify.send(cfg, weird, tmp_path / "missing-dir", log)
    assert res["ok"] is False and res["error"]
    assert log.read_text().count("\n") == 1
    # A command that ignores a large stdin does not block.
    big = [transition("t1", evidence="x" * 200_000)]
    (res,) = notify.send(Settings(notify_command="true"), big, tmp_path, log)
    assert res["ok"]


def test_attention_only():
    changes = [{"task": "a", "from": "working", "to": "stuck"}, {"task": "b", "from": "stuck", "to": "working"},
               {"task": "c", "from": None, "to": "waiting-input"}, {"task": "d", "from": "finished", "to": "done"},
               {"task": "e", "from": "finished", "to": "reviewing"}, {"task": "f", "from": "stuck", "to": "stuck"}]
    assert [t["task"] for t in notify.attention_only(changes)] == ["a", "c"]


def test_a_tick_notifies_transitions_that_need_attention(repo, tmp_path):
    """The real path: a worker finishes, the next tick runs the command once with the transition."""
    r = repo
    sink = tmp_path / "sink"
    sink.mkdir()
    r.set_config(notify_command=f'cat > "{sink}/$ORCH_TASK-$ORCH_TO.json"')
    wt = r.worktree("w")
    r.dispatch("T1", "w", wt)
    r.orch("tick")  # setup → working: nothing worth a notification
    assert list(sink.iterdir()) == []
    r.commit(wt, "done.py", "ok = 1\n")
    r.orch("tick")
    files = sorted(p.name for p in sink.iterdir())
    assert files == ["T1-finished.json"]
    payload = json.loads((sink / "T1-finished.json").read_text())
    assert payload["task"] == "T1" and payload["from"] == "working" and payload["to"] == "finished"
    assert payload["next_action"] == "review" and "commits after base" in payload["evidence"]
    assert payload["report"].endswith(".orch/reports/latest.md")
    r.orch("tick")  # no new transition, no new notification
    assert sorted(p.name for p in sink.iterdir()) == ["T1-finished.json"]
    r.orch("tick", "--dry-run")
    assert sorted(p.name for p in sink.iterdir()) == ["T1-finished.json"]
