"""Does an installed schedule really run? Ask systemctl, crontab or launchctl, and find orch units left behind."""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

NATIVE = {"linux": ("systemd", "cron"), "darwin": ("launchd", "cron")}
PLATFORM_OF = {"systemd": "Linux", "launchd": "macOS"}


@dataclass
class Live:
    """What the scheduler itself says: `running`, `stopped`, `unknown` (no tool to ask) or `other-platform`."""

    state: str
    detail: str

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass
class Unit:
    """An orch tick unit found on this machine: its kind, name, files and the repository it ticks."""

    kind: str
    name: str
    root: str | None
    paths: list[str]


def platform_key(platform: str | None = None) -> str:
    p = platform or sys.platform
    return "darwin" if p == "darwin" else ("linux" if p.startswith("linux") else p)


def platform_warning(kind: str, platform: str | None = None) -> str | None:
    """A sentence when `kind` cannot run on this platform (launchd off macOS, systemd on macOS); else None."""
    key = platform_key(platform)
    if kind in PLATFORM_OF and key in NATIVE and kind not in NATIVE[key]:
        here = "macOS" if key == "darwin" else "Linux"
        return f"{kind} units run only on {PLATFORM_OF[kind]}; on this {here} machine nothing will run them"
    return None


def _run(argv: list[str], env: Mapping[str, str]) -> tuple[int, str] | None:
    """Run a scheduler tool (found on env's PATH); None when it is not installed."""
    exe = shutil.which(argv[0], path=env.get("PATH"))
    if not exe:
        return None
    try:
        proc = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=10, env=dict(env),
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, (proc.stdout or "") + (proc.stderr if proc.returncode else "")


BUS_FAILURES = ("Failed to connect to bus", "Failed to connect to user scope bus")


def _no_user_manager(res: tuple[int, str]) -> str | None:
    """systemctl's own line when it could not talk to the user's service manager at all (no user bus: a cron job,
    an ssh session without lingering, a container), which says nothing about the timer; else None."""
    lines = res[1].splitlines() if res[0] else []
    said = lines if res[0] == 127 else [ln for ln in lines if ln.startswith(BUS_FAILURES)]
    return said[0].strip()[:120] if said else None


def launchd_label(name: str) -> str:
    return name if name.startswith("com.orch.tick") else "com.orch.tick." + name.removeprefix("orch-tick").lstrip("-")


def cron_marker(root: str) -> str:
    return f" --repo {shlex.quote(root)} tick ".replace("%", "\\%")


def _root_of(value: Mapping) -> str | None:
    argv = value.get("command") or []
    if "--repo" in argv and argv.index("--repo") + 1 < len(argv):
        return str(argv[argv.index("--repo") + 1])
    return None


def live_state(value: Mapping, env: Mapping[str, str] | None = None, platform: str | None = None) -> Live:
    """Ask the scheduler whether the recorded schedule `value` (kv `schedule`) is enabled and running."""
    env = os.environ if env is None else env
    kind, name = value.get("kind"), str(value.get("name") or "")
    other = platform_warning(str(kind), platform)
    if other:
        return Live("other-platform", other)
    if kind == "systemd":
        timer = f"{name}.timer"
        enabled = _run(["systemctl", "--user", "is-enabled", timer], env)
        if enabled is None:
            return Live("unknown", "systemctl is not installed, so orch cannot tell whether the timer runs")
        unreachable = _no_user_manager(enabled)
        if unreachable:
            return Live("unknown", f"systemctl --user cannot reach your service manager ({unreachable}), so orch "
                                   "cannot tell whether the timer runs; run `systemctl --user status "
                                   f"{timer}` in your login session")
        active = _run(["systemctl", "--user", "is-active", timer], env)
        en_word = (enabled[1].strip().splitlines() or ["unknown"])[0]
        act_word = ((active[1] if active else "").strip().splitlines() or ["unknown"])[0]
        if enabled[0] == 0 and active is not None and active[0] == 0:
            return Live("running", f"{timer} is {en_word} and {act_word} (systemctl --user)")
        return Live("stopped", f"{timer} is {en_word or 'not enabled'} and {act_word or 'not active'} "
                               "(systemctl --user)")
    if kind == "cron":
        table = _run(["crontab", "-l"], env)
        if table is None:
            return Live("unknown", "crontab is not installed, so orch cannot tell whether cron runs the tick")
        root = _root_of(value)
        lines = [ln for ln in table[1].splitlines() if not ln.lstrip().startswith("#")] if table[0] == 0 else []
        if root and any(cron_marker(root) in ln for ln in lines):
            return Live("running", "the tick's line is in `crontab -l`")
        return Live("stopped", "`crontab -l` has no line for this repository")
    if kind == "launchd":
        label = launchd_label(name)
        uid = os.getuid() if hasattr(os, "getuid") else 0
        res = _run(["launchctl", "print", f"gui/{uid}/{label}"], env)
        if res is None:
            return Live("unknown", "launchctl is not installed, so orch cannot tell whether the agent runs")
        if res[0] == 0:
            return Live("running", f"{label} is loaded (launchctl print)")
        return Live("stopped", f"{label} is not loaded (launchctl print gui/{uid}/{label} failed)")
    return Live("unknown", f"unknown scheduler {kind!r}")


# --- units on disk --------------------------------------------------------------------------

_REPO_ARG = re.compile(r"--repo\s+('(?:[^']|'\\'')*'|\"(?:[^\"\\]|\\.)*\"|\S+)\s+tick\b")


def _repo_from(text: str) -> str | None:
    m = _REPO_ARG.search(text)
    if not m:
        return None
    try:
        words = shlex.split(m.group(1).replace("$$", "$").replace("%%", "%"))
    except ValueError:
        return None
    return words[0] if words else None


def systemd_units(folder: Path) -> list[Unit]:
    units = []
    for timer in sorted(folder.glob("orch-tick*.timer")) if folder.is_dir() else []:
        service = timer.with_suffix(".service")
        try:
            text = service.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        exec_line = next((ln for ln in text.splitlines() if ln.startswith("ExecStart=")), "")
        units.append(Unit("systemd", timer.stem, _repo_from(exec_line),
                          [str(p) for p in (service, timer) if p.exists()]))
    return units


def launchd_units(folder: Path) -> list[Unit]:
    units = []
    for plist in sorted(folder.glob("com.orch.tick*.plist")) if folder.is_dir() else []:
        try:
            argv = plistlib.loads(plist.read_bytes()).get("ProgramArguments") or []
        except Exception:  # noqa: BLE001 - a broken plist is still a unit that was left behind
            argv = []
        root = _root_of({"command": argv})
        units.append(Unit("launchd", plist.stem, root, [str(plist)]))
    return units


def cron_units(env: Mapping[str, str]) -> list[Unit]:
    table = _run(["crontab", "-l"], env)
    if table is None or table[0] != 0:
        return []
    units = []
    for ln in table[1].splitlines():
        if ln.lstrip().startswith("#") or " tick" not in ln or "--repo" not in ln:
            continue
        root = _repo_from(ln.replace("\\%", "%"))
        if root:
            units.append(Unit("cron", "crontab line", root, []))
    return units


def is_orch_repo(root: str | None) -> bool:
    return bool(root) and os.path.isdir(os.path.join(root, ".orch"))
