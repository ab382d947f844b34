"""Upgrades lose nothing: every revision's rows survive the upgrade to head, on SQLite and PostgreSQL.

The round trip walks Alembic's script directory, so a migration added later is covered without editing this
file: for each revision it builds a ledger with the real migrations, fills every table that exists there with
generated rows (values from the reflected column types, foreign keys pointing at real parent rows), upgrades
it to head with orch's own mechanism (`migrate.upgrade`) and compares every table row by row.

A migration that changes existing rows on purpose declares how, in its own file:

    def expected_data(data: dict[str, dict]) -> dict[str, dict]:
        '''{table: {primary key: {column: value}}} before this revision -> what it must be after.'''

The test applies the `expected_data` of every revision an upgrade passes through, in order, so it stays strict:
a row or a value that changes without being declared there fails it.
"""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from orchestrator.ledger import migrate
from orchestrator.ledger.engine import make_engine

from inprocess import cli

pytestmark = pytest.mark.faults

ROWS = 5  # rows per table: the last leaves every nullable column empty


def revisions() -> list[str]:
    """Every revision of the shipped script directory, oldest first."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def passed_through(start: str) -> list:
    """The revision scripts an upgrade from `start` to head applies, in order."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return list(reversed(list(script.iterate_revisions("heads", start))))


def build_at(engine: sa.Engine, rev: str) -> None:
    """A blank database brought to `rev` by the real migrations (nothing in it yet, so nothing to lose)."""
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), rev)


def reset(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")


def _value(table: sa.Table, col: sa.Column, i: int, ids: dict[str, list]) -> object:
    if col.foreign_keys:
        parent = next(iter(col.foreign_keys)).column.table.name
        return ids[parent][(i * 3) % len(ids[parent])]  # children spread over every parent row
    if col.primary_key:
        return i
    if col.nullable and i == ROWS:
        return None
    t = col.type
    if isinstance(t, sa.Boolean):
        return i % 2 == 0
    if isinstance(t, sa.Integer):
        return i * 7
    if isinstance(t, sa.DateTime):
        return datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc) + timedelta(hours=i, seconds=len(table.name))
    if isinstance(t, sa.JSON):
        return {"table": table.name, "n": i, "list": [i, "é", None], "nested": {"ok": True}}
    if isinstance(t, (sa.Float, sa.Numeric)):
        return i + 0.5
    if isinstance(t, sa.String):
        text = f"{col.name}-{table.name}-{i}"
        if isinstance(t, sa.Text) or t.length is None:
            return text + " — a longer text ✓\nsecond line"
        return text[-t.length:]
    raise AssertionError(f"no sample value for {table.name}.{col.name} ({t!r}): add one to tests/test_upgrade.py")


def fill(engine: sa.Engine) -> None:
    """Several rows in every table, each child row pointing at real parent rows."""
    md = sa.MetaData()
    with engine.begin() as conn:
        md.reflect(conn)
        ids: dict[str, list] = {}
        for table in md.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [{c.name: _value(table, c, i, ids) for c in table.columns} for i in range(1, ROWS + 1)]
            conn.execute(table.insert(), rows)
            pk = [c.name for c in table.primary_key.columns]
            ids[table.name] = [r[pk[0]] for r in rows]


def snapshot(engine: sa.Engine) -> dict[str, dict]:
    """{table: {primary key: {column: value}}} for every table but Alembic's own."""
    md = sa.MetaData()
    data: dict[str, dict] = {}
    with engine.connect() as conn:
        md.reflect(conn)
        for table in md.sorted_tables:
            if table.name == "alembic_version":
                continue
            pk = [c.name for c in table.primary_key.columns]
            data[table.name] = {tuple(row[k] for k in pk): dict(row)
                                for row in conn.execute(sa.select(table)).mappings()}
    return data


def assert_kept(expected: dict, after: dict, label: str) -> None:
    """Every expected table has the same rows, and their columns (those that existed before) the same values."""
    for name, rows in expected.items():
        assert name in after, f"{label} dropped the table {name}"
        assert sorted(after[name]) == sorted(rows), f"{label}: rows of {name} lost or added"
        for key, row in rows.items():
            got = {col: after[name][key].get(col) for col in row}
            assert got == row, f"{label}: {name} row {key} changed"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    """orch's own engine (SQLite: foreign keys on, WAL; PostgreSQL: its timeouts)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else f"sqlite:///{tmp_path / '0.db'}"
    eng = make_engine(url)
    yield eng
    eng.dispose()


def test_every_revision_upgrades_to_head_keeping_every_row(engine, tmp_path):
    revs = revisions()
    assert len(revs) >= 6 and revs[0] == "0001"
    checked = []
    for rev in revs[:-1]:
        if engine.dialect.name == "sqlite":  # a new file per revision (PostgreSQL: reset drops the schema)
            engine = make_engine(f"sqlite:///{tmp_path / f'{rev}.db'}")
        reset(engine)
        build_at(engine, rev)
        fill(engine)
        before = snapshot(engine)
        assert all(len(rows) == ROWS for rows in before.values()), rev
        expected = before
        for script in passed_through(rev):
            hook = getattr(script.module, "expected_data", None)
            if hook is not None:
                expected = hook(expected)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == revs[-1]
        assert_kept(expected, snapshot(engine), f"upgrading from {rev}")
        checked.append(rev)
    assert checked == revs[:-1]


def test_a_ledger_an_orch_before_0003_used_keeps_its_whole_history(any_repo, monkeypatch, capsys):
    """issue 18.1: dispatches, several ticks, a decision and an ack at revision 0002, then any current command."""
    r = any_repo

    def orch(*args) -> str:
        code, out, err = cli(monkeypatch, capsys, r, *args)
        assert code == 0, err
        orch.err = err
        return out

    for n in (1, 2):
        orch("dispatch", f"T{n}", "--branch", f"b{n}", "--worktree", r.worktree(f"w{n}", f"b{n}"))
    r.commit(r.base / "w1")
    orch("tick")
    r.commit(r.base / "w2")
    orch("tick")
    orch("tick")
    r.git("merge", "-q", "--no-edit", "b1")  # merged for real: `task set … merged` asks git
    orch("task", "set", "T1", "merged", "--note", "looked good")
    orch("ack", "--note", "read it")
    shown = json.loads(orch("task", "show", "T1", "--json", "--limit", "1000"))
    assert len(shown["history"]) >= 3 and len(shown["observations"]) == 3
    url = r.env.get("ORCH_DB") or f"sqlite:///{r.root / '.orch' / 'ledger.db'}"
    engine = make_engine(url)
    migrate.downgrade(engine, "0002")  # the ledger as an orch before 0003 left it
    old = snapshot(engine)
    assert len(old["events"]) >= 6 and len(old["observations"]) == 6
    engine.dispose()

    after = json.loads(orch("task", "show", "T1", "--json", "--limit", "1000"))  # migrates the ledger by itself
    assert after["history"] == shown["history"] and after["observations"] == shown["observations"]
    engine = make_engine(url)
    new = snapshot(engine)
    engine.dispose()
    assert_kept(old, new, "upgrading from 0002")
    if r.backend == "sqlite":
        copies = list((r.root / ".orch" / "backups").iterdir())
        assert len(copies) == 1 and copies[0].name.startswith("ledger-0002-")
        assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
        assert orch.err.count("\n") == 1 and f"to {copies[0]}" in orch.err
        kept = make_engine(f"sqlite:///{copies[0]}")
        assert migrate.current_revision(kept) == "0002" and snapshot(kept) == old  # the copy is the old ledger
        kept.dispose()
    else:
        assert orch.err == "" and not (r.root / ".orch" / "backups").exists()


def ledger_bytes(r) -> str:
    if r.backend == "postgres":
        engine = sa.create_engine(r.env["ORCH_DB"], poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            tables = sorted(conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                            .scalars())
        data = snapshot(engine)
        engine.dispose()
        return repr((tables, data))
    return hashlib.sha256((r.root / ".orch" / "ledger.db").read_bytes()).hexdigest()


def test_a_migration_that_cannot_keep_a_row_refuses_and_changes_nothing(any_repo, tmp_path, monkeypatch, capsys):
    """A (test) migration adds a uniqueness that two rows break: one line, exit 2, the ledger as it was."""
    import shutil

    from orchestrator.ledger import version
    from orchestrator.system.resources import data_dir

    r = any_repo
    head = version.HEAD  # the ledger's revision before the test migration
    for key in ("T1", "T2"):
        assert cli(monkeypatch, capsys, r, "dispatch", key, "--branch", f"b-{key}")[0] == 0
    engine = make_engine(r.env.get("ORCH_DB") or f"sqlite:///{r.root / '.orch' / 'ledger.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE tasks SET title = 'same'")
    engine.dispose()
    scripts = tmp_path / "alembic"
    shutil.copytree(data_dir("alembic"), scripts)
    (scripts / "versions" / "0999_refuse.py").write_text(
        "from alembic import op\n"
        f"revision, down_revision, branch_labels, depends_on = '0999_refuse', {version.HEAD!r}, None, None\n"
        "def upgrade():\n"
        "    with op.batch_alter_table('tasks') as batch:\n"
        "        batch.add_column(__import__('sqlalchemy').Column('later', __import__('sqlalchemy').Integer))\n"
        "    with op.batch_alter_table('tasks') as batch:\n"
        "        batch.create_unique_constraint('uq_tasks_title', ['title'])\n")
    real_config = migrate.alembic_config

    def config(connection=None):
        cfg = real_config(connection)
        cfg.set_main_option("script_location", str(scripts))
        return cfg

    monkeypatch.setattr(migrate, "alembic_config", config)
    monkeypatch.setattr(version, "HEAD", "0999_refuse")
    before = ledger_bytes(r)
    code, out, err = cli(monkeypatch, capsys, r, "task", "show", "T1")
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and lines[-1].startswith("orch: cannot upgrade the ledger ")
    assert f"from revision {head} to 0999_refuse" in lines[-1] and "nothing was changed" in lines[-1]
    assert "UNIQUE" in lines[-1].upper(), lines
    assert len(lines) == (2 if r.backend == "sqlite" else 1)  # SQLite: the copy's line first
    assert ledger_bytes(r) == before
    monkeypatch.undo()
    assert r.orch_json("task", "show", "T2")["task"]["title"] == "same"  # the real orch reads it as before


def test_db_current_shows_an_old_revision_and_changes_nothing(any_repo, monkeypatch, capsys):
    """Looking is not upgrading: `orch db current` on a ledger at 0008 says 0008, copies nothing, changes nothing;
    the next ordinary command upgrades it (with its copy first on SQLite)."""
    r = any_repo
    url = r.env.get("ORCH_DB") or f"sqlite:///{r.root / '.orch' / 'ledger.db'}"
    engine = make_engine(url)
    migrate.downgrade(engine, "0008_observation_runs")
    engine.dispose()
    before = ledger_bytes(r)
    code, out, err = cli(monkeypatch, capsys, r, "db", "current")
    assert code == 0 and "revision 0008_observation_runs (code head " in out and "`orch db upgrade`" in out, out
    assert err == "" and ledger_bytes(r) == before and not (r.root / ".orch" / "backups").exists()
    code, out, err = cli(monkeypatch, capsys, r, "db", "upgrade")
    assert code == 0 and "from revision 0008_observation_runs" in out
