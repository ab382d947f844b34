"""Smoke test of the benchmarks: each script runs end to end at a tiny size and prints its RESULT line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
LINE = re.compile(r"^RESULT (\w+): orch \d+\.\d+s \(min \d+\.\d+s\), floor \d+\.\d+s \(min \d+\.\d+s\), "
                  r"ratio \d+\.\d\d \(target [^)]+\)( MISSED)?$")


@pytest.mark.parametrize("script, args", [
    ("tick.py", ["--worktrees", "3", "--runs", "1", "--workers", "3"]),
    ("history.py", ["--ticks", "300", "--tasks", "2", "--runs", "1"]),
    ("sessions.py", ["--size-mb", "0.3", "--runs", "1"]),
    ("startup.py", ["--worktrees", "2", "--big", "0", "--runs", "1"]),
    ("timeline.py", ["--tasks", "3", "--ticks", "20", "--runs", "1"]),
])
def test_benchmark_prints_a_ratio(script, args, tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    m = LINE.match(out.strip().splitlines()[-1])
    assert m, f"no RESULT line at the end of:\n{out}"
    assert m.group(1) == script.removesuffix(".py")
    if script == "tick.py":  # the side figures, and --workers reaching the config and the floor
        assert "git workers 3" in out
        assert re.search(r"^orch --help\s+median \d", out, re.M)
        assert re.search(r"^orch status\s+median \d", out, re.M)
        assert re.search(r"^orch tick \d+\.\d+s = S \+ -?\d+\.\d\d x floor; target S \+ 1.2 x floor", out, re.M)
    elif script == "history.py":
        assert re.search(r"^rows before warm-up: ticks 301, observations 602, events \d+$", out, re.M)
        assert re.search(r"^RESULT history-command: orch history --since 7d \d+\.\d+s \(min \d+\.\d+s\), "
                         r"target <= 1s( MISSED)?$", out, re.M)
    elif script == "startup.py":  # every command of the table, with its ratio to S and its target
        assert re.search(r"^S = python -c 'import sqlalchemy': median \d", out, re.M)
        for label in ("orch --help", "orch --version", "orch status", "orch task list", "orch task show",
                      "orch tick", "orch hook"):
            assert re.search(rf"^{re.escape(label)}.* \d+\.\d+s +\d+\.\d\d +<= ", out, re.M), label
    elif script == "timeline.py":
        assert re.search(r"^timeline rows 3, spans \d+, HTML \d+ kB$", out, re.M)
    else:
        assert re.search(r"^first tick \(full read\)\s+\d+\.\d+s$", out, re.M)


def test_concurrency_benchmark_reports_failures_and_p99(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / "concurrency.py"), "--writers", "8", "--procs", "4",
                           "--ticks", "2", "--sqlite-only"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert re.match(r"^RESULT concurrency: sqlite failures 0/10 p99 \d+\.\d+s \(target 0 failures\)$", last), proc.stdout


def test_ledger_growth_benchmark_reports_bytes_per_tick(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / "ledger_growth.py"), "--worktrees", "3", "--ticks", "2",
                           "--sqlite-only"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"^sqlite quiet tick: [\d,.]+ (B|KiB) per tick \(target <= 2.0 KiB\)", out, re.M), out
    assert re.search(r"^sqlite busy tick \(1 of 3 tasks change\): [\d,.]+ (B|KiB) per tick$", out, re.M), out
    last = out.strip().splitlines()[-1]
    assert re.match(r"^RESULT ledger_growth: sqlite quiet [\d,.]+ (B|KiB)/tick, busy [\d,.]+ (B|KiB)/tick, "
                    r"30 days [\d,.]+ (KiB|MiB|GiB) \(target quiet <= 2.0 KiB, 30 days <= 100.0 MiB\)( MISSED)?$", last), out
