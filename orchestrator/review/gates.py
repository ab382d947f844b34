"""Run a task's gate commands on request: /bin/sh -c in the worktree, a timeout that kills the group, a tail."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from orchestrator.system.procs import kill_group
from orchestrator.redact import redact
from orchestrator.timeutil import utcnow

TAIL_BYTES = 4096
TAIL_LINES = 40
_KEEP = 4 * TAIL_BYTES  # raw bytes kept while reading; a gate printing megabytes costs no more than this
_CHUNK = 65536


@dataclass
class GateOutcome:
    """What one gate run produced: exit code (None if it timed out or could not start), a tail of its output."""

    gate: str
    exit_code: int | None
    timed_out: bool
    duration_ms: int
    output_tail: str
    started_at: datetime
    error: str | None = None  # could not start at all

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class TailBuffer:
    """Keeps only the last bytes of a stream, however long it runs; counts what it dropped."""

    def __init__(self, keep: int = _KEEP):
        self.keep = keep
        self.buf = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.buf += chunk
        if len(self.buf) > self.keep:
            del self.buf[: len(self.buf) - self.keep]

    def tail(self, max_bytes: int = TAIL_BYTES, max_lines: int = TAIL_LINES) -> str:
        text = bytes(self.buf).decode("utf-8", "replace").replace("\x00", "")
        lines = text.splitlines()
        cut = self.total > len(self.buf)
        if len(lines) > max_lines:
            lines, cut = lines[-max_lines:], True
        out = "\n".join(lines)
        if len(out.encode()) > max_bytes:
            out, cut = out.encode()[-max_bytes:].decode("utf-8", "ignore"), True
            if "\n" in out:
                out = out.split("\n", 1)[1]
        out = redact(out)
        if cut:
            out = f"[… {self.total} bytes of output in all; last lines kept]\n" + out
        return out


def _reader(stream, tail: TailBuffer) -> None:
    fd = stream.fileno()
    try:
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            tail.add(chunk)
    except OSError:
        pass


def run_gate(gate: str, cwd: str, timeout: float, progress: Callable[[float], None] | None = None) -> GateOutcome:
    """Run one gate with `/bin/sh -c` in `cwd`; kill its whole process group after `timeout` seconds."""
    started_at = utcnow()
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", gate], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return GateOutcome(gate, None, False, 0, "", started_at, error=f"cannot start: {exc.strerror or exc}")
    tail = TailBuffer()
    reader = threading.Thread(target=_reader, args=(proc.stdout, tail), daemon=True)
    reader.start()
    timed_out = False
    deadline = t0 + timeout
    try:
        while True:
            try:
                proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if progress is not None:
                progress(time.monotonic() - t0)
            if time.monotonic() >= deadline:
                timed_out = True
                kill_group(proc, grace=2.0)
                break
    except BaseException:  # Ctrl-C: the gate runs in a session of its own and would outlive us
        kill_group(proc, grace=2.0)
        raise
    if not timed_out:
        # The shell is done; anything it left running in its group must not hold the pipe open.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    reader.join(timeout=5)
    try:
        proc.stdout.close()
    except OSError:
        pass
    duration_ms = int((time.monotonic() - t0) * 1000)
    code = proc.returncode
    if timed_out:
        code = None
    elif code is not None and code < 0:
        code = 128 - code  # killed by a signal: the shell's convention
    text = tail.tail()
    if timed_out:
        text = (text + "\n" if text else "") + f"[timed out after {timeout:g}s; process group killed]"
    return GateOutcome(gate, code, timed_out, duration_ms, text, started_at)


def record_gate(ledger, task_id: int, outcome: GateOutcome, commit: str | None, host: str) -> dict:
    """Store one run as a GateRun row plus a `gate-run` event, in its own short transaction."""
    from orchestrator.ledger.models import GateRun, Task
    from orchestrator.ledger.record import add_event
    from orchestrator.timeutil import iso

    tail = outcome.output_tail if outcome.error is None else outcome.error
    with ledger.session() as s:
        proj = ledger.project(s)
        task = s.get(Task, task_id)
        run = GateRun(task_id=task_id, gate=outcome.gate, commit=commit, exit_code=outcome.exit_code,
                      timed_out=outcome.timed_out, duration_ms=outcome.duration_ms, output_tail=tail, host=host,
                      started_at=outcome.started_at)
        s.add(run)
        result = "timeout" if outcome.timed_out else ("pass" if outcome.passed else "fail")
        add_event(s, proj, utcnow(), "gate-run", task, to_value=result, note=outcome.gate[:500], actor="user",
                  host=host, data={"exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
                                   "duration_ms": outcome.duration_ms, "commit": commit})
    return {"gate": outcome.gate, "commit": commit, "exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
            "duration_ms": outcome.duration_ms, "output_tail": tail, "host": host,
            "started_at": iso(outcome.started_at)}
