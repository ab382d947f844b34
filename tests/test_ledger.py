"""The ledger file itself: 0600, WAL, migrations shipped in the wheel and applied automatically."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sqlite_ledger_is_private_and_in_wal_mode(repo):
    ledger = repo.root / ".orch" / "ledger.db"
    assert ledger.stat().st_mode & 0o777 == 0o600
    repo.orch("tick")
    assert ledger.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"projects", "tasks", "ticks", "observations", "events", "alembic_version"} <= tables


def test_init_is_idempotent_and_keeps_state_out_of_git_status(repo):
    wt = repo.worktree("w")
    repo.dispatch("T1", "w", wt)
    again = repo.orch("init")
    assert "Already set up" in again.stdout
    assert [t["id"] for t in repo.orch_json("task", "list")["tasks"]] == ["T1"]
    exclude = (repo.root / ".git" / "info" / "exclude").read_text()
    assert exclude.count("/.orch/") == 1
    assert repo.git("status", "--porcelain") == ""


def test_same_commands_on_postgres(any_repo):
    r = any_repo
    wt = r.worktree("w")
    r.commit(wt, "x.py", "1\n")
    r.dispatch("T1", "w", wt, "--allow", "src/**", "--gate", "true")
    r.orch("tick")
    r.orch("ack", "--note", "seen")
    r.orch("task", "set", "T1", "reviewing")
    shown = r.orch_json("task", "show", "T1")
    assert shown["task"]["condition"] == "reviewing"
    assert shown["task"]["allow"] == ["src/**"]
    assert r.orch_json("db", "current")["revision"] == r.orch_json("db", "current")["heads"][0]
    assert r.orch_json("status")["tasks"][0]["id"] == "T1"


def test_wheel_ships_migrations_templates_and_skill(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("orch-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("orchestrator/_data/alembic/env.py", "orchestrator/_data/alembic/script.py.mako",
                   "orchestrator/_data/alembic/versions/0001_initial_ledger.py",
                   "orchestrator/_data/reports/latest.md.jinja", "orchestrator/_data/reports/latest.html.jinja",
                   "orchestrator/_data/skill/SKILL.md"):
        assert needed in names, needed
    # The unpacked wheel alone (no source checkout) migrates a fresh ledger.
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    code = ("import sys; from orchestrator.system.resources import data_dir; from orchestrator.ledger import migrate;"
            "from orchestrator.ledger.engine import make_engine;"
            f"assert str(data_dir('alembic')).startswith({str(unpacked)!r}), data_dir('alembic');"
            f"e = make_engine('sqlite:///{tmp_path}/l.db'); migrate.upgrade(e);"
            "print(migrate.current_revision(e))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(unpacked)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_fast_schema_check_names_alembics_real_head():
    """Most commands check the revision with plain SQL against a constant: it must be Alembic's head."""
    from orchestrator.ledger import migrate
    from orchestrator.ledger import version

    assert migrate.code_heads() == {version.HEAD}


def test_an_older_ledger_is_migrated_automatically(any_repo):
    """A ledger left at revision 0001 by an older orch is upgraded by the next command, data intact."""
    from alembic import command
    from sqlalchemy import create_engine

    from orchestrator.ledger import migrate, version

    r = any_repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.orch("tick")
    url = r.env.get("ORCH_DB") or f"sqlite:///{r.root / '.orch' / 'ledger.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0001")
    engine.dispose()
    assert r.orch_json("db", "current")["revision"] == "0001"  # looking is not upgrading
    assert r.orch_json("task", "show", "T")["task"]["status"] == "active"
    assert r.orch_json("db", "current")["revision"] == version.HEAD  # the ordinary command upgraded it
    r.orch("tick")
