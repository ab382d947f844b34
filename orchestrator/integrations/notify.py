"""Notifications: run the configured `notify_command` for transitions that need attention; never raise."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from orchestrator.system.procs import kill_group
from orchestrator.timeutil import iso, utcnow

BATCH_LIMIT = 10  # more transitions than this in one tick: one summary notification instead
DEFAULT_TIMEOUT = timedelta(seconds=10)
ENV_KEYS = {"task": "ORCH_TASK", "from": "ORCH_FROM", "to": "ORCH_TO", "reason": "ORCH_REASON",
            "next_action": "ORCH_NEXT_ACTION", "evidence": "ORCH_EVIDENCE", "project": "ORCH_PROJECT",
            "report": "ORCH_REPORT", "at": "ORCH_AT"}
MAX_ENV = 4000  # characters per variable


# Conditions that need the orchestrator and come from the workers (not from its own decisions,
# such as `reviewing` or `cleanup-needed`, which follow `orch task set`).
NOTIFY_CONDITIONS = ("waiting-input", "blocked", "setup-overdue", "stuck", "finished-uncommitted", "no-output",
                     "finished")


def attention_only(transitions: list[dict]) -> list[dict]:
    """Keep the transitions into a condition worth a notification (and out of a different one)."""
    return [t for t in transitions if t.get("to") in NOTIFY_CONDITIONS and t.get("to") != t.get("from")]


def summary(transitions: list[dict]) -> dict:
    """One notification standing for many transitions (the full list is in `transitions`)."""
    first = transitions[0] if transitions else {}
    counts: dict[str, int] = {}
    for t in transitions:
        counts[str(t.get("to"))] = counts.get(str(t.get("to")), 0) + 1
    brief = ", ".join(f"{n} {to}" for to, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return {
        "task": f"{len(transitions)} tasks",
        "from": "",
        "to": "summary",
        "reason": "batch",
        "next_action": "read the report",
        "evidence": brief,
        "at": first.get("at") or iso(utcnow()),
        "project": first.get("project", ""),
        "report": first.get("report", ""),
        "count": len(transitions),
        "transitions": transitions,
    }


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, default=str, ensure_ascii=False)
    return value.replace("\x00", "")[:MAX_ENV]


def _timeout(cfg) -> float:
    try:
        return cfg.notify_timeout.total_seconds()
    except Exception:  # noqa: BLE001 - a bad setting must not stop notifications
        return DEFAULT_TIMEOUT.total_seconds()


def _log(log_path: Path, line: str) -> None:
    from orchestrator.errors import UserError
    from orchestrator.system.files import append_own, own_dir

    try:
        own_dir(log_path.parent, 0o700)
        append_own(log_path, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))
    except (OSError, UserError):
        pass


def run_one(command: str, payload: dict, root: Path, timeout: float) -> dict:
    """Run the command once with `payload` on stdin and in ORCH_* variables; return the result."""
    result = {"task": payload.get("task"), "ok": False, "exit_code": None, "timed_out": False, "error": None}
    env = dict(os.environ)
    for key, var in ENV_KEYS.items():
        env[var] = _text(payload.get(key))
    if "count" in payload:
        env["ORCH_COUNT"] = str(payload["count"])
    data = json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8") + b"\n"
    # stdin and stderr are temporary files, not pipes: a command that ignores stdin or leaves a
    # background child holding stderr open can neither block us nor look like a hang.
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
        stdin.write(data)
        stdin.seek(0)
        try:
            proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=str(root), env=env, stdin=stdin,
                                    stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        except OSError as exc:
            result["error"] = f"cannot start the command: {exc.strerror or exc} ({exc.filename or '/bin/sh'})"
            return result
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            result.update(timed_out=True, error=f"timed out after {timeout:g}s; killed")
            return result
        result["exit_code"] = code
        if code == 0:
            result["ok"] = True
            return result
        stderr.seek(0)
        tail = stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        last = tail[-1].strip() if tail else ""
        if code == 127:
            result["error"] = f"command not found (exit 127){': ' + last if last else ''}"
        else:
            result["error"] = f"exit {code}{': ' + last if last else ''}"
    return result


def send(cfg, transitions: list[dict], root: Path, log_path: Path) -> list[dict]:
    """Notify each transition (or one summary when there are more than 10); never raises.

    Failures are appended to `log_path` one line each and returned as results
    `{"task", "ok", "exit_code", "timed_out", "error"}`. No configured command: no results.
    """
    try:
        command = (getattr(cfg, "notify_command", "") or "").strip()
        if not command or not transitions:
            return []
        timeout = _timeout(cfg)
        payloads = [summary(transitions)] if len(transitions) > BATCH_LIMIT else list(transitions)
    except Exception as exc:  # noqa: BLE001
        _log(log_path, f"{iso(utcnow())} notify error: {type(exc).__name__}: {exc}")
        return [{"task": None, "ok": False, "exit_code": None, "timed_out": False, "error": str(exc)}]
    results = []
    for payload in payloads:
        try:
            res = run_one(command, payload, Path(root), timeout)
        except Exception as exc:  # noqa: BLE001 - notifications must never break a tick
            res = {"task": payload.get("task"), "ok": False, "exit_code": None, "timed_out": False,
                   "error": f"{type(exc).__name__}: {exc}"}
        if not res["ok"]:
            _log(log_path, f"{iso(utcnow())} notify failed task={res['task']} to={payload.get('to')} "
                           f"exit={res['exit_code']} timed_out={str(res['timed_out']).lower()} "
                           f"error={res['error']} command={command!r}")
        results.append(res)
    return results


def fake_transition(project: str, report: Path) -> dict:
    """The transition `orch notify test` sends."""
    return {"task": "orch-test", "from": "working", "to": "waiting-input", "reason": "notify-test",
            "next_action": "none: this is a test notification from `orch notify test`",
            "evidence": "sent by orch notify test", "at": iso(utcnow()), "project": project,
            "report": str(report), "test": True}
