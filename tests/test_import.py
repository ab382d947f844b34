"""`orch import codex-orchestrator`: a realistic ledger.json + events.jsonl imported into a real repository."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest


def write_fixture(repo, folder: Path) -> dict:
    """A .codex-orchestrator folder as its Go CLI leaves it: tasks in many statuses, one broken, messy events."""
    base = repo.git("rev-parse", "HEAD")
    wt1 = repo.worktree("wt-t1", "codex/t1")
    repo.commit(wt1, "src/search.py", "print('search')\n", "search")
    wt4 = repo.worktree("wt-t4", "codex/t4")
    repo.write(wt4, "notes.txt", "half done\n")  # a dirty tree: codex-orchestrator called this stale
    hist1 = [{"at": "2026-06-01T10:05:00+02:00", "type": "dispatch", "status": "active", "taskId": "T1",
              "note": "search by SKU"},
             {"at": "2026-06-01T11:00:00+02:00", "type": "observe", "status": "completed-unreviewed",
              "note": "commits after base"}]
    tasks = [
        {"id": "T1", "title": "Search by SKU", "packageId": "search", "threadId": "thread-1", "worktree": str(wt1),
         "branch": "codex/t1", "baseCommit": base, "status": "completed-unreviewed",
         "budget": {"maxRuntimeMinutes": 60}, "writeSet": {"allowed": ["src/**"], "forbidden": ["db/**"]},
         "gates": ["python -m pytest -q"], "evidence": {"expected": "tests", "labels": ["proxy"]},
         "lastObservation": {"at": "2026-06-01T11:00:00+02:00", "result": "completed-unreviewed"},
         "history": hist1},
        {"id": "T 2/login", "title": "Login fix", "pendingWorktreeId": "ab12", "worktree": "", "branch": "codex/t2",
         "status": "pending-setup", "history": [{"at": "2026-06-01T12:00:00Z", "type": "dispatch-record",
                                                  "status": "pending-setup", "pendingWorktreeId": "ab12"}]},
        {"id": "T3", "branch": "codex/t3", "worktree": str(repo.base / "gone-t3"), "baseCommit": base,
         "status": "cleanup-needed", "history": [{"at": "2026-06-01T13:00:00Z", "type": "decision", "status": "merged",
                                                  "note": "merged by hand"},
                                                 {"at": "2026-06-01T13:05:00Z", "type": "observe",
                                                  "status": "cleanup-needed"}]},
        {"id": "T4", "branch": "codex/t4", "worktree": str(wt4), "baseCommit": base,
         "status": "stale-needs-inspection", "history": []},
        {"id": "T5", "branch": "codex/t5", "status": "released"},
        {"id": "T6", "branch": "codex/t6", "status": "cleaned"},
        {"id": "T7", "branch": "codex/t7", "status": "rejected", "history": [{"at": "not a time", "type": "x"}]},
        {"id": "T8", "status": "active", "worktree": "/nowhere"},  # broken: no branch
        {"title": "no id at all", "branch": "codex/t9", "status": "active"},  # broken: no id
    ]
    ledger = {"version": 1, "projectRoot": str(repo.root), "defaultBranch": "main", "remote": "origin",
              "pushPolicy": "never", "dispatchMode": "drain", "dispatchNote": "finishing the sprint",
              "maxConcurrency": 3, "createdAt": "2026-06-01T09:00:00+02:00", "updatedAt": "2026-06-01T13:05:00Z",
              "tasks": tasks, "routineRuns": []}
    folder.mkdir(parents=True)
    (folder / "ledger.json").write_text(json.dumps(ledger, indent=2))
    lines = [json.dumps(hist1[0]),  # the same event as in history: imported once
             json.dumps({"at": "2026-06-01T11:30:00Z", "type": "note", "taskId": "T1", "note": "asked for tests"}),
             json.dumps({"at": "2026-06-01T11:35:00Z", "type": "heartbeat", "status": "review-needed"}),
             json.dumps({"at": "2026-06-01T11:40:00Z", "type": "run-mode", "status": "drain"}),
             json.dumps({"at": "2026-06-01T11:45:00Z", "type": "note", "taskId": "T8", "note": "broken task"}),
             "{not json", ""]
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    return ledger


def test_import_maps_tasks_statuses_and_history(any_repo):
    repo = any_repo
    folder = repo.base / "old" / ".codex-orchestrator"
    write_fixture(repo, folder)

    dry = repo.orch_json("import", "codex-orchestrator", folder, "--dry-run")
    assert dry["dry_run"] is True and len(dry["imported"]) == 7
    assert repo.orch_json("task", "list", "--all")["tasks"] == []  # nothing written

    doc = repo.orch_json("import", "codex-orchestrator", folder)
    assert doc["kind"] == "import"
    got = {r["original_id"]: r for r in doc["imported"]}
    assert set(got) == {"T1", "T 2/login", "T3", "T4", "T5", "T6", "T7"}
    assert got["T 2/login"]["id"] == "T-2-login"
    assert {(r["index"], r["reason"]) for r in doc["invalid"]} == {(8, "no branch"), (9, "no id")}
    assert doc["skipped"] == []
    assert doc["heartbeats_skipped"] == 1 and doc["bad_event_lines"] == 1 and doc["project_events"] == 1
    assert doc["settings"] == {"dispatch_mode": "drain", "dispatch_note": "finishing the sprint",
                               "max_concurrency": 3, "applied": False}
    assert got["T1"]["events"] == 3  # two history entries + one new events.jsonl line (the duplicate once)

    tasks = {t["id"]: t for t in repo.orch_json("task", "list", "--all")["tasks"]}
    assert {k: t["status"] for k, t in tasks.items()} == {
        "T1": "active", "T-2-login": "setup", "T3": "merged", "T4": "active", "T5": "merged", "T6": "cleaned",
        "T7": "rejected"}
    assert all(t["agent"] == "codex" and t["host"] == "test-host" for t in tasks.values())
    assert tasks["T1"]["package"] == "search" and tasks["T1"]["worktree"] == str((repo.base / "wt-t1").resolve())

    t1 = repo.orch_json("task", "show", "T1")
    assert t1["task"]["allow"] == ["src/**"] and t1["task"]["forbid"] == ["db/**"]
    assert t1["task"]["gates"] == ["python -m pytest -q"] and t1["task"]["thread_id"] == "thread-1"
    assert t1["task"]["created_at"] == "2026-06-01T08:05:00Z"
    assert t1["task"]["budget"] == {"max_runtime": "1h", "review_budget": None}  # budget{maxRuntimeMinutes}
    imported = [h for h in t1["history"] if h["kind"] == "imported"]
    assert [(h["at"], h["to"], h["reason"], h["note"]) for h in imported] == [
        ("2026-06-01T08:05:00Z", "active", "dispatch", "search by SKU"),
        ("2026-06-01T09:00:00Z", "completed-unreviewed", "observe", "commits after base"),
        ("2026-06-01T11:30:00Z", None, "note", "asked for tests")]
    t2 = repo.orch_json("task", "show", "T-2-login")
    assert t2["task"]["pending_id"] == "ab12" and t2["task"]["worktree"] is None

    # Re-importing is idempotent: everything is skipped, nothing is added.
    again = repo.orch_json("import", "codex-orchestrator", folder / "ledger.json")
    assert again["imported"] == [] and again["project_events"] == 0
    assert {r["id"]: r["reason"] for r in again["skipped"]} == {k: "already imported" for k in tasks}
    assert len(repo.orch_json("task", "show", "T1")["history"]) == len(t1["history"])

    # The imported tasks are ordinary orch tasks: a tick classifies them from git.
    repo.orch("tick")
    after = {t["id"]: t for t in repo.orch_json("task", "list", "--all")["tasks"]}
    assert after["T1"]["condition"] == "finished"
    assert after["T4"]["condition"] in ("working", "stuck")
    assert after["T3"]["status"] == "cleaned"  # merged, and nothing left on disk


def test_import_text_output_and_settings_on_request(repo):
    folder = repo.base / "co"
    folder.mkdir()
    (folder / "ledger.json").write_text(json.dumps({
        "version": 1, "dispatchMode": "paused", "maxConcurrency": 2,
        "tasks": [{"id": "A1", "branch": "codex/a1", "status": "pending-setup", "pendingWorktreeId": "9f3c"},
                  {"id": "A2", "status": "active"}]}))
    repo.dispatch("A1", "codex/other")  # a task dispatched by hand with the same id is never duplicated
    proc = repo.orch("import", "codex-orchestrator", folder, "--apply-settings")
    assert "Imported 0 task(s)" in proc.stdout
    assert "Skipped A1: a task with this id exists already (not imported)." in proc.stdout
    assert "Invalid task A2 (entry 2): no branch; not imported." in proc.stderr
    assert "Applied its settings: dispatch mode paused, max concurrency 2." in proc.stdout
    assert repo.orch_json("status")["mode"] == "paused"
    assert tomllib.loads((repo.root / ".orch" / "config.toml").read_text())["max_concurrency"] == 2


@pytest.mark.parametrize("content, message", [
    (None, "no such file or folder"),
    ("{\"version\": 1, \"tasks\": [", "not valid JSON (line 1"),
    ("{\"version\": 2, \"tasks\": []}", "unsupported ledger version 2"),
    ("{\"version\": 1, \"tasks\": {}}", "no \"tasks\" list"),
    ("[1, 2]", "expected a JSON object"),
])
def test_bad_ledger_files_are_one_line_and_exit_2(repo, content, message):
    path = repo.base / "bad" / "ledger.json"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    proc = repo.orch("import", "codex-orchestrator", path, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_a_folder_without_a_ledger_is_refused(repo):
    empty = repo.base / "empty"
    empty.mkdir()
    proc = repo.orch("import", "codex-orchestrator", empty, check=False)
    assert proc.returncode == 2 and "no ledger.json in this folder" in proc.stderr
