"""One world, every view: reports (md, json, html), `status`, `task list/show`, `sessions`, `package show/accept/pack`
say the same about each task: merged or not (classify/merged.py) and the agent's state, hooks included (classify/fuse.py)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import ORCH
from sessionlogs import ClaudeTranscript

# task -> (merged, condition, reason, agent state): the truth the world below is built to show
TRUTH = {
    "T1": (True, "cleanup-needed", "merged-leftovers", None),  # plain merge: the tick records it
    "T2": (True, "cleanup-needed", "merged-leftovers", None),  # squash merge of two commits
    "T3": (False, "finished", "committed-clean", None),  # commits, not merged
    "T4": (False, "waiting-input", "waiting-approval", "waiting-approval"),  # no commits; a permission hook
    "T5": (False, "finished-uncommitted", "turn-ended-uncommitted", "turn-ended"),  # a Stop hook, changes uncommitted
}


def hook(r, payload: dict, cwd: Path) -> None:
    proc = subprocess.run([ORCH, "hook", "claude"], cwd=cwd, env=r.env, input=json.dumps(payload), capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def build_world(r) -> None:
    r.orch("package", "add", "search", "--goal", "Search by SKU")
    wts = {}
    for key in TRUTH:
        wts[key] = r.worktree(key.lower())
        r.dispatch(key, key.lower(), wts[key], "--package", "search", *(["--agent", "claude"] if key in ("T4", "T5") else []))
    r.commit(wts["T1"], "one.txt", "1\n", "T1")
    r.commit(wts["T2"], "two.txt", "2\n", "T2 a")
    r.commit(wts["T2"], "two.txt", "2\n22\n", "T2 b")
    r.commit(wts["T3"], "three.txt", "3\n", "T3")
    r.git("merge", "--no-ff", "-q", "-m", "merge T1", "t1")
    r.git("merge", "--squash", "-q", "t2")
    r.git("commit", "-q", "-m", "T2 squashed")
    claude = Path(r.env["CLAUDE_CONFIG_DIR"])
    for key, event in (("T4", {"hook_event_name": "PermissionRequest", "tool_name": "Bash",
                                "tool_input": {"command": "rm -rf build"}}),
                       ("T5", {"hook_event_name": "Stop", "stop_hook_active": False, "last_assistant_message": "done"})):
        log = ClaudeTranscript(claude, wts[key])
        log.prompt()
        log.tool_use("Bash")
        if key == "T5":
            r.write(wts[key], "five.txt", "uncommitted\n")
        hook(r, {"session_id": log.id, "transcript_path": str(log.path), "cwd": str(wts[key]),
                 "permission_mode": "default", **event}, wts[key])


def test_every_view_tells_the_same_story(repo, tmp_path):
    r = repo
    build_world(r)
    r.orch("tick")
    merged = {k: v[0] for k, v in TRUTH.items()}
    conditions = {k: (v[1], v[2]) for k, v in TRUTH.items()}
    agents = {k: v[3] for k, v in TRUTH.items()}

    def check(name: str, tasks: list[dict]) -> None:
        by = {t["id"]: t for t in tasks}
        keys = [k for k in TRUTH if k in by]
        assert keys and {k: by[k]["merged"] for k in keys} == {k: merged[k] for k in keys}, name
        assert {k: (by[k]["condition"], by[k]["reason"]) for k in keys} == {k: conditions[k] for k in keys}, name
        assert {k: by[k]["agent_state"] for k in keys} == {k: agents[k] for k in keys}, name

    assert {t["id"] for t in r.report_json()["tasks"]} == set(TRUTH)
    check("latest.json", r.report_json()["tasks"])
    check("status --json", r.orch_json("status")["tasks"])
    check("task list --json", r.orch_json("task", "list")["tasks"])
    for key in TRUTH:
        shown = r.orch_json("task", "show", key)
        check(f"task show {key}", [shown["task"]])
        assert [s["state"] for s in shown["sessions"]] == ([agents[key]] if agents[key] else [])

    # `orch sessions`: each worker session's state is the task's agent state (the hooks included)
    sessions = {s["task"]: s["state"] for s in r.orch_json("sessions")["sessions"] if s["task"]}
    assert sessions == {k: a for k, a in agents.items() if a}

    # the Markdown and HTML reports: the same condition and reason; merged tasks are merged by status
    md = r.report()
    for key, (cond, reason) in conditions.items():
        assert re.search(rf"\*\*{key}\*\* {re.escape(cond)} \({re.escape(reason)}\)", md), (key, md)
    html = (r.root / ".orch" / "reports" / "latest.html").read_text()
    table = html.split("<h2>All tasks</h2>", 1)[1].split("</table>", 1)[0]
    rows = {m[0]: m for m in re.findall(r'<tr><td[^>]*><code[^>]*>(T\d)</code>.*?data-label="status">(\w+)</td>\s*'
                                         r'<td[^>]*><span class="pill ([\w-]+)"', table, flags=re.S)}
    assert {k: rows[k][1] == "merged" for k in TRUTH} == merged
    assert {k: rows[k][2] for k in TRUTH} == {k: c for k, (c, _) in conditions.items()}

    # packages: show, accept and the review pack
    groups = r.orch_json("package", "show", "search")["package"]["tasks"]
    assert sorted(groups.get("merged", [])) == [k for k in TRUTH if merged[k]]
    accept = r.orch_json("package", "accept", "search")
    assert {t["task"]: t["merged"] for t in accept["tasks"]} == merged
    text = r.orch("package", "accept", "search").stdout
    for key in TRUTH:
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{key}:"))
        assert line.strip().startswith(f"{key}: merged") == merged[key], line
    assert "T4: merged" not in text  # a branch with no commits is not merged, whatever its review says
    r.orch("package", "pack", "search", "--out", tmp_path / "pack")
    pack = json.loads((tmp_path / "pack" / "pack.json").read_text())
    assert {t["task"]: t["merged"] for t in pack["tasks"]} == merged
    readme = (tmp_path / "pack" / "README.md").read_text()
    for key in TRUTH:
        section = readme.split(f"### {key}", 1)[1].split("###", 1)[0]
        assert f"merged: {'yes' if merged[key] else 'no'}" in section, section
    assert "- tasks: 5; merged: 2" in readme
