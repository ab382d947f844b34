"""Exit codes as the docs give them: `orch review --exit-code` and ledger errors."""

from __future__ import annotations

import json


def test_review_exit_code_follows_the_verdict(repo):
    r = repo
    wt = r.worktree("w")
    r.commit(wt, "src/app.py", "print('hi')\n", "add app")
    r.dispatch("READY", "w", wt, "--allow", "src/**")
    assert r.orch("review", "READY", "--exit-code").returncode == 0
    r.dispatch("WARN", "w2", r.worktree("w2"), "--gate", "true")  # a gate never run: ready-with-warnings
    r.commit(r.base / "w2", "a.txt", "a\n", "a")
    proc = r.orch("review", "WARN", "--exit-code", "--json", check=False)
    assert json.loads(proc.stdout)["verdict"] == "ready-with-warnings" and proc.returncode == 1
    r.dispatch("LATER", "feat/later")  # no worktree yet: blocked
    proc = r.orch("review", "LATER", "--exit-code", check=False)
    assert proc.returncode == 3 and proc.stdout.rstrip().splitlines()[-1].startswith("verdict: blocked")
    wt3 = r.worktree("w3")
    r.commit(wt3, "secrets/key", "x\n", "oops")
    r.dispatch("BAD", "w3", wt3, "--forbid", "secrets/**")
    proc = r.orch("review", "BAD", "--exit-code", "--json", check=False)
    assert json.loads(proc.stdout)["verdict"] == "needs-work" and proc.returncode == 3
    # without --exit-code the verdict never changes the exit code
    assert r.orch("review", "BAD").returncode == 0 and r.orch("review", "LATER").returncode == 0


def test_ledger_that_cannot_be_opened_exits_2(repo):
    """docs/commands.md: a ledger that cannot be opened (server down, not a database) is exit 2 with one line."""
    down = repo.orch("--db", "postgresql+psycopg://postgres@127.0.0.1:1/none", "status", check=False)
    assert down.returncode == 2 and down.stderr.startswith("orch: cannot open the ledger")
    assert len(down.stderr.strip().splitlines()) == 1
    (repo.root / ".orch" / "ledger.db").write_bytes(b"not a database" * 300)
    broken = repo.orch("task", "list", check=False)
    assert broken.returncode == 2 and "file is not a database" in broken.stderr


def test_db_current_json(repo):
    doc = repo.orch_json("db", "current")
    assert doc["kind"] == "db-current" and doc["revision"] in doc["heads"] and doc["url"].startswith("sqlite:///")
