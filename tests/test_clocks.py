"""Clocks that jump and hosts that share a ledger: the time since a tick is never negative, gaps are judged by each
host's own tick sequence (and its boot clock), and `orch status` names the host that ran the last tick."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from inprocess import cli
from orchestrator.report import timeline
from orchestrator.timeutil import iso, utcnow

pytestmark = pytest.mark.faults


def shift_tick(db, tick_id: int, hours: float) -> None:
    """Move a tick's stamps, as if the host's wall clock had been that far off when it ran (plus half a minute,
    so that the few seconds the test takes do not change the whole minutes it prints)."""
    seconds = int(hours * 3600 + (30 if hours > 0 else -30))
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE ticks SET clock = datetime(clock, '{seconds:+} seconds'), "
                     f"started_at = datetime(started_at, '{seconds:+} seconds') WHERE id = ?", (tick_id,))
    (db.parent / "cache" / "status.json").unlink(missing_ok=True)  # the status cache would not know


def set_boot_reading(db, change) -> None:
    with sqlite3.connect(db) as conn:
        (raw,) = conn.execute("SELECT value FROM kv WHERE key = 'tick_clock'").fetchone()
        value = change(json.loads(raw))
        if value is None:
            conn.execute("DELETE FROM kv WHERE key = 'tick_clock'")
        else:
            conn.execute("UPDATE kv SET value = ? WHERE key = 'tick_clock'", (json.dumps(value),))
    (db.parent / "cache" / "status.json").unlink(missing_ok=True)


def status(monkeypatch, capsys, r) -> tuple[dict, str]:
    code, out, _ = cli(monkeypatch, capsys, r, "status", "--json")
    assert code == 0
    code, text, _ = cli(monkeypatch, capsys, r, "status")
    return json.loads(out), text


def test_a_tick_stamped_in_the_future_is_said_and_a_stopped_scheduler_still_shows(repo, monkeypatch, capsys):
    db = repo.root / ".orch" / "ledger.db"
    assert cli(monkeypatch, capsys, repo, "tick", "--now", iso(utcnow() - timedelta(hours=1)))[0] == 0
    assert cli(monkeypatch, capsys, repo, "tick")[0] == 0  # on the real clock: the boot clock is read too
    shift_tick(db, 2, +2)  # the clock was two hours ahead when tick 2 ran, and has been put right since

    doc, text = status(monkeypatch, capsys, repo)
    problems = doc["health"]["problems"]
    assert any(p.startswith("last tick is stamped 2h in the future") for p in problems), problems
    assert not any("ticks stopped" in p for p in problems), problems  # the boot clock says it ran just now
    assert all((v or 0) >= 0 for v in (doc["health"]["gap_seconds"],))
    assert "stamped 2h in the future on test-host" in text and "just now" not in text

    set_boot_reading(db, lambda v: {**v, "up": v["up"] - 3600})  # by the boot clock, tick 2 ran an hour ago
    doc, _ = status(monkeypatch, capsys, repo)
    assert any(p.startswith("ticks stopped: the last tick on this host (stamped 2h in the future, by its clock) "
                            "ran 1h ago") for p in doc["health"]["problems"]), doc["health"]["problems"]

    set_boot_reading(db, lambda v: None)  # no boot clock (another system, or rebooted): the tick sequence judges
    doc, _ = status(monkeypatch, capsys, repo)
    assert any(p.startswith("ticks stopped: the last tick on this host is stamped 2h in the future, and the one "
                            "before it ran 1h ago") for p in doc["health"]["problems"]), doc["health"]["problems"]


def test_a_clock_that_jumps_does_not_invent_missed_heartbeats(repo, monkeypatch, capsys):
    db = repo.root / ".orch" / "ledger.db"
    assert cli(monkeypatch, capsys, repo, "tick")[0] == 0
    shift_tick(db, 1, -2)  # tick 1 ran while the clock was two hours behind; then it was put right (a jump ahead)
    assert cli(monkeypatch, capsys, repo, "tick")[0] == 0  # two real seconds later, by the boot clock
    doc, _ = status(monkeypatch, capsys, repo)
    assert doc["health"]["missed_ticks"] == [] and not any("missed heartbeat" in p for p in doc["health"]["problems"])


def test_gaps_follow_each_hosts_own_tick_sequence(repo, monkeypatch, capsys):
    """A clock that went back an hour: the ticks after it are stamped before the ones before it. Sorting the
    stamps would show a 45-minute hole that nobody missed; the host's own sequence shows none."""
    m = lambda minutes: iso(datetime(2026, 11, 20, 10, tzinfo=timezone.utc) + timedelta(minutes=minutes))  # noqa: E731
    for at in (m(0), m(5), m(-50), m(-45)):  # 10:00, 10:05, then the clock goes back: 09:10, 09:15
        assert cli(monkeypatch, capsys, repo, "tick", "--now", at)[0] == 0
    code, out, _ = cli(monkeypatch, capsys, repo, "history", "--json", "--since", m(-60), "--now", m(-42))
    assert code == 0 and json.loads(out)["summary"]["missed_heartbeats"] == 0, out
    assert timeline.coverage([datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=x) for x in (0, 5, 30)],
                             timedelta(minutes=7), datetime(2026, 1, 1, tzinfo=timezone.utc),
                             datetime(2026, 1, 1, 0, 31, tzinfo=timezone.utc))[1] != []  # a real hole still is one


def test_status_names_the_host_that_ran_the_last_tick(bare_repo, pg_url, monkeypatch, capsys):
    r = bare_repo
    r.env.update(ORCH_DB=pg_url, ORCH_HOST="a")
    assert cli(monkeypatch, capsys, r, "init", "--project", "shop")[0] == 0
    assert cli(monkeypatch, capsys, r, "tick")[0] == 0
    r.env["ORCH_HOST"] = "b"
    assert cli(monkeypatch, capsys, r, "tick")[0] == 0
    r.env["ORCH_HOST"] = "a"
    code, text, _ = cli(monkeypatch, capsys, r, "status")
    assert code == 0 and "#2 at" in text and " on b\n" in text, text
    assert "for host a" in text  # what is about this host still says so
