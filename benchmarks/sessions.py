"""Benchmark `orch tick` with a huge Codex rollout that grows by ~1 KB per tick against the same task with no session."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ORCH, dispatch_many, fmt, git, log, make_env, make_repo, orch, parser, result, timed, workdir  # noqa: E402

TARGET, LOW = 1.2, 1.0
START = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)
REL_DIR = Path("sessions/2026/11/25")


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def line(at: datetime, kind: str, payload: dict) -> str:
    return json.dumps({"timestamp": ts(at), "type": kind, "payload": payload}, separators=(",", ":")) + "\n"


def head(session_id: str, cwd: str) -> str:
    """session_meta, turn_context and the start of a turn (section 1.3-1.6 of session-formats.md)."""
    turn = str(uuid.uuid4())
    return "".join([
        line(START, "session_meta", {"id": session_id, "timestamp": ts(START), "cwd": cwd, "originator": "codex_cli_rs",
                                     "cli_version": "0.107.0", "source": "cli", "model_provider": "openai",
                                     "git": {"branch": "b0"}}),
        line(START, "turn_context", {"turn_id": turn, "cwd": cwd, "approval_policy": "on-request",
                                     "sandbox_policy": {"type": "workspace-write", "network_access": False},
                                     "model": "gpt-5.3-codex", "effort": "medium", "summary": "auto"}),
        line(START, "event_msg", {"type": "task_started", "turn_id": turn, "model_context_window": 272000}),
        line(START, "event_msg", {"type": "user_message", "message": "make the checkout tests pass",
                                  "local_images": [], "text_elements": []}),
    ])


def block(at: datetime, n: int, cwd: str) -> str:
    """One step of a busy turn: reasoning, a shell call and its output, a message, a token count (~3 KB)."""
    call = f"call_{n:08d}"
    args = json.dumps({"command": ["bash", "-lc", f"pytest tests/test_mod{n % 40}.py -q"], "workdir": cwd,
                       "sandbox_permissions": "use_default"})
    output = json.dumps({"output": ("." * 60 + "\n") * 20 + f"{n % 50 + 1} passed in 0.42s\n",
                         "metadata": {"exit_code": 0, "duration_seconds": 0.9}})
    ms = timedelta(milliseconds=1)
    return "".join([
        line(at, "response_item", {"type": "reasoning", "summary": [{"type": "summary_text",
             "text": "**Running the tests** I will run the module's tests and read the failures. " * 4}],
             "encrypted_content": "gAAAA" + "x" * 600}),
        line(at + ms, "response_item", {"type": "function_call", "name": "shell", "arguments": args, "call_id": call}),
        line(at + 200 * ms, "response_item", {"type": "function_call_output", "call_id": call, "output": output}),
        line(at + 201 * ms, "event_msg", {"type": "agent_message", "message": f"Step {n}: tests pass, moving on.",
                                          "phase": "commentary"}),
        line(at + 202 * ms, "event_msg", {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": 41230 + n, "cached_input_tokens": 30976, "output_tokens": 1812,
                                  "reasoning_output_tokens": 960, "total_tokens": 43042 + n},
            "last_token_usage": {"input_tokens": 9120, "cached_input_tokens": 8704, "output_tokens": 402,
                                 "reasoning_output_tokens": 192, "total_tokens": 9522},
            "model_context_window": 272000},
            "rate_limits": {"primary": {"used_percent": 12.0, "window_minutes": 300, "resets_at": 1772452800},
                            "secondary": None, "credits": None, "plan_type": "plus"}}),
    ])


def write_rollout(codex_home: Path, cwd: str, size_mb: float) -> Path:
    """A rollout of about size_mb MB, written fast: blocks of ~3 KB with increasing timestamps."""
    sid = str(uuid.uuid4())
    path = codex_home / REL_DIR / f"rollout-2026-11-25T10-00-00-{sid}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    target = int(size_mb * 1_000_000)
    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8") as f:
        f.write(head(sid, cwd))
        written, n, buf = 0, 0, []
        while written < target:
            b = block(START + timedelta(seconds=0.25 * n), n, cwd)
            buf.append(b)
            written += len(b)
            n += 1
            if len(buf) >= 500:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    log(f"  rollout {path.stat().st_size / 1e6:.1f} MB ({n} steps) written in {time.perf_counter() - t0:.1f}s")
    return path


def append(path: Path, n: int, cwd: str) -> None:
    """About 1 KB of new lines, stamped now: an agent message, a shell call and its output."""
    now = datetime.now(timezone.utc)
    call = f"call_new_{n}"
    text = "".join([
        line(now, "event_msg", {"type": "agent_message", "message": f"Now fixing step {n}. " * 10, "phase": "commentary"}),
        line(now, "response_item", {"type": "function_call", "name": "shell", "call_id": call,
                                    "arguments": json.dumps({"command": ["bash", "-lc", "git diff --stat"], "workdir": cwd})}),
        line(now, "response_item", {"type": "function_call_output", "call_id": call,
                                    "output": json.dumps({"output": " src/mod.py | 4 ++--\n" * 20,
                                                          "metadata": {"exit_code": 0, "duration_seconds": 0.1}})}),
    ])
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def build(base: Path) -> tuple[Path, dict, Path]:
    """A repository with one Codex worker task in its own worktree."""
    env = make_env(base)
    root = make_repo(base, env)
    wt = base / "wt" / "w0"
    git(root, env, "worktree", "add", "-q", "-b", "b0", str(wt), "main")
    dispatch_many(root, env, [("t0", "b0", wt)])
    return root, env, wt


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--size-mb", type=float, default=200, help="size of the rollout file in MB (default 200)")
    args = p.parse_args()
    base, cleanup = workdir(args.keep)
    try:
        log(f"building two repositories in {base} ...")
        big, env_big, wt = build(base / "big")
        plain, env_plain, _ = build(base / "plain")
        rollout = write_rollout(Path(env_big["CODEX_HOME"]), str(wt.resolve()), args.size_mb)
        log("first tick (reads the whole rollout) ...")
        t0 = time.perf_counter()
        orch(big, env_big, "tick")
        first = time.perf_counter() - t0
        orch(plain, env_plain, "tick")
        ticks, floors = [], []
        for i in range(args.runs):
            append(rollout, i, str(wt.resolve()))
            ticks.append(timed([ORCH, "tick"], big, env_big))
            floors.append(timed([ORCH, "tick"], plain, env_plain))
        print(f"rollout {rollout.stat().st_size / 1e6:.1f} MB, runs {args.runs}")
        print(f"first tick (full read)         {first:.3f}s")
        print(f"orch tick after ~1 KB appended {fmt(ticks)}")
        print(f"orch tick, no session (floor)  {fmt(floors)}")
        result("sessions", ticks, floors, TARGET, low=LOW)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
