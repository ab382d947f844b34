"""Is the agent's process still there? Codex thread-writer locks and Claude Code's session registry (read only)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from orchestrator.system.files import open_regular, read_regular


def codex_alive(codex_home: Path, session_id: str | None) -> bool | None:
    """True while some Codex process holds the thread's writer lock, False when the lock is left unheld.

    None when there is nothing to tell (no lock folder: an older Codex, or a clean exit removed the file).
    """
    if not session_id or "/" in session_id:
        return None
    path = codex_home / "thread-writer-locks" / f"{session_id}.lock"
    try:
        fd = open_regular(path)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True  # held by a live process
    except OSError:
        return None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False  # the file outlived its process (killed or crashed)
    finally:
        os.close(fd)


def _proc_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]  # field 22, counting from the state field (3)
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claude_alive(claude_dir: Path, session_id: str | None) -> bool | None:
    """From `sessions/<pid>.json`: True when its process runs, False when it is gone, None when not registered."""
    if not session_id:
        return None
    try:
        entries = list(os.scandir(claude_dir / "sessions"))
    except OSError:
        return None
    for e in entries:
        if not e.name.endswith(".json"):
            continue
        try:
            data = json.loads(read_regular(e.path, 1 << 16))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("sessionId") != session_id or not isinstance(data.get("pid"), int):
            continue
        pid = data["pid"]
        if not _pid_alive(pid):
            return False
        recorded, actual = data.get("procStart"), _proc_start(pid)
        if recorded is not None and actual is not None and str(recorded) != actual:
            return False  # the pid was reused by another process
        return True
    return None
