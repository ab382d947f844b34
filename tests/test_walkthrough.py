"""User docs stay true: the walkthrough's commands run as it says; commands.md covers every command and option."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from conftest import ORCH, run

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "walkthrough.md"
COMMANDS_DOC = ROOT / "docs" / "commands.md"

# Conventions of the page (it tells the reader the same):
# - only ```sh blocks hold commands, one per line (a trailing backslash continues a line);
#   lines starting with `#` are comments; output goes in other blocks (```text, ```markdown);
# - a command meant to exit non-zero ends with a comment `# exits N`;
# - `export DEMO=…` picks the demo folder: the test sets DEMO itself (under tmp_path);
# - `cd DIR` changes the folder for the commands after it; other `export NAME=VALUE` lines
#   set NAME for the commands after them.
EXITS = re.compile(r"#\s*exits\s+(\d+)\s*$")


def walkthrough_commands(text: str | None = None) -> list[tuple[str, int]]:
    """The commands of the ```sh blocks, in order, each with the exit code the page expects."""
    text = DOC.read_text() if text is None else text
    commands: list[tuple[str, int]] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        pending = ""
        for raw in block.splitlines():
            line = raw.rstrip()
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            m = EXITS.search(line)
            commands.append((line, int(m.group(1)) if m else 0))
        assert not pending, f"a ```sh block ends inside a continued line: {pending!r}"
    return commands


def _expand(word: str, env: dict, cwd: Path) -> str:
    proc = subprocess.run(["bash", "-c", f"printf %s {word}"], env=env, cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


_SHELL_SYNTAX = re.compile(r"[|&;<>()$`*?~\\]")


def _run_line(cmd: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """A plain `orch …` line runs in-process (as the rest of the suite does); anything else goes to bash."""
    words = shlex.split(cmd, comments=True)
    if words and words[0] == "orch" and not _SHELL_SYNTAX.search(cmd.split("#", 1)[0]):
        return run([ORCH, *words[1:]], cwd=cwd, env=env, check=False)
    return subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_convention_parser_reads_exit_markers_and_continuations():
    sample = "x\n```sh\n# a comment\norch a  # exits 3\norch b \\\n  --c\n```\n```text\nnot a command\n```\n"
    assert walkthrough_commands(sample) == [("orch a  # exits 3", 3), ("orch b    --c", 0)]


def test_walkthrough_commands_run_as_documented(tmp_path, env):
    commands = walkthrough_commands()
    assert len(commands) >= 15, "the walkthrough lost its commands"
    assert any(c.startswith("orch demo ") for c, _ in commands)
    env = {**env, "DEMO": str(tmp_path / "orch-demo")}
    # A machine with no global git identity: HOME without .gitconfig (the demo sets one in its own repository).
    home = tmp_path / "home-without-gitconfig"
    home.mkdir()
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"))
    cwd = tmp_path
    ran = []
    for cmd, expected in commands:
        if re.match(r"export DEMO=", cmd):
            continue  # the test picks the folder
        m = re.match(r"export (\w+)=(.*)$", cmd)
        if m:
            env[m.group(1)] = _expand(m.group(2), env, cwd)
            continue
        m = re.match(r"cd (.+)$", cmd)
        if m:
            cwd = Path(_expand(m.group(1), env, cwd))
            if not cwd.is_absolute():
                cwd = (tmp_path / cwd).resolve()
            assert cwd.is_dir(), f"`{cmd}`: no such folder {cwd}"
            continue
        proc = _run_line(cmd, cwd, env)
        ran.append(cmd)
        assert proc.returncode == expected, (
            f"`{cmd}` exited {proc.returncode}, the walkthrough says {expected}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}")
        assert "Traceback" not in proc.stderr, proc.stderr
    # What the page promises at the end: the two decided tasks are cleaned, the others untouched.
    demo = Path(env["DEMO"])
    assert not (demo / "worktrees" / "checkout-fix").exists() and not (demo / "worktrees" / "docs").exists()
    assert (demo / "worktrees" / "search").is_dir() and (demo / "worktrees" / "coupons").is_dir()
    assert any(c.startswith("orch watch ") for c in ran) and any(c.startswith("orch cleanup --apply") for c in ran)
    # `orch schedule` and `orch hooks install --print` only printed: nothing was written under HOME.
    home = Path(env["HOME"])
    assert not (home / ".config" / "systemd").exists()
    assert not (home / ".claude" / "settings.json").exists()


def _cli_commands():
    """Every leaf command of the real CLI with its long options, walked in-process (no subprocess)."""
    import typer

    from orchestrator.cli import app

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield " ".join(path), [o for p in cmd.params for o in p.opts if o.startswith("--") and o != "--help"]

    return list(walk(typer.main.get_command(app), []))


def test_commands_reference_covers_every_command_and_option():
    text = COMMANDS_DOC.read_text()
    sections = {}
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        heading, _, body = chunk.partition("\n")
        sections[heading.replace("`", "")] = body
    missing = []
    for path, options in _cli_commands():
        body = next((b for h, b in sections.items() if f"orch {path}" in h), None)
        if body is None:  # `orch hook codex` lives in the section of its group
            group = f"orch {path.split()[0]}"
            body = next((b for h, b in sections.items() if h == group and f"orch {path}" in b), None)
        if body is None:
            missing.append(f"no section for `orch {path}`")
            continue
        missing += [f"`orch {path}` does not mention {opt}" for opt in options if opt not in body]
    assert not missing, "\n".join(missing)
    for name in ("--repo", "--db", "ORCH_DB", "ORCH_HOST", "CODEX_HOME", "CLAUDE_CONFIG_DIR", "ORCH_DEBUG"):
        assert name in sections["Global options and environment"], name
