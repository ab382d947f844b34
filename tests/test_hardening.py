"""Hardening: concurrent dispatch, redaction at every output edge, control characters, input limits, small things."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ORCH


def run_many(r, argvs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Start every command at once (real processes), wait for all."""
    procs = [subprocess.Popen([ORCH, *a], cwd=r.root, env=r.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for a in argvs]
    out = []
    for p in procs:
        so, se = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, so, se))
    return out


# --- 3. concurrent dispatch -------------------------------------------------------------------------------------

def test_concurrent_dispatches_of_one_id_and_of_one_branch(any_repo):
    r = any_repo
    same_id = run_many(r, [["dispatch", "dup", "--branch", f"b{i}"] for i in range(6)])
    codes = sorted(p.returncode for p in same_id)
    assert codes == [0, 2, 2, 2, 2, 2], [(p.returncode, p.stderr) for p in same_id]
    for p in same_id:
        if p.returncode:
            assert p.stderr.strip().splitlines() == [p.stderr.strip()]  # one line
            assert "already exists" in p.stderr and "Traceback" not in p.stderr
    same_branch = run_many(r, [["dispatch", f"t{i}", "--branch", "shared"] for i in range(6)])
    assert sorted(p.returncode for p in same_branch) == [0, 2, 2, 2, 2, 2], [p.stderr for p in same_branch]
    for p in same_branch:
        if p.returncode:
            assert "belongs to" in p.stderr and "Traceback" not in p.stderr
    owners = [t for t in r.orch_json("task", "list")["tasks"] if t["branch"] == "shared"]
    assert len(owners) == 1
    # once that task is closed, the branch is free again; re-opening the old one then is refused
    r.orch("task", "set", owners[0]["id"], "abandoned")
    r.orch("dispatch", "again", "--branch", "shared")
    back = r.orch("task", "set", owners[0]["id"], "active", check=False)
    assert back.returncode == 2 and "belongs to open task 'again'" in back.stderr


# --- 6. redaction of common secret formats -----------------------------------------------------------------------

SECRETS = {
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "quoted assignment": 'DB_PASSWORD="correct horse battery"',
    "password option": "--password s3cr3tvalue",
    "hugging face": "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "gitlab": "glpat-" + "xYz123AbC456dEf789gH",
    "slack webhook": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "github": "ghp_" + "0123456789abcdefghijABCDEFGHIJ012345",
    "aws": "AKIA" + "IOSFODNN7EXAMPLE",
    "url password": "postgresql://app:Sup3rS3cret@db.example.com/prod",
    "bearer": "Authorization: Bearer abcdef0123456789ghij",
}
HIDDEN = {"stripe": "4eC39HqLyjWDarjtT1zdp7dc", "quoted assignment": "correct horse battery",
          "password option": "s3cr3tvalue", "hugging face": "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
          "gitlab": "xYz123AbC456dEf789gH", "slack webhook": "XXXXXXXXXXXXXXXXXXXXXXXX",
          "github": "0123456789abcdefghijABCDEFGHIJ012345", "aws": "IOSFODNN7EXAMPLE", "url password": "Sup3rS3cret",
          "bearer": "abcdef0123456789ghij"}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_secret_format_is_redacted(kind):
    from orchestrator.redact import redact

    out = redact(f"before {SECRETS[kind]} after")
    assert HIDDEN[kind] not in out and "[redacted]" in out and out.startswith("before ") and out.endswith(" after")


# Ordinary lines that workers, gates and orch itself print: none may lose a word to the redactor.
HARMLESS = [
    "codex 019a2b3c-4d5e 163,946 tokens: AskUserQuestion asked the user which flow to keep",
    "usage: input_tokens: 5821, cached_input_tokens: 4096, output_tokens: 312, total_tokens: 10229",
    '{"type":"token_count","info":{"total_token_usage":{"input_tokens": 5821, "output_tokens": 312}}}',
    "max_tokens=4096 temperature=0.2",
    "12 tokens: the prompt was short",
    "Implement the password reset flow (send a reset link by email)",
    "Add an api_key parameter to Client.__init__ and document it",
    "def connect(api_key: str, token: Optional[str] = None) -> Session:",
    "refresh_token: expired, asking the user to log in again",
    "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    "password: <your password>",
    "secrets: none found in the diff",
    "Use basic authentication for the admin endpoint; Bearer tokens elsewhere",
    "git: commits after base (HEAD b2ef6d069a1c4e5f8d7a6b5c4d3e2f1a0b9c8d7e)",
    "merged 3f9c2a1 into main; base 8c1d0e2f4b6a",
    "session 019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b resumed",
    "/home/ana/.codex/sessions/2026/05/01/rollout-2026-05-01T10-00-00-019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b.jsonl",
    "src/auth/token_store.py:42: def refresh_token(self) -> str:",
    "tests/test_secrets.py::test_rotate PASSED",
    "pytest -q tests/search: 48 passed in 3.21s",
    "on feat/coupons-v2, expected feat/coupons",
]


@pytest.mark.parametrize("line", HARMLESS)
def test_ordinary_lines_survive_redaction(line):
    from orchestrator.redact import redact

    assert redact(line) == line


def test_secrets_next_to_ordinary_words_are_still_redacted():
    from orchestrator.redact import redact

    for text, hidden in [("password: hunter2", "hunter2"), ("API_TOKEN=abcd1234efgh", "abcd1234efgh"),
                         ("token: ghx9Q2mP7vL4kR8s", "ghx9Q2mP7vL4kR8s"), ('"secrets": "aK9pQ2xZ7mN4"', "aK9pQ2xZ7mN4"),
                         ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
                         ("password=correcthorse", "correcthorse"), ("tokens=abcd1234efgh", "abcd1234efgh")]:
        assert hidden not in redact(text) and "[redacted]" in redact(text), text


def test_secrets_printed_by_a_gate_are_redacted_when_stored_and_shown(repo):
    r = repo
    wt = r.worktree("g")
    r.commit(wt, "f.txt", "x\n")
    script = r.base / "leaky.sh"
    script.write_text("".join(f"echo '{v}'\n" for v in SECRETS.values()))
    r.dispatch("g", "g", wt, "--gate", f"sh {script}")
    shown = r.orch("review", "g", "--run-gates", "--json", check=False).stdout
    again = r.orch("review", "g", "--json", check=False).stdout  # what was stored
    for kind, secret in HIDDEN.items():
        assert secret not in shown and secret not in again, kind


# --- 8. control characters never reach the terminal raw ----------------------------------------------------------

def test_escape_sequences_in_file_names_are_escaped_on_the_terminal(repo):
    r = repo
    wt = r.worktree("e")
    r.dispatch("e", "e", wt, "--title", "title\x1b]0;pwned\x07")
    r.write(wt, "esc\x1b[2Jname.txt", "x\n")
    r.orch("tick")
    for argv in (["task", "list"], ["task", "show", "e"], ["review", "e"], ["status"], ["tick"]):
        proc = r.orch(*argv, check=False)
        assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr, argv
    assert "\\x1b[2Jname.txt" in r.orch("review", "e", check=False).stdout


# --- 9. input validation --------------------------------------------------------------------------------------

def one_line_exit_2(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return lines[0]


def test_bad_ids_durations_and_urls_are_one_line_exit_2(repo):
    r = repo
    assert "invalid task id" in one_line_exit_2(r.orch("dispatch", "T1\n", "--branch", "b", check=False))
    for url in ("sqlite:///", "postgresql+asyncpg://postgres@127.0.0.1/test"):
        assert "ledger URL" in one_line_exit_2(r.orch("status", check=False, env={"ORCH_DB": url}))
    r.set_config(git_timeout="999999d")
    assert "too long" in one_line_exit_2(r.orch("status", check=False))
    r.set_config(git_timeout="10s", history_keep=-5)
    assert "history_keep" in one_line_exit_2(r.orch("status", check=False))
    r.set_config(history_keep=200)
    r.orch("status")


def test_the_same_length_limits_on_both_ledgers(any_repo):
    r = any_repo
    long = "b" * 256
    assert "--branch is too long (256 characters; at most 255)" in one_line_exit_2(
        r.orch("dispatch", "L1", "--branch", long, check=False))
    assert "--thread-id is too long" in one_line_exit_2(
        r.orch("dispatch", "L2", "--branch", "ok", "--thread-id", "t" * 300, check=False))
    r.orch("dispatch", "L3", "--branch", "b" * 255, "--thread-id", "t" * 255)  # at the limit: fine on both


# --- 10. small things -------------------------------------------------------------------------------------------

def test_modes_are_explicit_under_umask_000(bare_repo):
    r = bare_repo
    import stat as st

    wrap = ["sh", "-c", 'umask 000 && exec "$@"', "sh", ORCH]
    run = lambda *a, **kw: subprocess.run([*wrap, *a], cwd=kw.get("cwd", r.root), env=r.env, capture_output=True,
                                          text=True, input=kw.get("input"), timeout=120)
    assert run("init").returncode == 0
    wt = r.worktree("u")
    assert run("dispatch", "u", "--branch", "u", "--worktree", str(wt)).returncode == 0
    run("hook", "claude", cwd=wt, input="not json")  # writes logs/hook.log
    run("hook", "claude", cwd=wt, input=json.dumps({"session_id": "s", "cwd": str(wt), "hook_event_name": "Stop"}))
    assert run("tick").returncode == 0
    state = r.root / ".orch"
    assert (state / "logs" / "hook.log").exists() and (state / "hooks" / "events.jsonl").exists()
    for p in [state, *state.rglob("*")]:
        mode = p.lstat().st_mode
        assert not mode & (st.S_IWGRP | st.S_IWOTH), f"{p} is {oct(mode & 0o777)}"
    assert ((state / "logs").stat().st_mode & 0o777) == 0o700
    assert ((state / "logs" / "hook.log").stat().st_mode & 0o777) == 0o600


def test_old_temp_orphans_in_reports_are_swept(repo):
    r = repo
    r.orch("tick")
    reports = r.root / ".orch" / "reports"
    old, fresh = reports / ".latest.md.abc123.tmp", reports / ".latest.json.def456.tmp"
    hist = reports / "history" / ".x-tick1.md.zzz.tmp"
    for p in (old, fresh, hist):
        p.write_text("half")
    os.utime(old, (1, 1))
    os.utime(hist, (1, 1))
    r.orch("tick")
    assert not old.exists() and not hist.exists() and fresh.exists()


def ro_mount(folder: Path, *argv: str) -> list[str]:
    """Run argv with `folder` mounted read-only in a private mount namespace (root ignores file modes)."""
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", *argv]


def test_a_read_only_state_folder_gives_the_real_reason(repo):
    r = repo
    r.orch("tick")
    probe = subprocess.run(ro_mount(r.root / ".orch", "true"), capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no private read-only mount here: {probe.stderr.strip()}")
    proc = subprocess.run(ro_mount(r.root / ".orch", ORCH, "status"), cwd=r.root, env=r.env, capture_output=True,
                          text=True, timeout=60)
    line = one_line_exit_2(proc)
    assert "cannot create" not in line and "Read-only file system" in line and "ledger.db" in line


def test_a_report_write_failure_after_commit_is_not_also_a_failed_tick(repo):
    r = repo
    r.orch("tick")
    latest = r.root / ".orch" / "reports" / "latest.json"
    latest.unlink()
    latest.mkdir()
    (latest / "keep").write_text("x")  # a folder in the way: the rename fails after the commit
    proc = r.orch("tick", check=False)
    assert proc.returncode == 1 and "the tick was recorded but its reports were not written" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    (latest / "keep").unlink()
    latest.rmdir()
    r.orch("tick")
    assert r.orch_json("status")["health"]["failed_ticks"] == 1
    import sqlite3

    with sqlite3.connect(r.root / ".orch" / "ledger.db") as conn:  # three runs, three tick rows: counted once
        assert conn.execute("SELECT outcome FROM ticks ORDER BY id").fetchall() == [("ok",), ("failed",), ("ok",)]


def test_review_writes_no_objects_into_the_repository(repo):
    r = repo
    wt = r.worktree("m")
    r.commit(wt, "a.txt", "a\n")
    r.commit(r.root, "b.txt", "b\n")  # main moved on: a real three-way merge is tested
    r.dispatch("m", "m", wt)
    objects = r.root / ".git" / "objects"
    before = sorted(p.relative_to(objects) for p in objects.rglob("*") if p.is_file())
    out = r.orch_json("review", "m", check=False)
    after = sorted(p.relative_to(objects) for p in objects.rglob("*") if p.is_file())
    assert after == before
    merge = next(i for i in out["items"] if i["id"] == "mergeability")
    assert merge["status"] == "pass", merge
