"""`orch doctor` asks the scheduler whether the tick really runs (systemctl, crontab, launchctl; faked on PATH),
knows every schedule installed, and warns about orphaned units and units for another platform."""

from __future__ import annotations

import json
import sys

import pytest

from fakebin import crontab, fake_tool, path_with, systemctl
from orchestrator.integrations import schedule_check


def findings(repo, env, check):
    proc = repo.orch("doctor", "--json", check=False, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["check"] == check]


@pytest.mark.parametrize("enabled,active", [(True, True), (False, False), (True, False)])
def test_systemd_timer_enabled_and_active(repo, tmp_path, enabled, active):
    env = path_with({**repo.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                    systemctl(tmp_path / "bin", enabled=enabled, active=active))
    enable = repo.orch_json("schedule", "systemd", "--install", env=env)["enable"]
    (f,) = findings(repo, env, "schedule")
    if enabled and active:
        assert f["status"] == "ok" and "enabled and active" in f["detail"]
    else:
        assert f["status"] == "warn" and "not running" in f["detail"]
        assert ("disabled" if not enabled else "inactive") in f["detail"]
        assert f["fix"] == enable


def test_systemd_without_systemctl_says_it_cannot_tell(repo, tmp_path):
    import os
    import shutil

    tools = tmp_path / "tools"  # git and orch's own folder only: no systemctl
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git"))
    env = {**repo.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "PATH": f"{repo.env['PATH'].split(os.pathsep, 1)[0]}{os.pathsep}{tools}"}
    repo.orch("schedule", "systemd", "--install", env=env)
    (f,) = findings(repo, env, "schedule")
    assert f["status"] == "warn" and "systemctl is not installed" in f["detail"]


def test_cron_line_present_or_not_in_crontab(repo, tmp_path):
    table = tmp_path / "table"
    env = path_with(repo.env, crontab(tmp_path / "bin", table))
    doc = repo.orch_json("schedule", "cron", "--install", env=env)
    (f,) = findings(repo, env, "schedule")
    assert f["status"] == "warn" and "`crontab -l` has no line" in f["detail"] and f["fix"] == doc["enable"]
    import subprocess  # enable it exactly as orch said

    subprocess.run(["bash", "-c", doc["enable"]], env=env, check=True, cwd=repo.root)
    assert "--repo" in table.read_text()
    (f,) = findings(repo, env, "schedule")
    assert f["status"] == "ok" and "crontab -l" in f["detail"]


def test_every_installed_schedule_is_checked(repo, tmp_path):
    table = tmp_path / "table"
    bin_ = systemctl(tmp_path / "bin", enabled=True, active=True)
    crontab(bin_, table)
    env = path_with({**repo.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}, bin_)
    repo.orch("schedule", "systemd", "--install", env=env)
    repo.orch("schedule", "cron", "--install", env=env)  # the last one installed
    found = findings(repo, env, "schedule")
    kinds = sorted(f["detail"].split()[0] for f in found)
    assert kinds == ["cron", "systemd"]
    assert {f["status"] for f in found if f["detail"].startswith("systemd")} == {"ok"}
    assert {f["status"] for f in found if f["detail"].startswith("cron")} == {"warn"}


def test_orphaned_systemd_unit_is_reported(repo, tmp_path):
    env = path_with({**repo.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                    systemctl(tmp_path / "bin", enabled=True, active=True))
    gone = tmp_path / "gone-repo"
    gone.mkdir()
    repo.git("init", "-q", "-b", "main", cwd=gone)
    repo.orch("schedule", "systemd", "--install", cwd=gone, env=env)  # a repository that is deleted later
    import shutil

    shutil.rmtree(gone)
    (f,) = findings(repo, env, "schedule.orphan")
    assert f["status"] == "warn" and str(gone) in f["detail"]
    assert f["fix"].startswith("systemctl --user disable --now orch-tick-gone-repo-")


def test_launchd_on_linux_warns_at_install_and_in_doctor(repo, tmp_path):
    if sys.platform == "darwin":
        pytest.skip("the other platform is Linux here")
    env = {**repo.env, "HOME": str(tmp_path / "h")}
    proc = repo.orch("schedule", "launchd", "--install", env=env)
    assert "warning: launchd units run only on macOS" in proc.stderr
    (f,) = findings(repo, env, "schedule")
    assert f["status"] == "warn" and "run only on macOS" in f["detail"]
    assert f["fix"] in ("orch schedule systemd --install", "orch schedule cron --install")
    # a plist left by an earlier install, never recorded: still found
    other = tmp_path / "h" / "Library" / "LaunchAgents" / "com.orch.tick.elsewhere-12345678.plist"
    other.write_bytes((tmp_path / "h" / "Library" / "LaunchAgents").glob("*.plist").__next__().read_bytes())
    plat = findings(repo, env, "schedule.platform")
    assert plat and str(other) in plat[0]["detail"]


def test_launchctl_print_answers(tmp_path):
    value = {"kind": "launchd", "name": "com.orch.tick.shop-1a2b3c4d", "command": ["orch", "--repo", "/x", "tick"]}
    yes = fake_tool(tmp_path / "yes", "launchctl", 'test "$1" = print && exit 0\nexit 1\n')
    no = fake_tool(tmp_path / "no", "launchctl", "echo 'Could not find service' >&2; exit 113\n")
    ok = schedule_check.live_state(value, {"PATH": str(yes)}, platform="darwin")
    assert ok.running and "com.orch.tick.shop-1a2b3c4d is loaded" in ok.detail
    bad = schedule_check.live_state(value, {"PATH": str(no)}, platform="darwin")
    assert bad.state == "stopped" and "not loaded" in bad.detail
    assert schedule_check.live_state(value, {"PATH": str(tmp_path / "none")}, platform="darwin").state == "unknown"
    assert schedule_check.live_state(value, {"PATH": str(yes)}, platform="linux").state == "other-platform"
    assert schedule_check.platform_warning("systemd", "darwin") and not schedule_check.platform_warning("cron", "darwin")


def test_systemd_unreachable_user_bus_says_it_cannot_tell(repo, tmp_path):
    """No user bus (cron, ssh without lingering, a container): systemctl answers for the bus, not for the timer, so
    orch cannot tell, and says so instead of 'not running' with systemctl's message glued on."""
    bus = "Failed to connect to bus: No medium found"
    bin_ = fake_tool(tmp_path / "bin", "systemctl", f'echo "{bus}" >&2; exit 1\n')
    env = path_with({**repo.env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}, bin_)
    repo.orch("schedule", "systemd", "--install", env=env)
    (f,) = findings(repo, env, "schedule")
    assert f["status"] == "warn" and "cannot reach your service manager" in f["detail"] and bus in f["detail"]
    assert "not running" not in f["detail"] and "disabled" not in f["detail"]
