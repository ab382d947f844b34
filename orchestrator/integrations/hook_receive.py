"""`orch hook …`: record an agent's hook event in milliseconds and never fail the agent (stdlib only)."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import datetime, timezone

AGENTS = {"codex-notify": "codex", "codex": "codex", "claude": "claude"}
MAX_INPUT = 1 << 20
MAX_LOG = 64 << 20  # beyond this the tick has not run for a very long time: drop, do not fill the disk
_SAFE = re.compile(r"[^A-Za-z0-9_.:/@ -]")
_DETAIL = {"Notification": ("notification_type",), "SessionStart": ("source",), "SessionEnd": ("reason",),
           "StopFailure": ("error_type", "error")}


def _short(value, limit: int = 80) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return _SAFE.sub("", value)[:limit] or None


def normalise(kind: str, payload: dict) -> dict:
    """Keep only what the tick needs: never prompts, messages or tool input, which may hold secrets."""
    agent = AGENTS[kind]
    if kind == "codex-notify":
        event = payload.get("type") or "notify"
        sid, turn = payload.get("thread-id"), payload.get("turn-id")
        detail = payload.get("client")
    else:
        event = payload.get("hook_event_name") or "unknown"
        sid, turn = payload.get("session_id"), payload.get("turn_id")
        keys = _DETAIL.get(event, ("tool_name",))
        detail = next((payload[k] for k in keys if isinstance(payload.get(k), str)), None)
    cwd = payload.get("cwd")
    return {"v": 1, "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "agent": agent,
            "event": _short(event, 64) or "unknown", "session_id": _short(sid, 128), "turn_id": _short(turn, 128),
            "cwd": cwd if isinstance(cwd, str) else None,
            "transcript_path": payload.get("transcript_path") if isinstance(payload.get("transcript_path"), str) else None,
            "detail": _short(detail), "pid": os.getppid()}


def find_root(start: str) -> str | None:
    """The integration checkout holding `.orch/` for a directory inside any of its worktrees, without running git."""
    p = os.path.realpath(start)
    while True:
        dot = os.path.join(p, ".git")
        common = None
        if os.path.isdir(dot):
            common = dot
        elif os.path.isfile(dot):
            with open(dot, encoding="utf-8", errors="replace") as f:
                line = f.readline().strip()
            if line.startswith("gitdir:"):
                gitdir = os.path.join(p, line[7:].strip())
                try:
                    with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
                        common = os.path.realpath(os.path.join(gitdir, f.readline().strip()))
                except OSError:
                    common = os.path.realpath(gitdir)
        if common is not None:
            root = os.path.dirname(common) if os.path.basename(common) == ".git" else None
            return root if root and os.path.isdir(os.path.join(root, ".orch")) else None
        parent = os.path.dirname(p)
        if parent == p:
            return None
        p = parent


def _log(root: str | None, text: str) -> None:
    if root is None:
        return
    from orchestrator.errors import UserError
    from orchestrator.system.files import append_own, own_dir

    try:
        folder = own_dir(os.path.join(root, ".orch", "logs"), 0o700)
        line = f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} {text}\n"
        append_own(folder / "hook.log", line.encode("utf-8", "replace"))
    except (OSError, UserError):
        pass  # never through a link, never failing the agent


def append(root: str, record: dict) -> None:
    from orchestrator.system.files import append_own, own_dir

    folder = own_dir(os.path.join(root, ".orch", "hooks"), 0o700)  # a link is refused (and logged)
    path = os.path.join(folder, "events.jsonl")
    try:
        if os.path.getsize(path) > MAX_LOG:
            _log(root, f"events.jsonl over {MAX_LOG >> 20} MB (is the tick running?); dropped {record['event']}")
            return
    except OSError:
        pass
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    append_own(path, data)  # one write with O_APPEND: concurrent hooks never interleave; O_NOFOLLOW


def receive(kind: str, rest: list[str], stdin=None) -> int:
    """Record one hook event; always returns 0 so that the agent never notices a problem."""
    root = None
    try:
        if kind == "codex-notify":
            raw = rest[-1] if rest else ""
        else:
            stream = stdin if stdin is not None else sys.stdin
            raw = stream.read(MAX_INPUT) if stream is not None and not stream.isatty() else ""
        cwd_guess = os.getcwd()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            _log(find_root(cwd_guess), f"{kind}: input is not a JSON object ({len(raw)} bytes); ignored")
            return 0
        record = normalise(kind, payload)
        root = find_root(record["cwd"] or cwd_guess) if os.path.isdir(record["cwd"] or cwd_guess) else None
        if root is None:
            return 0  # not a repository orch looks after
        append(root, record)
    except Exception as exc:  # noqa: BLE001 - a hook must never fail the agent
        _log(root, f"{kind}: {type(exc).__name__}: {exc}")
    return 0


def main_fast(argv: list[str]) -> int:
    started = time.monotonic()
    code = receive(argv[0], argv[1:])
    if os.environ.get("ORCH_HOOK_TIMING"):
        sys.stderr.write(f"orch hook: {1000 * (time.monotonic() - started):.1f} ms\n")
    return code
