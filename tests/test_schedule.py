"""`orch schedule cron|systemd|launchd`: the units it prints, `--install`, and systemd-examples/.

Regenerate systemd-examples/ after a deliberate change to the generator:
    ORCH_UPDATE_EXAMPLES=1 python -m pytest tests/test_schedule.py
"""

from __future__ import annotations

import configparser
import json
import os
import plistlib
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from orchestrator.integrations import schedule as sched
from orchestrator.errors import UserError

EXAMPLES = Path(__file__).resolve().parent.parent / "systemd-examples"


def units(proc_stdout: str) -> dict[str, str]:
    doc = json.loads(proc_stdout)
    assert doc["schema"] == 1 and doc["kind"] == "schedule"
    return {Path(f["path"]).name: f["content"] for f in doc["files"]}


def ini(text: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read_string(text)
    return cp


def verify_systemd(tmp_path: Path, files: dict[str, str]) -> None:
    """systemd-analyze verify, when available; it must accept the units without a single warning."""
    if not shutil.which("systemd-analyze"):
        return
    where = tmp_path / "verify"
    where.mkdir()
    for name, text in files.items():
        (where / name).write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", *sorted(files)], cwd=where, capture_output=True, text=True,
                          timeout=60)
    if "Failed to initialize manager" in proc.stderr:
        pytest.skip("systemd-analyze cannot run here")
    assert proc.returncode == 0, proc.stderr
    ours = [line for line in proc.stderr.splitlines() if str(where) in line or any(n in line for n in files)]
    assert ours == [], proc.stderr


def test_launchd_plist(repo):
    doc = repo.orch_json("schedule", "launchd")
    assert doc["scheduler"] == "launchd" and doc["installed"] is False and doc["seconds"] == 300
    (text,) = units(json.dumps(doc)).values()
    plist = plistlib.loads(text.encode())
    root = str(repo.root.resolve())
    assert plist["Label"].startswith("com.orch.tick.repo-")
    orch, *rest = plist["ProgramArguments"]
    assert os.path.isabs(orch) and os.access(orch, os.X_OK) and Path(orch).name == "orch"
    assert rest == ["--repo", root, "tick"]
    assert plist["StartInterval"] == 300 and plist["RunAtLoad"] is True
    assert plist["WorkingDirectory"] == root
    assert plist["StandardOutPath"].startswith(f"{root}/.orch/logs/")
    assert plist["StandardErrorPath"].startswith(f"{root}/.orch/logs/")
    assert os.path.dirname(orch) in plist["EnvironmentVariables"]["PATH"].split(":")
    assert doc["enable"] == f"launchctl bootstrap gui/$(id -u) {doc['files'][0]['path']}"
    assert doc["files"][0]["path"] == f"{repo.env['HOME']}/Library/LaunchAgents/{plist['Label']}.plist"


def test_cron_line_fields_and_intervals(repo):
    root = str(repo.root.resolve())
    line = repo.orch("schedule", "cron", "--every", "15m").stdout
    assert line.count("\n") == 1
    fields = line.split(None, 5)
    assert fields[:5] == ["*/15", "*", "*", "*", "*"]
    cmd = fields[5]
    assert cmd.startswith(f"cd {root} && PATH=")
    argv = shlex.split(cmd.split("&&", 1)[1].split(">>")[0])
    assert argv[0].startswith("PATH=") and os.path.isabs(argv[1]) and argv[2:] == ["--repo", root, "tick"]
    assert cmd.rstrip().endswith(f">> {root}/.orch/logs/tick.log 2>&1")
    assert "flock" not in cmd

    # The default interval is the config's tick_interval.
    repo.set_config(tick_interval="10m")
    assert repo.orch("schedule", "cron").stdout.split()[:5] == ["*/10", "*", "*", "*", "*"]
    assert repo.orch("schedule", "cron", "--every", "2h").stdout.split()[:5] == ["0", "*/2", "*", "*", "*"]

    # An interval cron cannot express: one clear line, exit 2.
    bad = repo.orch("schedule", "cron", "--every", "7m", check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "cron cannot run every 7m" in bad.stderr and "Traceback" not in bad.stderr


def test_systemd_units(repo, tmp_path):
    root = str(repo.root.resolve())
    doc = repo.orch_json("schedule", "systemd")
    files = units(json.dumps(doc))
    name = doc["name"]
    assert name.startswith("orch-tick-repo-") and len(name.rsplit("-", 1)[1]) == 8
    assert sorted(files) == [f"{name}.service", f"{name}.timer"]
    service, timer = ini(files[f"{name}.service"]), ini(files[f"{name}.timer"])
    svc = service["Service"]
    assert svc["Type"] == "oneshot" and svc["WorkingDirectory"] == root
    assert 0 < int(svc["TimeoutStartSec"]) < 300
    assert svc["Environment"].startswith("PATH=/")
    exec_start = shlex.split(svc["ExecStart"])
    assert os.path.isabs(exec_start[0]) and exec_start[1:] == ["--repo", root, "tick"]
    tm = timer["Timer"]
    assert tm["OnCalendar"] == "*:0/5" and tm["Persistent"] == "true"
    assert 0 < int(tm["RandomizedDelaySec"]) <= 30 and tm["AccuracySec"]
    assert tm["Unit"] == f"{name}.service" and timer["Install"]["WantedBy"] == "timers.target"
    assert doc["enable"] == f"systemctl --user daemon-reload && systemctl --user enable --now {name}.timer"
    verify_systemd(tmp_path, files)

    # 7 minutes does not divide an hour: a monotonic timer counted from the last run.
    odd = units(repo.orch("schedule", "systemd", "--every", "7m", "--json").stdout)
    tm = ini(odd[f"{name}.timer"])["Timer"]
    assert "OnCalendar" not in tm and tm["OnUnitActiveSec"] == "420" and tm["OnBootSec"]
    assert int(ini(odd[f"{name}.service"])["Service"]["TimeoutStartSec"]) < 420


def test_systemd_units_verify_with_awkward_path(tmp_path):
    """A root with a space and a percent sign still gives units systemd accepts."""
    root = tmp_path / "my repo 100%"
    root.mkdir()
    t = sched.make_target(root)
    for seconds in (30, 300, 420, 7200, 86400):
        service, timer = sched.systemd_units(t, seconds)
        argv = shlex.split(ini(service)["Service"]["ExecStart"].replace("%%", "%"))
        assert argv[1:] == ["--repo", str(root), "tick"]
        sub = tmp_path / str(seconds)
        sub.mkdir()
        verify_systemd(sub, {f"{t.name}.service": service, f"{t.name}.timer": timer})


def test_systemd_install_is_idempotent_and_guards_changes(repo, tmp_path):
    xdg = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg)}
    first = repo.orch("schedule", "systemd", "--install", env=env).stdout
    unit_dir = xdg / "systemd" / "user"
    written = sorted(p.name for p in unit_dir.iterdir())
    assert len(written) == 2 and written[0].endswith(".service") and written[1].endswith(".timer")
    name = written[0].removesuffix(".service")
    assert f"systemctl --user daemon-reload && systemctl --user enable --now {name}.timer" in first
    assert (repo.root / ".orch" / "logs").is_dir()
    before = {p: p.read_text() for p in unit_dir.iterdir()}

    again = repo.orch_json("schedule", "systemd", "--install", env=env)
    assert [c["action"] for c in again["changes"]] == ["unchanged", "unchanged"]
    assert {p: p.read_text() for p in unit_dir.iterdir()} == before

    # A different interval would change the files: refused with a diff unless --force.
    refused = repo.orch("schedule", "systemd", "--install", "--every", "10m", env=env, check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr and "+OnCalendar=*:0/10" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert {p: p.read_text() for p in unit_dir.iterdir()} == before
    forced = repo.orch_json("schedule", "systemd", "--install", "--every", "10m", "--force", env=env)
    assert [c["action"] for c in forced["changes"]] == ["replaced", "replaced"]
    assert "OnCalendar=*:0/10" in (unit_dir / f"{name}.timer").read_text()

    # The ledger remembers what was installed, for `orch doctor`.
    with sqlite3.connect(repo.root / ".orch" / "ledger.db") as db:
        rows = db.execute("SELECT host, value FROM kv WHERE key = 'schedule'").fetchall()
    assert len(rows) == 1 and rows[0][0] == "test-host"
    value = json.loads(rows[0][1])
    assert value["kind"] == "systemd" and value["seconds"] == 600 and value["interval"] == "10m"
    assert value["path"] == str(unit_dir / f"{name}.service")


def test_launchd_install(repo, tmp_path):
    home = tmp_path / "otherhome"
    home.mkdir()
    res = repo.orch("schedule", "launchd", "--install", env={"HOME": str(home)}).stdout
    (plist_path,) = (home / "Library" / "LaunchAgents").iterdir()
    assert plist_path.name.startswith("com.orch.tick.") and plist_path.suffix == ".plist"
    assert plistlib.loads(plist_path.read_bytes())["Label"] == plist_path.stem
    assert f"launchctl bootstrap gui/$(id -u) {plist_path}" in res
    assert (repo.root / ".orch" / "logs").is_dir()


def test_cron_install_writes_file_and_merge_is_idempotent(repo, tmp_path):
    doc = repo.orch_json("schedule", "cron", "--install")
    path = repo.root / ".orch" / "schedule" / "crontab.txt"
    assert doc["files"][0]["path"] == str(path) and path.read_text() == doc["files"][0]["content"]
    assert doc["changes"] == [{"path": str(path), "action": "created"}]
    # Merge twice into a fake crontab: the existing entry stays, this repository's line appears once.
    fake = tmp_path / "bin"
    fake.mkdir()
    table = tmp_path / "table"
    table.write_text("0 3 * * * backup.sh\n")
    (fake / "crontab").write_text(f'#!/bin/sh\nif [ "$1" = -l ]; then cat {table}; else cat > {table}.new && '
                                  f'mv {table}.new {table}; fi\n')
    (fake / "crontab").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    for _ in range(2):
        subprocess.run(["/bin/sh", "-c", doc["enable"]], env=env, check=True, timeout=30)
    assert table.read_text() == "0 3 * * * backup.sh\n" + path.read_text()


def test_bad_every_and_kind(repo):
    for args in (["cron", "--every", "soon"], ["systemd", "--every", "0s"], ["launchd", "--every", "2s"],
                 ["anacron"]):
        proc = repo.orch("schedule", *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith("orch: ") and proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_without_init_prints_and_installs_without_ledger(bare_repo, tmp_path):
    line = bare_repo.orch("schedule", "cron").stdout
    assert line.startswith("*/5 * * * * ")
    res = bare_repo.orch("schedule", "launchd", "--install", env={"HOME": str(tmp_path)})
    assert "not set up here" in res.stdout and "launchctl bootstrap" in res.stdout


def test_two_repositories_get_different_units(tmp_path):
    a, b = tmp_path / "a" / "repo", tmp_path / "b" / "repo"
    assert sched.unit_name(a) != sched.unit_name(b)
    assert sched.unit_name(a).startswith("orch-tick-repo-")


def test_interval_rules():
    assert sched.on_calendar(300) == "*:0/5" and sched.on_calendar(60) == "*:0/1"
    assert sched.on_calendar(15) == "*:*:0/15" and sched.on_calendar(3600) == "*-*-* 0/1:00:00"
    assert sched.on_calendar(86400) == "*-*-* 00:00:00"
    assert sched.on_calendar(420) is None and sched.on_calendar(90) is None and sched.on_calendar(5 * 3600) is None
    assert sched.cron_schedule(60) == "* * * * *" and sched.cron_schedule(3600) == "0 * * * *"
    with pytest.raises(UserError):
        sched.cron_schedule(90)


def test_examples_match_the_generator():
    expected = sched.example_files()
    if os.environ.get("ORCH_UPDATE_EXAMPLES"):
        for name, text in expected.items():
            (EXAMPLES / name).write_text(text)
    for name, text in expected.items():
        assert (EXAMPLES / name).read_text() == text, f"systemd-examples/{name} is stale (ORCH_UPDATE_EXAMPLES=1)"
    plist = plistlib.loads((EXAMPLES / "com.orch.tick.plist").read_bytes())
    assert {"Label", "ProgramArguments", "StartInterval", "RunAtLoad", "StandardOutPath", "StandardErrorPath",
            "EnvironmentVariables", "WorkingDirectory"} <= set(plist)
    timer = ini((EXAMPLES / "orch-tick.timer").read_text())["Timer"]
    assert timer["Unit"] == "orch-tick.service"
    assert ini((EXAMPLES / "orch-tick.service").read_text())["Service"]["Type"] == "oneshot"
