"""Fake scheduler tools (systemctl, crontab, launchctl) put first on PATH, to cover both of their answers."""

from __future__ import annotations

import os
from pathlib import Path


def fake_tool(folder: Path, name: str, script: str) -> Path:
    """Write an executable shell script `folder/name` and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    return folder


def systemctl(folder: Path, enabled: bool, active: bool) -> Path:
    """A `systemctl --user is-enabled|is-active` that answers like systemd does."""
    return fake_tool(folder, "systemctl", f"""
case "$2" in
  is-enabled) {"echo enabled; exit 0" if enabled else "echo disabled; exit 1"} ;;
  is-active) {"echo active; exit 0" if active else "echo inactive; exit 3"} ;;
  *) exit 0 ;;
esac
""")


def crontab(folder: Path, table: Path) -> Path:
    """A `crontab` that keeps its table in a file: `-l` prints it, `-` (or a file) replaces it."""
    return fake_tool(folder, "crontab", f"""
if [ "$1" = -l ]; then [ -f '{table}' ] || {{ echo 'no crontab for user' >&2; exit 1; }}; cat '{table}'
elif [ "$1" = - ] || [ -z "$1" ]; then cat > '{table}'
else cp "$1" '{table}'; fi
""")


def path_with(env: dict, folder: Path) -> dict:
    """`env` with `folder` first on PATH."""
    return {**env, "PATH": f"{folder}{os.pathsep}{env['PATH']}"}
