"""Heartbeat health: missed ticks, missed wake-ups, failed ticks, and retention, seen through real ticks."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta, timezone


def at(minutes: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def since_ack(report: str) -> str:
    return report.split("## Since last ack")[1].split("\n## ")[0]


def test_missed_ticks_show_once_in_since_last_ack(repo):
    r = repo
    r.orch("tick")
    r.orch("tick", "--now", at(3))
    assert r.report_json()["health"]["missed_ticks"] == []
    r.orch("tick", "--now", at(180))  # the machine slept: nearly three hours without a tick
    data = r.report_json()
    assert len(data["health"]["missed_ticks"]) == 1
    assert data["health"]["missed_ticks"][0]["gap_seconds"] > 170 * 60
    report = r.report()
    assert "missed heartbeat: no tick for 2h5" in report
    assert "no tick on test-host from" in since_ack(report) and "the scheduler or the machine stopped" in report
    r.orch("ack")
    r.orch("tick", "--now", at(183))
    assert r.report_json()["health"]["missed_ticks"] == []


def test_missed_wakeup_when_attention_goes_unacknowledged(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.commit(wt, "f.py", "x = 1\n")
    r.orch("tick")  # T is finished: it needs the orchestrator from now on
    assert r.report_json()["health"]["missed_wakeup"] is None
    r.orch("tick", "--now", at(4))
    r.orch("tick", "--now", at(35))  # missed_after is 30m by default
    data = r.report_json()
    wake = data["health"]["missed_wakeup"]
    assert wake["task"] == "T" and wake["condition"] == "finished"
    assert "missed wake-up: T (finished)" in r.report()
    assert "missed wake-up: T has needed the orchestrator" in since_ack(r.report())
    r.orch("tick", "--now", at(39))  # recorded once, not on every tick
    changes = [c for c in r.report_json()["since_last_ack"] if c["kind"] == "heartbeat" and c["reason"] == "missed-wakeup"]
    assert len(changes) == 1
    r.orch("ack", "--note", "reviewing T next")
    r.orch("tick", "--now", at(10))
    assert r.report_json()["health"]["missed_wakeup"] is None


def test_failed_tick_is_reported_by_the_next_one(repo):
    r = repo
    r.orch("tick")
    latest = r.root / ".orch" / "reports" / "latest.md"
    latest.unlink()
    latest.mkdir()  # something in the way: writing the report fails
    bad = r.orch("tick", check=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    shutil.rmtree(latest)
    r.orch("tick")
    data = r.report_json()
    assert data["health"]["failed_ticks"] == 1
    assert "1 failed tick(s), last:" in r.report()


def test_status_says_when_the_heartbeat_stopped(repo):
    r = repo
    assert "no tick has run yet" in r.orch("status").stdout
    r.orch("tick", "--now", at(-60))
    out = r.orch("status").stdout
    assert "the last tick on this host was 1h" in out and "is the scheduler running?" in out


def test_retention_prunes_old_ticks_observations_and_events(repo):
    r = repo
    wt = r.worktree("w")
    r.dispatch("T", "w", wt)
    r.set_config(retention="1d")
    for minutes in (-5 * 1440, -4 * 1440, -3 * 1440):
        r.orch("tick", "--now", at(minutes))
    db = r.root / ".orch" / "ledger.db"

    def count(table: str) -> int:
        with sqlite3.connect(db) as conn:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]

    # The first of those ticks pruned (nothing was old yet); later ones wait an hour of wall time.
    assert count("ticks") == 3 and count("observations") == 3
    with sqlite3.connect(db) as conn:
        conn.execute("delete from kv where key = 'retention'")  # as if an hour had passed
    r.orch("tick")
    assert count("ticks") == 1 and count("observations") == 1
    kinds = {row[0] for row in sqlite3.connect(db).execute("select kind from events")}
    assert "dispatch" in kinds  # decisions are kept
    shown = r.orch_json("task", "show", "T")
    assert shown["task"]["status"] == "active" and len(shown["observations"]) == 1
