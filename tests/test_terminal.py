"""What a person sees: `orch status` as a summary (coloured in a terminal, honouring NO_COLOR), `--md` for the
Markdown, `orch task list` one line per task in a pipe with filters, and CLI conventions in every --help."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest

from conftest import ORCH, run
from fakebin import path_with, systemctl

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_terminal(args, cwd, env, timeout=120) -> str:
    """Run the real orch with a pseudo-terminal as stdout; return what it printed (with its escapes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([ORCH, *args], cwd=cwd, env=env, stdout=slave, stderr=subprocess.PIPE, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from conftest import _base_env

    base = tmp_path_factory.mktemp("demo")
    env = _base_env(base)
    run([ORCH, "demo", str(base / "d")], cwd=base, env=env)
    return base / "d" / "shop", env


def test_status_summary_in_a_pipe_is_plain(demo):
    shop, env = demo
    out = run([ORCH, "status"], cwd=shop, env=env).stdout
    assert not ANSI.search(out)
    lines = out.splitlines()
    assert lines[0] == "● orch: blocked (shop)"
    assert re.search(r"^\s+Last tick: #1 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; .* on test-host$", out, re.M)
    assert re.search(r"^\s+Next tick: not scheduled: run `orch tick`, or install a schedule", out, re.M)
    assert re.search(r"^\s+Schedule: none installed for host test-host$", out, re.M)
    assert re.search(r"^\s+Tasks: 5: .*1 working.*1 blocked", out, re.M)
    assert "Act now:" in out and re.search(r"^  1\. T4 blocked \(branch-mismatch\) → resolve the blocker", out, re.M)
    assert "---" not in out and "# orch:" not in out  # not the Markdown


def test_status_md_prints_the_markdown(demo):
    shop, env = demo
    out = run([ORCH, "status", "--md"], cwd=shop, env=env).stdout
    assert out.startswith("---\n") and "# orch: blocked (shop)" in out and "## Act now" in out


def test_status_in_a_terminal_is_coloured_unless_no_color(demo):
    shop, env = demo
    env = {k: v for k, v in env.items() if k != "NO_COLOR"}
    out = in_terminal(["status"], shop, {**env, "TERM": "xterm"})
    assert "\x1b[31;1mblocked\x1b[0m" in out  # the overall state, red
    assert "\x1b[32m1 working\x1b[0m" in out
    plain = in_terminal(["status"], shop, {**env, "TERM": "xterm", "NO_COLOR": "1"})
    assert not ANSI.search(plain) and "● orch: blocked (shop)" in plain


def test_status_shows_the_schedule_and_when_the_next_tick_is_due(demo, tmp_path):
    shop, env = demo
    env = path_with({**env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}, systemctl(tmp_path / "on", True, True))
    run([ORCH, "schedule", "systemd", "--install", "--every", "10m"], cwd=shop, env=env)
    run([ORCH, "tick"], cwd=shop, env=env)
    out = run([ORCH, "status"], cwd=shop, env=env).stdout
    assert re.search(r"Schedule: systemd orch-tick-shop-[0-9a-f]{8}: enabled, running \(.*enabled and active", out)
    assert re.search(r"Next tick: due in (9m|10m|\d+s) \(every 10m\)", out), out
    off = path_with(env, systemctl(tmp_path / "off", False, False))
    out = run([ORCH, "status"], cwd=shop, env=off).stdout
    assert "installed, NOT running" in out and "Next tick: not scheduled" in out


def test_task_list_one_line_per_task_in_a_pipe(demo):
    shop, env = demo
    out = run([ORCH, "task", "list"], cwd=shop, env={**env, "COLUMNS": "40"}).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["task", "status", "condition", "for", "next", "action", "evidence"]
    assert len(lines) == 6  # a header and five tasks, never wrapped, even in 40 columns
    t4 = next(ln for ln in lines if ln.startswith("T4 "))
    assert "blocked" in t4 and "git: on feat/coupons-v2, expected feat/coupons" in t4  # `grep T4` keeps the evidence


def test_task_list_filters_and_ids_only(demo):
    shop, env = demo

    def ids(*args):
        return run([ORCH, "task", "list", "-q", *args], cwd=shop, env=env).stdout.split()

    assert ids() == ["T1", "T2", "T3", "T4", "T5"]
    assert ids("--condition", "stuck") == ["T3"]
    assert ids("--condition", "stuck", "--condition", "blocked") == ["T3", "T4"]
    assert ids("--attention") == ["T1", "T3", "T4"]
    assert ids("--status", "setup") == ["T5"]
    assert ids("--package", "nothing") == []
    assert ids("-a", "-c", "finished") == ["T1"]
    bad = run([ORCH, "task", "list", "--condition", "sleepy"], cwd=shop, env=env, check=False)
    assert bad.returncode == 2 and "invalid condition 'sleepy'" in bad.stderr
    doc = __import__("json").loads(run([ORCH, "task", "list", "--json", "-c", "working"], cwd=shop, env=env).stdout)
    assert [t["id"] for t in doc["tasks"]] == ["T2"]


def test_task_list_in_a_terminal_colours_conditions(demo):
    shop, env = demo
    env = {k: v for k, v in env.items() if k != "NO_COLOR"}
    out = in_terminal(["task", "list"], shop, {**env, "TERM": "xterm"})
    assert "\x1b[" in out and "blocked" in ANSI.sub("", out)
    plain = in_terminal(["task", "list"], shop, {**env, "TERM": "xterm", "NO_COLOR": "1"})
    assert not ANSI.search(plain)


def test_help_conventions(env, tmp_path):
    from orchestrator.cli.conventions import STATUSES
    from orchestrator.ledger.models import MODES, SETTABLE_STATUSES, TASK_STATUSES

    assert STATUSES == TASK_STATUSES
    for path, want in ([["schedule"], "[cron|systemd|launchd]"], [["dispatch"], "[codex|claude|other]"],
                       [["mode"], "[" + "|".join(MODES) + "]"], [["task", "set"], "[" + "|".join(SETTABLE_STATUSES) + "]"],
                       [["task", "list"], "[setup-pending|setup-overdue|working|"], [["hooks", "install"], "[codex|claude]"]):
        short = run([ORCH, *path, "-h"], cwd=tmp_path, env=env).stdout
        assert short == run([ORCH, *path, "--help"], cwd=tmp_path, env=env).stdout
        assert want in short, (path, short)
    assert "Exit codes:" in run([ORCH, "-h"], cwd=tmp_path, env=env).stdout


def test_no_python_types_and_exit_codes_in_every_help():
    """Walk the real command tree as `orch` builds it: no `<str>`/`<int>` metavars; every command has exit codes."""
    import typer

    from orchestrator.cli import app
    from orchestrator.cli.conventions import tidy

    root = typer.main.get_command(app)
    tidy(root)

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None) or {}
        yield path, cmd
        for name, sub in subs.items():
            yield from walk(sub, path + [name])

    problems = []
    for path, cmd in walk(root, []):
        ctx = typer.main._click.Context(cmd, info_name=" ".join(["orch", *path]))
        text = cmd.get_help(ctx)
        if re.search(r"<(str|int|float|path|bool|list\[)", text):
            problems.append(f"orch {' '.join(path)}: a Python type in a metavar:\n{text}")
        if not (getattr(cmd, "commands", None)) and "Exit codes:" not in text:
            problems.append(f"orch {' '.join(path)}: no exit codes in its help")
    assert not problems, "\n".join(problems)


def test_shell_completion_is_offered(env, tmp_path):
    out = run([ORCH, "--help"], cwd=tmp_path, env=env).stdout
    assert "--install-completion" in out and "--show-completion" in out
    shown = run([ORCH, "--show-completion", "bash"], cwd=tmp_path, env=env)
    assert "complete" in shown.stdout and "_ORCH_COMPLETE" in shown.stdout.upper()
