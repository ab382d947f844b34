"""Bad input gets one clear line on stderr and exit 2: never a traceback, never lost data."""

from __future__ import annotations

import pytest

BAD_COMMANDS = [
    (["dispatch", "T1", "--branch", "other"], "already exists"),
    (["task", "show", "NOPE"], "unknown task 'NOPE'"),
    (["task", "set", "NOPE", "merged"], "unknown task"),
    (["task", "set", "T1", "finished"], "invalid status 'finished'"),
    (["task", "set", "T1", "cleaned"], "invalid status"),
    (["dispatch", "bad id!", "--branch", "x"], "invalid task id"),
    (["dispatch", "T2", "--branch", "bad..name"], "invalid branch name"),
    (["dispatch", "T2", "--branch", "-rf"], "invalid branch name"),
    (["dispatch", "T2", "--branch", "w"], "already belongs to task 'T1'"),
    (["dispatch", "T2", "--branch", "x", "--worktree", "/nonexistent/place"], "does not exist"),
    (["dispatch", "T2", "--branch", "x", "--worktree", "/"], "is not a worktree"),
    (["dispatch", "T2", "--branch", "x", "--base", "no-such-ref"], "unknown base"),
    (["dispatch", "T2", "--branch", "x", "--agent", "robot"], "invalid agent"),
    (["dispatch", "T2", "--branch", "x", "--worktree", ".", "--pending-id", "ab12"], "either --worktree or --pending-id"),
    (["tick", "--now", "yesterday"], "invalid --now"),
    (["init", "--stale-after", "5x"], "invalid --stale-after"),
    (["mode", "sleepy"], "invalid mode"),
    (["--db", "mysql://localhost/x", "status"], "unsupported ledger URL"),
    (["--db", "postgresql+psycopg://postgres@127.0.0.1:1/none", "status"], "cannot open the ledger"),
    (["--repo", "/nonexistent/x", "status"], "no such directory"),
]


def one_line_error(proc, expected: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("orch: ") and expected in lines[0], lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture
def populated(repo):
    wt = repo.worktree("w")
    repo.dispatch("T1", "w", wt)
    repo.orch("tick")
    return repo


def test_bad_commands_get_one_line_and_lose_nothing(populated):
    r = populated
    before = r.orch_json("task", "show", "T1")
    for args, expected in BAD_COMMANDS:
        one_line_error(r.orch(*args, check=False), expected)
    after = r.orch_json("task", "show", "T1")
    # `for` is the age of the condition, derived from the clock at display time: on a loaded machine the
    # loop above can take over a minute. Every recorded field must be the same.
    before["task"].pop("for"), after["task"].pop("for")
    assert after["task"] == before["task"]
    assert after["history"] == before["history"]
    assert [t["id"] for t in r.orch_json("task", "list")["tasks"]] == ["T1"]


def test_not_a_repository_and_not_initialised(tmp_path, bare_repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    one_line_error(bare_repo.orch("tick", check=False, cwd=plain), "not a git repository")
    one_line_error(bare_repo.orch("tick", check=False), "orch init")
    one_line_error(bare_repo.orch("dispatch", "T", "--branch", "b", check=False), "orch init")


@pytest.mark.parametrize("content,expected", [
    ("garbage = [\n", "not valid TOML"),
    ('stale_after = "soon"\n', "invalid stale_after"),
    ('max_concurrency = "five"\n', "must be an integer"),
])
def test_bad_config_file(repo, content, expected):
    (repo.root / ".orch" / "config.toml").write_text(content)
    one_line_error(repo.orch("status", check=False), expected)


def test_corrupt_ledger_file_is_reported_not_overwritten(repo):
    ledger = repo.root / ".orch" / "ledger.db"
    garbage = b"this is not a database" * 200
    ledger.write_bytes(garbage)
    one_line_error(repo.orch("tick", check=False), "file is not a database")
    assert ledger.read_bytes() == garbage


def test_usage_errors_exit_2_without_traceback(repo):
    """Click's own usage errors read like orch's: one line, the hint naming the command's help, exit 2."""
    for args, expected in ((["frobnicate"], "no such command 'frobnicate' (try `orch --help`)"),
                           (["task", "show"], "missing argument 'TASK' (try `orch task show --help`)"),
                           (["tick", "--bogus"], "no such option: --bogus (try `orch tick --help`)"),
                           (["task", "list", "-c"], "option '-c' requires an argument (try `orch task list --help`)"),
                           (["--repo", ".", "task", "show", "T1", "--limit", "x"], "invalid value for '--limit'"),
                           (["misalign", "resolve", "#x"], "invalid misalignment number '#x'"),
                           (["misalign", "resolve", "#7"], "unknown misalignment 7")):
        one_line_error(repo.orch(*args, check=False), expected)
    help_ = repo.orch("task", check=False)  # a group without its command: the help, as before
    assert help_.returncode == 2 and "Commands:" in help_.stdout + help_.stderr
