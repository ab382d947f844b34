"""The ledger grows with what happens, not with the clock: observation runs, upgrades that keep every fact,
and `orch db prune`, seen through real ticks on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text


def _url(r) -> str:
    return r.env.get("ORCH_DB") or f"sqlite:///{r.root / '.orch' / 'ledger.db'}"


def _rows(r, sql: str) -> list[tuple]:
    engine = create_engine(_url(r))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _count(r, table: str) -> int:
    return _rows(r, f"SELECT count(*) FROM {table}")[0][0]


def _shown(r, key: str = "T") -> list[tuple]:
    return [(o["tick"], o["condition"], o["reason"]) for o in r.orch_json("task", "show", key)["observations"]]


def test_quiet_ticks_extend_one_run_and_an_upgraded_ledger_keeps_every_fact(any_repo):
    from alembic import command

    from orchestrator.ledger import migrate, version

    r = any_repo
    wt = r.worktree("w")
    r.commit(wt, "a.py", "1\n")
    r.dispatch("T", "w", wt)
    for _ in range(4):
        r.orch("tick")
    assert _count(r, "observations") == 1  # four identical verdicts: one run
    shown = _shown(r)
    assert [c for _, c, _ in shown] == ["finished"] * 4 and len({t for t, _, _ in shown}) == 4
    assert shown == sorted(shown, reverse=True)  # newest first, one per tick

    # A ledger as the previous release wrote it: one row per task per tick.
    engine = create_engine(_url(r))
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "0007_history")
    engine.dispose()
    assert sorted(t for (t,) in _rows(r, "SELECT tick_id FROM observations")) == sorted(t for t, _, _ in shown)

    # The next command upgrades it: every row survives, each a run of its own; the task shows the same.
    assert _shown(r) == shown
    assert _count(r, "observations") == 4
    assert r.orch_json("db", "current")["revision"] == version.HEAD

    # `orch db prune` merges them back into the run a live tick would have kept; nothing shown changes.
    res = r.orch_json("db", "prune", "--dry-run")
    assert res["merged_into_runs"] == 3 and _count(r, "observations") == 4
    res = r.orch_json("db", "prune")
    assert res["merged_into_runs"] == 3 and sum(res["rows"].values()) == 0
    assert _count(r, "observations") == 1 and _shown(r) == shown
    r.orch("tick")  # and the next quiet tick extends it
    assert _count(r, "observations") == 1 and len(_shown(r)) == 5


def test_a_change_starts_a_new_run_and_history_stays_exact(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.orch("tick")
    r.orch("tick")
    r.commit(wt, "a.py", "1\n")  # now finished
    r.orch("tick")
    r.orch("tick")
    conds = [c for _, c, _ in _shown(r)]
    assert conds == ["finished", "finished", "working", "working"]
    assert _count(r, "observations") == 2
    runs = r.orch_json("history", "T")["tasks"][0]["runs"]
    assert [x["condition"] for x in runs] == ["working", "finished"]


def test_db_prune_keeps_what_the_open_state_needs(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    start = datetime.now(timezone.utc) - timedelta(days=3)
    for hours in (0, 1, 2):
        r.orch("tick", "--now", (start + timedelta(hours=hours)).isoformat(timespec="seconds"))
    r.commit(wt, "a.py", "1\n")
    r.orch("tick", "--now", (start + timedelta(hours=3)).isoformat(timespec="seconds"))
    r.orch("misalign", "record", "T", "--category", "pushback", "--severity", "low", "--note", "said no")
    r.set_config(retention="1h")
    size = [f for f in r.orch_json("doctor", "--json", check=False)["findings"] if f["check"] == "ledger.size"][0]
    assert size["status"] == "warn" and size["fix"] == "orch db prune"  # ticks 3 days old, retention 1h
    before = _count(r, "observations")
    preview = r.orch("db", "prune", "--keep", "1h", "--dry-run").stdout
    assert "Would remove rows older than" in preview and "observations" in preview
    assert _count(r, "observations") == before  # a dry run removes nothing
    res = r.orch_json("db", "prune", "--keep", "1h")
    assert res["rows"]["ticks"] >= 2 and res["bytes_freed"] is not None
    # The current run (and the tick it starts at), the dispatch and the misalignment stay.
    assert _count(r, "observations") == 1
    assert [c for _, c, _ in _shown(r)] == ["finished"]
    kinds = {k for (k,) in _rows(r, "SELECT kind FROM events")}
    assert "dispatch" in kinds
    assert _count(r, "misalignments") == 1
    assert r.orch_json("task", "show", "T")["task"]["condition"] == "finished"
    size = [f for f in r.orch_json("doctor", "--json", check=False)["findings"] if f["check"] == "ledger.size"][0]
    assert size["status"] == "ok" and "oldest tick kept" in size["detail"] and "iB" in size["detail"]


def test_replayed_ticks_prune_by_their_own_clock(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.set_config(retention="1h", tick_interval="5m")
    start = datetime.now(timezone.utc) - timedelta(days=1)
    for n in range(26):  # two hours of 5-minute ticks, replayed in a few seconds of wall time
        r.orch("tick", "--now", (start + timedelta(minutes=5 * n)).isoformat(timespec="seconds"))
    clocks = [c for (c,) in _rows(r, "SELECT clock FROM ticks ORDER BY id")]
    # Pruned every 12 ticks by the replayed clock: nothing older than the horizon plus an hour of ticks.
    assert 12 <= len(clocks) <= 12 + 13
    assert len(clocks) < 26


def test_outputs_list_a_few_dozen_paths_with_the_count(repo):
    from orchestrator import bounded

    r = repo
    wt = r.worktree("w")
    r.commit(wt, "a.py", "1\n")
    for i in range(300):
        (wt / f"junk{i:03d}.tmp").write_text("x\n")
    for i in range(60):
        (r.root / f"loose{i:02d}.tmp").write_text("x\n")
    r.dispatch("T", "w", wt)
    proc = r.orch("review", "T", "--json", check=False)
    assert len(proc.stdout) < 20_000
    data = json.loads(proc.stdout)
    item = next(i for i in data["items"] if i["id"] == "worktree-clean")
    assert len(item["dirty"]) == bounded.SHOWN and item["dirty_count"] == 300
    assert item["lines"][-1] == f"… and {300 - bounded.SHOWN} more"
    text = r.orch("review", "T", check=False).stdout
    assert f"… and {300 - bounded.SHOWN} more" in text and "junk299.tmp" not in text
    r.orch("tick")
    integration = r.report_json()["integration"]
    assert len(integration["dirty"]) == bounded.SHOWN and integration["dirty_count"] == 60


def test_task_show_reads_the_same_without_sqlalchemy(repo):
    """The sqlite3 fast path and the SQLAlchemy path print the same task (a query string forces the latter)."""
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.orch("tick")
    r.commit(wt, "a.py", "1\n")
    r.orch("tick")
    r.orch("tick")
    r.orch("misalign", "record", "T", "--category", "pushback", "--severity", "high", "--note", "refused the brief")
    fast = r.orch_json("task", "show", "T")
    full = r.orch_json("--db", f"sqlite:///{r.root / '.orch' / 'ledger.db'}?timeout=30", "task", "show", "T")
    assert fast == full
    assert [o["condition"] for o in fast["observations"]] == ["finished", "finished", "working"]
    assert fast["misalignments"][0]["text"] == "refused the brief"
    assert r.orch("task", "show", "nope", check=False).returncode == 2


def test_the_head_start_is_used_only_for_the_same_tasks(repo):
    from orchestrator import tickstart
    from orchestrator.ledger.models import DECIDED_STATUSES

    assert tickstart.DECIDED == DECIDED_STATUSES
    ref = tickstart.task_ref("T", "w", None, None, None, {"base_provisional": True}, "active")
    early = tickstart.HeadStart([ref], "main", (repo.root, 30.0, 2))
    assert early.take([ref], "develop") is None  # another default branch: probe again
    assert early.take([], "main") is None  # other tasks: probe again
    probe = early.take([ref], "main")
    assert probe is not None and probe.default_head == repo.git("rev-parse", "main").strip()


def test_the_tick_saves_the_status_cache_the_full_path_would(repo):
    r = repo
    wt = r.worktree("w")
    r.write(wt, "a.py", "1\n")
    r.dispatch("T", "w", wt)
    r.dispatch("U", "u")
    r.orch("tick")
    cache = r.root / ".orch" / "cache" / "status.json"
    by_tick = json.loads(cache.read_text())
    cache.unlink()
    r.orch("status")  # the full path gathers from the ledger and saves the cache again
    assert json.loads(cache.read_text()) == by_tick


def test_redaction_quick_check_never_skips_a_secret():
    """The one-search quick check of redact.py is a superset of every pattern: the result equals the full pass."""
    from hypothesis import given, settings, strategies as st

    from orchestrator import redact as rd

    def full(text: str) -> str:
        out = rd._ASSIGN.sub(lambda m: f"{m.group('keep')}{rd.MASK}", text)
        for _name, pat in rd._COMPILED:
            out = pat.sub(rd._mask, out)
        return out

    pieces = ["sk-", "proj-", "rk_live_", "ghp_", "github_pat_", "glpat-", "hf_", "xoxb-", "AKIA", "AIza", "npm_",
              "pypi-AgE", "SG.", "eyJ", "Bearer ", "https://u:", "@h", "--password ", "api_key=", "TOKEN: ",
              "-----BEGIN RSA PRIVATE KEY-----", "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ", "_", "-", ".", " ", "'", '"']

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(pieces), max_size=8).map("".join))
    def same(text):
        assert rd._redact(text) == full(text)

    same()
