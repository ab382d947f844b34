"""What a person sees: `orch status` as a summary (coloured in a terminal, honouring NO_COLOR), `--md` for the
Markdown, `orch task list` one line per task in a pipe with filters, and CLI conventions in every --help."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import ORCH, run
from fakebin import path_with, systemctl

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_terminal(args, cwd, env, timeout=120, columns: int | None = None) -> str:
    """Run the real orch with a pseudo-terminal as stdout; return what it printed (with its escapes). With
    `columns`, the terminal has that many (its window size, as a terminal emulator sets it; COLUMNS unset)."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
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
    from orchestrator.cli.conventions import AUTHORITIES
    from orchestrator.ledger.stack import AUTHORITIES as LEDGER_AUTHORITIES

    assert AUTHORITIES == LEDGER_AUTHORITIES
    from orchestrator.cli.conventions import MISALIGN_CATEGORIES, REVIEW_STATUSES, SEVERITIES
    from orchestrator.ledger import misalign, packages

    assert (MISALIGN_CATEGORIES, SEVERITIES, REVIEW_STATUSES) == (misalign.CATEGORIES, misalign.SEVERITIES,
                                                                packages.REVIEW_STATUSES)
    for path, want in ([["schedule"], "[cron|systemd|launchd]"], [["dispatch"], "[codex|claude|other]"],
                       [["mode"], "[" + "|".join(MODES) + "]"], [["task", "set"], "[" + "|".join(SETTABLE_STATUSES) + "]"],
                       [["task", "list"], "[setup-pending|setup-overdue|working|"], [["hooks", "install"], "[codex|claude]"]):
        short = run([ORCH, *path, "-h"], cwd=tmp_path, env=env).stdout
        assert short == run([ORCH, *path, "--help"], cwd=tmp_path, env=env).stdout
        assert want in short, (path, short)
    assert "Exit codes:" in run([ORCH, "-h"], cwd=tmp_path, env=env).stdout


def test_no_python_types_and_exit_codes_in_every_help():
    """Walk the real command tree as `orch` builds it: no `<str>`/`<int>` metavars, none that only repeats its option's
    name; every command has exit codes."""
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
        for p in cmd.params:  # values named by what they are (D, PATH, N, TEXT …), not by the option's name
            mv = getattr(p, "metavar", None)
            if getattr(p, "param_type_name", "") == "option" and p.name and mv == p.name.upper().replace("_", "-") \
                    and mv not in ("FILE", "TASK", "PATH", "TEXT"):
                problems.append(f"orch {' '.join(path)} {p.opts[0]}: the metavar {mv} only repeats the option's name")
    assert not problems, "\n".join(problems)


def test_shell_completion_is_offered(env, tmp_path):
    out = run([ORCH, "--help"], cwd=tmp_path, env=env).stdout
    assert "--install-completion" in out and "--show-completion" in out
    shown = run([ORCH, "--show-completion", "bash"], cwd=tmp_path, env=env)
    assert "complete" in shown.stdout and "_ORCH_COMPLETE" in shown.stdout.upper()


# --- fitting the terminal's width (issue 24: 1 and 2) ------------------------------------------------------------

DURATION = re.compile(r"\b\d+[smhd]\b(?! ago)|\b\d+[smhd] ago\b|just now")


def durations_as_n(line: str) -> str:
    """Durations read as N, and "just now" like "3s ago" (a tick can land either side of the second)."""
    return DURATION.sub(lambda m: "N ago" if m[0].endswith(("ago", "now")) else "N", line)


def visible(text: str) -> list[str]:
    return [ANSI.sub("", ln) for ln in text.rstrip("\n").split("\n")]


def rejoin(wrapped: list[str], logical: list[str]) -> None:
    """Each logical line (as a pipe gets it) is the terminal's lines joined at single spaces: broken only between
    words, every continuation under the hanging indent (the body's column after `  2. ` or `  Next tick: `)."""
    it = iter(wrapped)
    for want in logical:
        got = next(it)
        hang = re.match(r"\s*(?:\d+\. |[A-Z][A-Za-z ]*: )?", got).end()
        while got != want:
            more = next(it)
            assert want.startswith(got + " "), (got, want)  # the break fell on a space: no word was split
            assert len(more) - len(more.lstrip(" ")) == hang and hang > 0, (more, hang)
            got = got + " " + more.lstrip(" ")
    assert next(it, None) is None


def test_status_wraps_at_words_under_a_hanging_indent_at_80_and_120_columns(demo):
    shop, env = demo
    logical = [durations_as_n(ln) for ln in visible(run([ORCH, "status"], cwd=shop, env=env).stdout)]
    assert max(len(ln) for ln in logical) > 120  # the pipe gets one line per item (grep), long ones included
    for columns in (80, 120):
        shown = visible(in_terminal(["status"], shop, env, columns=columns))
        assert max(len(ln) for ln in shown) <= columns, shown
        assert len(shown) > len(logical)  # something did wrap
        rejoin([durations_as_n(ln) for ln in shown], logical)
        assert any(re.match(r"  \d\. T3 stuck", ln) for ln in shown)


def test_tables_fit_80_and_120_columns_without_cutting_a_condition(demo):
    from orchestrator.classify.evidence import CONDITIONS

    shop, env = demo
    for columns in (80, 120):
        tasks = visible(in_terminal(["task", "list"], shop, env, columns=columns))
        assert max(len(ln) for ln in tasks) <= columns, tasks
        head = tasks[0]
        assert head.split()[:2] == ["task", "title"]  # a title column when there is room
        at = head.index("condition")
        rows = [ln for ln in tasks[1:] if not ln.startswith("(")]
        assert len(rows) == 5 and all(ln[at:].split()[0] in CONDITIONS for ln in rows), rows  # never cut
        assert "Fix the checkout total" in "\n".join(tasks) or columns < 120
        history = visible(in_terminal(["history"], shop, env, columns=columns))
        table = history[1:next(i for i, ln in enumerate(history) if ln.startswith("Per day"))]
        assert max(len(ln) for ln in history) <= columns and "…" not in "\n".join(table), history
        head, rows = table[0], [ln for ln in table[1:] if ln.startswith("T")]
        assert len(rows) == 5  # one line per task: no cell wrapped
        assert set(head.split()) <= {"task", "now", "working", "work", "waiting-input", "input", "stuck", "waiting",
                                     "review", "unreviewed", "to", "wake", "changes", "chg", "flapping", "flap"}, head
        assert all(ln.split()[1] in (*CONDITIONS, "cleaned") for ln in rows), rows  # the "now" column, whole
        left_out = [ln for ln in table if ln.startswith("(left out")]
        assert bool(left_out) == (columns == 80), table  # 120 columns hold every column


def test_wrap_cut_and_table_never_split_a_word():
    from orchestrator.cli.layout import Column, Table, cut, wrap

    body = ("T3 stuck (no-progress) → inspect or nudge the worker — git: clean, no commits after base; "
            "timing: last progress 35m ago; session-log: /home/ana/.codex/sessions/2026/05/01/rollout-019a2b3c.jsonl")
    for width in (40, 80, 120):
        lines = wrap("  12. ", body, width)
        assert all(len(ln) <= width for ln in lines) and all(ln.startswith("      ") for ln in lines[1:])
        words = " ".join(ln.strip() for ln in lines).split()
        assert all(w in ("12. " + body).split() or w.endswith("…") for w in words)  # a path wider than the line is cut, with …
    assert wrap("  1. ", body, None) == ["  1. " + body]  # a pipe: one line
    assert cut("commits after base", 12) == "commits…" and cut("short", 12) == "short"
    table = Table([Column("task"), Column("condition"), Column("evidence", flex=True, min=10)], drop=("evidence",))
    table.add_row("T1", "finished-uncommitted", "git: 3 uncommitted: src/checkout/total.py, src/checkout/tax.py")
    for width, evidence in ((80, True), (48, True), (30, False)):
        lines = table.lines(width)
        assert lines[1].split()[1] == "finished-uncommitted" and all(len(ln) <= width for ln in lines), lines
        assert ("evidence" in lines[0]) == evidence and table.left_out == ([] if evidence else ["evidence"])


def test_mode_alone_authority_choices_completion_and_init_reports(repo, tmp_path):
    """`orch mode` prints the mode; --authority shows its choices; the shell completes task ids from the ledger,
    conditions and schedule kinds (and nothing, quietly, outside a repository); `orch init` made reports/."""
    r = repo
    assert (r.root / ".orch" / "reports").is_dir()  # before any tick, as the docs say
    assert r.orch("mode").stdout == "Mode active.\n"
    r.orch("mode", "drain", "--note", "release freeze")
    shown = r.orch_json("mode")
    assert (shown["mode"], shown["note"]) == ("drain", "release freeze") and shown["since"]
    assert "--authority [commit|push|merge]" in " ".join(r.orch("dispatch", "--help").stdout.split())
    wt = r.worktree("w")
    r.dispatch("T1", "w", wt)
    r.dispatch("api-2", "b2")

    def complete(words: str, cwd=r.root) -> list[str]:
        cword = len(words.split()) - (0 if words.endswith(" ") else 1)
        proc = run([ORCH], cwd=cwd, env={**r.env, "_ORCH_COMPLETE": "complete_bash", "COMP_WORDS": words,
                                         "COMP_CWORD": str(cword)})
        assert proc.stderr == ""
        return proc.stdout.split()

    assert complete("orch task show ") == ["T1", "api-2"]
    assert complete("orch review a", cwd=wt) == ["api-2"]  # from a worker's worktree too
    assert complete("orch watch --until attention,fin") == ["attention,finished", "attention,finished-uncommitted"]
    assert complete("orch task list --condition st") == ["stuck"]
    assert complete("orch schedule ") == ["cron", "systemd", "launchd"]
    assert complete("orch task show ", cwd=tmp_path) == []  # not a repository: nothing, no error
