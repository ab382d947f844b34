"""`orch doctor`: real repositories, the real command, one finding per check with the fix a user would run."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

LINE = re.compile(r"^(ok  |warn|fail)  [a-z.]+: .+$")


def doctor(repo, *args, env=None, cwd=None):
    proc = repo.orch("doctor", "--json", *args, check=False, env=env, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == 1 and doc["kind"] == "doctor"
    return proc.returncode, doc


def by_check(doc) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f in doc["findings"]:
        assert set(f) == {"check", "status", "detail", "fix"}
        assert f["status"] in ("ok", "warn", "fail")
        assert (f["fix"] is None) == (f["status"] == "ok"), f  # every warn and fail says how to fix it
        out.setdefault(f["check"], f)  # first finding of each check
    return out


def sql(repo, statement: str, *params) -> None:
    with sqlite3.connect(repo.root / ".orch" / "ledger.db") as db:
        db.execute(statement, params)


def test_fresh_repo_warns_then_tick_is_ok(repo):
    code, doc = doctor(repo)
    assert code == 0 and doc["ok"] is True and doc["counts"]["fail"] == 0
    f = by_check(doc)
    assert f["git"]["status"] == "ok" and "git version" in f["git"]["detail"]
    assert f["ledger"]["status"] == "ok" and f["ledger.migrations"]["status"] == "ok"
    assert f["ledger.mode"]["status"] == "ok" and "0600" in f["ledger.mode"]["detail"]
    assert f["config"]["status"] == "ok"
    assert f["schedule"]["status"] == "warn" and "no schedule installed" in f["schedule"]["detail"]
    assert re.fullmatch(r"orch schedule (systemd|launchd|cron) --install", f["schedule"]["fix"])
    assert f["tick"]["status"] == "warn" and "no tick yet" in f["tick"]["detail"] and f["tick"]["fix"] == "orch tick"
    assert f["hooks"] == {"check": "hooks", "status": "ok", "fix": None,
                          "detail": "no Codex or Claude Code home found (nothing to hook)"}
    assert f["checkout"]["status"] == "ok" and f["checkout.exclude"]["status"] == "ok"
    assert f["notify"]["status"] == "ok"

    repo.orch("tick")
    text = repo.orch("doctor")
    lines = text.stdout.splitlines()
    assert any(line.startswith("ok    tick: last tick ") for line in lines), text.stdout
    assert any(line.startswith("ok    reports: ") and "latest.md written" in line for line in lines), text.stdout
    assert lines[-1].endswith("0 fail")
    for line in lines[:-1]:
        assert LINE.match(line) or line.startswith("      fix: "), line
    # Every warn/fail line is followed by its fix.
    for i, line in enumerate(lines[:-1]):
        if line.startswith(("warn", "fail")):
            assert lines[i + 1].startswith("      fix: "), text.stdout

    # A heartbeat that stopped long ago fails (10x the interval); failed ticks of the last day warn.
    old = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S.%f")
    recent = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql(repo, "UPDATE ticks SET started_at = ?", old)
    sql(repo, "INSERT INTO ticks (project_id, host, started_at, clock, outcome, counts, health, error) "
              "SELECT project_id, host, ?, ?, 'failed', '{}', '{}', 'RuntimeError: disk full' FROM ticks LIMIT 1",
        recent, recent)
    code, doc = doctor(repo)
    f = by_check(doc)
    assert code == 1 and f["tick"]["status"] == "fail" and "last tick 3h" in f["tick"]["detail"]
    assert re.fullmatch(r"orch schedule (systemd|launchd|cron) --install", f["tick"]["fix"])
    assert f["tick.failures"]["status"] == "warn" and "disk full" in f["tick.failures"]["detail"]


def test_claude_hook_installed_then_stale(repo, tmp_path):
    claude = Path(repo.env["CLAUDE_CONFIG_DIR"])
    claude.mkdir(parents=True)
    f = by_check(doctor(repo)[1])
    assert "hooks" not in f and "hooks.codex" not in f  # only agents whose home exists
    assert f["hooks.claude"]["status"] == "warn" and f["hooks.claude"]["fix"] == "orch hooks install claude"
    assert f["sessions.claude"]["status"] == "ok"

    repo.orch("hooks", "install", "claude")
    f = by_check(doctor(repo)[1])
    assert f["hooks.claude"]["status"] == "ok", f["hooks.claude"]

    # The venv that held orch is gone: the hook points at a missing executable.
    settings = claude / "settings.json"
    data = json.loads(settings.read_text())
    for groups in data["hooks"].values():
        for group in groups:
            for h in group["hooks"]:
                h["command"] = f"{tmp_path}/old-venv/bin/orch hook claude"
    settings.write_text(json.dumps(data))
    code, doc = doctor(repo)
    f = by_check(doc)
    assert code == 1 and f["hooks.claude"]["status"] == "fail"
    assert "old-venv/bin/orch" in f["hooks.claude"]["detail"]
    assert f["hooks.claude"]["fix"] == "orch hooks install claude"


def test_config_typo_dirty_checkout_mode_and_notify(repo):
    repo.set_config(stale_afer="30m", notify_command="no-such-notifier-xyz --to me")
    (repo.root / "scratch.txt").write_text("left over\n")
    ledger = repo.root / ".orch" / "ledger.db"
    ledger.chmod(0o644)
    code, doc = doctor(repo)
    f = by_check(doc)
    assert code == 0
    assert f["config"]["status"] == "warn" and "stale_afer" in f["config"]["detail"]
    assert "stale_after" in f["config"]["fix"]
    assert f["checkout"]["status"] == "warn" and "scratch.txt" in f["checkout"]["detail"]
    assert f["ledger.mode"]["status"] == "warn" and f["ledger.mode"]["fix"] == f"chmod 600 {ledger}"
    assert f["notify"]["status"] == "warn" and "no-such-notifier-xyz" in f["notify"]["detail"]
    assert "orch notify test" in f["notify"]["fix"]

    # Without the exclude entry .orch/ itself shows as a change: every report would be blocked.
    exclude = repo.root / ".git" / "info" / "exclude"
    exclude.write_text("".join(ln for ln in exclude.read_text().splitlines(keepends=True) if ".orch" not in ln))
    proc = repo.orch("doctor", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"^fail  checkout\.exclude: .*\n      fix: orch init$", proc.stdout, re.M), proc.stdout
    assert proc.stdout.splitlines()[-1].endswith("1 fail")


def test_not_initialised_and_not_a_repository(bare_repo, tmp_path):
    proc = bare_repo.orch("doctor", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"^fail  ledger: not initialised.*\n      fix: orch init$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^ok    git: git version", proc.stdout, re.M)
    assert re.search(r"^ok    checkout: ", proc.stdout, re.M)  # checks without a ledger still run
    assert not (bare_repo.root / ".orch" / "ledger.db").exists()  # doctor creates nothing

    outside = tmp_path / "plain"
    outside.mkdir()
    proc = bare_repo.orch("doctor", check=False, cwd=outside)
    assert proc.returncode == 2 and "not a git repository" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""


def test_installed_schedule_found_then_missing(repo, tmp_path):
    from fakebin import path_with, systemctl

    # systemd says the timer is enabled and active (a fake systemctl first on PATH: no user bus in tests)
    env = path_with({**repo.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                    systemctl(tmp_path / "bin", enabled=True, active=True))
    repo.orch("schedule", "systemd", "--install", env=env)
    f = by_check(doctor(repo, env=env)[1])
    assert f["schedule"]["status"] == "ok" and "systemd every 5m" in f["schedule"]["detail"]
    assert "systemctl --user" in f["schedule"]["detail"]

    timer = next((tmp_path / "xdg" / "systemd" / "user").glob("*.timer"))
    timer.unlink()
    code, doc = doctor(repo, env=env)
    f = by_check(doc)
    assert code == 1 and f["schedule"]["status"] == "fail" and str(timer) in f["schedule"]["detail"]
    assert f["schedule"]["fix"] == "orch schedule systemd --install"


def test_codex_hook_and_sessions_counted(repo):
    codex = Path(repo.env["CODEX_HOME"])
    day = codex / "sessions" / "2025" / "01" / "02"
    day.mkdir(parents=True)
    (day / "rollout-2025-01-02T10-00-00-abc.jsonl").write_text("{}\n")
    repo.orch("hooks", "install", "codex")
    code, doc = doctor(repo)
    f = by_check(doc)
    assert code == 0 and "hooks.claude" not in f
    assert f["hooks.codex"]["status"] == "ok", f["hooks.codex"]
    assert f["sessions.codex"]["status"] == "ok" and "1 session file(s) touched" in f["sessions.codex"]["detail"]
