"""The status cache makes `orch status` and `orch task list` fast, and never wrong."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ORCH

CACHE = (".orch", "cache", "status.json")


def _setup(repo):
    r = repo
    wt = r.worktree("w1", "feat/one")
    r.commit(wt)
    r.dispatch("T1", "feat/one", wt)
    r.dispatch("T2", "feat/two")
    r.orch("tick")
    return r


def _stable(doc: dict) -> dict:
    """A status document without the fields that move with the clock between two runs."""
    doc = json.loads(json.dumps(doc))
    doc.pop("generated_at", None)
    doc["health"].pop("gap_seconds", None)
    for t in doc["tasks"] + doc["act_now"]:
        t.pop("for", None)
    return doc


def test_cached_status_equals_the_full_path(repo):
    r = _setup(repo)
    cache = r.root.joinpath(*CACHE)
    assert cache.is_file() and (cache.stat().st_mode & 0o777) == 0o600
    cached = r.orch_json("status")
    cache.unlink()  # the next command must read the ledger itself
    full = r.orch_json("status")
    assert _stable(cached) == _stable(full)
    assert cache.is_file()  # and the full path saved the cache again
    assert r.orch_json("task", "list") == r.orch_json("task", "list")


def test_every_write_refreshes_the_cache(repo):
    r = _setup(repo)
    r.orch("task", "set", "T1", "reviewing", "--note", "looking")
    assert {t["id"]: t["status"] for t in r.orch_json("task", "list")["tasks"]}["T1"] == "reviewing"
    r.orch("ack")
    assert r.orch_json("status")["since_last_ack"] == []
    r.orch("mode", "drain")
    assert r.orch_json("status")["mode"] == "drain"


def test_a_stale_cache_is_never_used(repo):
    """A cache left behind (say a crash between the commit and saving the cache) is not believed."""
    r = _setup(repo)
    cache = r.root.joinpath(*CACHE)
    old = cache.read_bytes()
    r.orch("task", "set", "T1", "abandoned", "--note", "gone")
    cache.write_bytes(old)  # the cache as it was before the decision
    tasks = {t["id"]: t["status"] for t in r.orch_json("task", "list")["tasks"]}
    assert tasks["T1"] == "abandoned"
    assert r.orch_json("status")["tasks"][0]["status"] == "abandoned"


def test_a_broken_cache_file_is_skipped(repo):
    r = _setup(repo)
    cache = r.root.joinpath(*CACHE)
    cache.write_text("{not json")
    assert r.orch_json("status")["tasks"][0]["id"] == "T1"
    assert json.loads(cache.read_text())["facts"]["tasks"][0]["key"] == "T1"


def _imports(r, *args) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", ORCH, *args], cwd=r.root, env=r.env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def test_fast_commands_import_what_they_need(repo):
    """Start-up counts: help, version, and a status answered from the cache load no ORM at all."""
    r = _setup(repo)
    for args in (["--help"], ["--version"], ["task", "--help"], ["status"], ["task", "list"], ["status", "--json"]):
        loaded = _imports(r, *args)
        assert "sqlalchemy" not in loaded, args
    # issue 22: `task show` reads a current SQLite ledger with sqlite3 (ledger/taskread.py); a ledger that needs
    # a migration or a PostgreSQL one still takes the full path (tests/test_ledger_growth.py covers both).
    assert "sqlalchemy" not in _imports(r, "task", "show", "T1")


def test_postgres_ledger_takes_the_full_path(any_repo):
    r = _setup(any_repo)
    r.orch("task", "set", "T1", "reviewing")
    assert r.orch_json("status")["tasks"][0]["status"] == "reviewing"
    if r.backend == "postgres":
        assert not r.root.joinpath(*CACHE).exists()
