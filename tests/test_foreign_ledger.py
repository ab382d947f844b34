"""Databases that are not orch's ledger are left alone, and every ledger error names the ledger and the next step."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from inprocess import cli

pytestmark = pytest.mark.faults

COMMANDS = (("status",), ("tick",), ("task", "list"), ("db", "current"), ("db", "upgrade"))


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fresh_ledger(r):
    """`.orch/ledger.db` gone (with its WAL files): the test puts something else there."""
    db = r.root / ".orch" / "ledger.db"
    cache = r.root / ".orch" / "cache" / "status.json"
    for name in (db, db.with_name("ledger.db-wal"), db.with_name("ledger.db-shm"), cache):
        name.unlink(missing_ok=True)
    return db


def refused(monkeypatch, capsys, r, args, *words) -> str:
    code, out, err = cli(monkeypatch, capsys, r, *args)
    assert code == 2 and out == "", (args, out, err)
    assert len(err.strip().splitlines()) == 1, (args, err)
    for word in words:
        assert word in err, (args, err)
    return err


def test_an_empty_file_and_another_apps_sqlite_file_are_left_alone(repo, monkeypatch, capsys):
    db = fresh_ledger(repo)
    db.write_bytes(b"")
    for args in COMMANDS:
        refused(monkeypatch, capsys, repo, args, f"{db} is empty, not an orch ledger", "orch init")
    assert db.read_bytes() == b"" and sorted(os.listdir(db.parent)).count("ledger.db-wal") == 0

    other = sqlite3.connect(db)  # another application's file, in the default (rollback) journal mode
    other.executescript("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'ann');")
    other.close()
    os.chmod(db, 0o644)
    before = digest(db)
    for args in COMMANDS + (("init",), ("doctor",)):
        if args == ("doctor",):
            code, out, _ = cli(monkeypatch, capsys, repo, *args)
            assert code != 0 and f"{db} is not an orch ledger" in out
            continue
        refused(monkeypatch, capsys, repo, args, f"{db} is not an orch ledger", "users", "--db/ORCH_DB")
    assert digest(db) == before and (db.stat().st_mode & 0o777) == 0o644
    assert not db.with_name("ledger.db-wal").exists()

    fresh_ledger(repo).write_bytes(b"")
    assert cli(monkeypatch, capsys, repo, "init")[0] == 0  # `orch init` makes an empty file a ledger
    assert cli(monkeypatch, capsys, repo, "db", "current")[0] == 0


def test_a_postgres_database_with_other_tables_is_left_alone(bare_repo, pg_url, monkeypatch, capsys):
    r = bare_repo
    r.env["ORCH_DB"] = pg_url
    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)

    def tables() -> list[str]:
        with engine.connect() as conn:
            return sorted(conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars())

    (r.root / ".orch").mkdir()
    (r.root / ".orch" / "config.toml").write_text('project = "repo"\ndefault_branch = "main"\n')
    refused(monkeypatch, capsys, r, ("status",), "is empty, not an orch ledger", "orch init")
    assert tables() == []
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id serial PRIMARY KEY, total int)")
    for args in (("init",), ("status",), ("db", "current"), ("db", "upgrade"), ("tick",)):
        refused(monkeypatch, capsys, r, args, "postgresql+psycopg://postgres@127.0.0.1:5432/",
                "is not an orch ledger", "invoices")
    assert tables() == ["invoices"]
    engine.dispose()


def test_a_damaged_ledger_names_the_newest_copy_and_how_to_restore_it(repo, monkeypatch, capsys):
    from orchestrator.ledger import backup

    repo.dispatch("T1", "b1")
    db = repo.root / ".orch" / "ledger.db"
    state = repo.root / ".orch"
    backup.take(db, state, "0007_history", datetime(2026, 1, 1, tzinfo=timezone.utc))
    newest = backup.take(db, state, "0007_history", datetime(2026, 1, 2, tzinfo=timezone.utc))
    raw = bytearray(db.read_bytes())
    raw[:16] = b"not sqlite at all"[:16]
    db.write_bytes(bytes(raw))
    err = refused(monkeypatch, capsys, repo, ("task", "list"), f"the ledger {db} is damaged", str(newest))
    restore = err.split("restore the newest copy: ", 1)[1].split(" (docs/", 1)[0]
    subprocess.run(restore, shell=True, check=True, cwd=repo.root)  # the line's own command, as a person would
    code, out, _ = cli(monkeypatch, capsys, repo, "task", "list")
    assert code == 0 and "T1" in out


def test_a_ledger_newer_than_the_code_says_upgrade_orch(repo, monkeypatch, capsys):
    db = repo.root / ".orch" / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_future'")
    before = digest(db)
    refused(monkeypatch, capsys, repo, ("status",), f"the ledger {db} is at revision 0999_future",
            "newer than this orch", "upgrade orch")
    assert digest(db) == before


def test_backups_are_private_never_followed_and_the_newest_five_are_kept(tmp_path):
    from orchestrator.errors import UserError
    from orchestrator.ledger import backup

    db = tmp_path / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
    state = tmp_path / "state"
    made = [backup.take(db, state, "0002", datetime(2026, 1, day, tzinfo=timezone.utc)) for day in range(1, 8)]
    assert backup.copies(state) == made[-backup.KEEP:] and backup.newest(state) == made[-1]
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in made[-backup.KEEP:])
    assert (state / "backups").stat().st_mode & 0o777 == 0o700
    with sqlite3.connect(made[-1]) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "backups").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(UserError, match="symbolic link"):
        backup.take(db, linked, "0002", datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert not (tmp_path / "elsewhere").exists()


def _mount_tmpfs(where, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    where.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def test_a_full_disk_is_named_as_such(bare_repo, tmp_path):
    """A ledger on a full file system says "no space left on device", not "disk I/O error", and loses nothing.

    As root the ledger lives on a real 2 MiB tmpfs that the test fills up; elsewhere (no mount allowed) the
    same writes hit a file size limit (RLIMIT_FSIZE, what `ulimit -f` sets), which orch names as such."""
    import resource
    import signal

    from conftest import ORCH

    r = bare_repo
    disk = tmp_path / "disk"
    mounted = _mount_tmpfs(disk, "2m")
    if not mounted:
        disk.mkdir()
    try:
        r.env["ORCH_DB"] = f"sqlite:///{disk / 'ledger.db'}"
        r.orch("init")
        r.dispatch("T1", "b1")
        size = (disk / "ledger.db").stat().st_size
        limit = None
        if mounted:
            fd = os.open(disk / "filler", os.O_CREAT | os.O_WRONLY, 0o600)
            try:
                while os.write(fd, b"\0" * 4096):
                    pass
            except OSError:
                pass  # the file system is full: give back a little, so that the ledger still opens and the
            finally:  # next writes run out of room half-way through
                os.ftruncate(fd, max(0, os.fstat(fd).st_size - 96 * 1024))
                os.close(fd)
        else:
            limit = size + 4096

        def limited():
            if limit is not None:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        def orch(*args):
            return subprocess.run([ORCH, *args], cwd=r.root, env=r.env, capture_output=True, text=True,
                                  preexec_fn=limited, timeout=120)

        big = "x" * 1900
        failed = None
        for n in range(2, 60):  # each dispatch adds a row; the disk (or the limit) runs out on the way
            res = orch("dispatch", f"T{n}", "--branch", f"b{n}", "--title", big)
            if res.returncode != 0:
                failed = res
                break
        assert failed is not None, "the ledger never ran out of room"
        line = failed.stderr.strip()
        assert len(line.splitlines()) == 1 and f"cannot write the ledger {disk / 'ledger.db'}" in line, line
        assert ("no space left on device" if mounted else "file size limit reached") in line, line
        assert "disk I/O error" not in line
        if mounted:
            (disk / "filler").unlink()
        limit = None
        listed = r.orch_json("task", "list")  # every dispatch that said yes is there, the one that failed is not
        assert sorted(t["id"] for t in listed["tasks"]) == sorted(f"T{i}" for i in range(1, n)), listed
        with sqlite3.connect(disk / "ledger.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)
