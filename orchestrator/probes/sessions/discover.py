"""Find session files that may have changed since the last scan, without walking the whole history each tick."""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

SLACK = 120.0  # seconds of overlap between scans, for clocks and coarse mtimes
FIRST_HORIZON = 3 * 86400.0  # a first scan looks at files touched in the last three days
FULL_EVERY = 3600.0  # a full walk (for resumed old sessions) at most this often


@dataclass(frozen=True)
class Roots:
    codex: Path
    claude: Path

    @classmethod
    def from_env(cls, env=os.environ) -> "Roots":
        home = Path(env.get("HOME") or Path.home())
        codex = env.get("CODEX_HOME") or str(home / ".codex")
        claude = env.get("CLAUDE_CONFIG_DIR") or str(home / ".claude")
        return cls(Path(codex).expanduser(), Path(claude).expanduser())


def claude_slug(path: str) -> str:
    """Claude Code's project folder name for a working directory."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


def _scandir(path: Path, health: dict):
    try:
        with os.scandir(path) as it:
            return list(it)
    except FileNotFoundError:
        return []
    except OSError:
        health["unreadable"] = health.get("unreadable", 0) + 1
        return []


def _files(entries, pattern: re.Pattern, newer: float) -> list[str]:
    out = []
    for e in entries:
        if not pattern.match(e.name):
            continue
        try:
            st = e.stat()
        except OSError:
            continue
        if st.st_mtime >= newer and stat.S_ISREG(st.st_mode):  # a FIFO would block its reader
            out.append(e.path)
    return out


_ROLLOUT = re.compile(r"^rollout-.*\.jsonl$")
_TRANSCRIPT = re.compile(r"^[^.].*\.jsonl$")
_SUBAGENT = re.compile(r"^agent-.*\.jsonl$")


def is_subagent(path: str) -> bool:
    """A Claude subagent's transcript: `agent-*.jsonl` in the project folder (before 2.1.2) or in
    `<session>/subagents/` (since)."""
    return bool(_SUBAGENT.match(os.path.basename(path)))


def codex_files(root: Path, since: float | None, newer: float, full: bool, health: dict, wall: float) -> list[str]:
    """Rollouts under sessions/YYYY/MM/DD: every day folder on a full scan, else only the days since `since`."""
    base = root / "sessions"
    if since is None or full:
        out = []
        for y in _scandir(base, health):
            if y.is_dir():
                for m in _scandir(Path(y.path), health):
                    if m.is_dir():
                        for d in _scandir(Path(m.path), health):
                            if d.is_dir():
                                out += _files(_scandir(Path(d.path), health), _ROLLOUT, newer)
        return out
    out = []
    day = datetime.fromtimestamp(since - 86400).date()
    last = datetime.fromtimestamp(wall + 86400).date()
    while day <= last:
        out += _files(_scandir(base / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}", health), _ROLLOUT, newer)
        day += timedelta(days=1)
    return out


def claude_files(root: Path, scopes: list[str], since: float | None, newer: float, full: bool,
                 health: dict) -> list[str]:
    """Transcripts in the project folders whose names match a worktree of this repository."""
    prefixes = sorted({claude_slug(p) for p in scopes})
    out = []
    for e in _scandir(root / "projects", health):
        if not any(e.name == p or e.name.startswith(p + "-") for p in prefixes):
            continue
        try:
            if not e.is_dir() or (not full and since is not None and e.stat().st_mtime < newer):
                continue
        except OSError:
            continue
        entries = _scandir(Path(e.path), health)
        found = _files(entries, _TRANSCRIPT, newer)
        out += found
        # 2.1.2 and later: <session id>/subagents/agent-*.jsonl; the parent's file grows while they run
        # (progress lines), so the subagents of sessions that changed are enough
        for parent in found:
            if not is_subagent(parent):
                out += _files(_scandir(Path(parent[:-len(".jsonl")]) / "subagents", health), _SUBAGENT, newer)
    return out


def scan(roots: Roots, scopes: list[str], cursor: dict, health: dict) -> tuple[list[tuple[str, str]], dict]:
    """Candidate (agent, path) pairs and the new scan cursor."""
    wall = time.time()
    since = cursor.get("since")
    full = since is None or wall - cursor.get("full_at", 0) >= FULL_EVERY
    if since is None:
        newer = wall - FIRST_HORIZON
    elif full:
        newer = min(since, cursor.get("full_at") or since) - SLACK
    else:
        newer = since - SLACK
    found = [("codex", p) for p in codex_files(roots.codex, since, newer, full, health, wall)]
    found += [("claude", p) for p in claude_files(roots.claude, scopes, since, newer, full, health)]
    new_cursor = {"since": wall, "full_at": wall if full else cursor.get("full_at", 0)}
    return found, new_cursor
