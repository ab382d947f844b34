"""The Codex skill: its front matter, the commands it tells an agent to run, and `orch skill install`."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from conftest import ORCH, run

SKILL = Path(__file__).resolve().parent.parent / "skill" / "SKILL.md"
# Commands other engineers are still writing: their checks skip (with a message) while missing.
IN_PROGRESS = {"review", "watch", "cleanup", "sessions", "doctor", "hooks", "schedule"}
GROUPS = {"task", "db", "skill", "import", "hooks", "package", "misalign"}
# Options the skill names on their own (`--pending-id ID`), checked on their command's --help too.
ALSO = {"dispatch": {"--pending-id", "--base"}}


def front_matter(text: str) -> tuple[dict, str]:
    """Parse the simple YAML front matter by hand: `key: value` lines and one level of nesting."""
    lines = text.splitlines()
    assert lines[0] == "---", "SKILL.md must start with a --- line"
    end = lines.index("---", 1)
    data: dict = {}
    parent = None
    for line in lines[1:end]:
        if not line.strip():
            continue
        m = re.match(r"^( *)([A-Za-z_-]+):\s*(.*)$", line)
        assert m, f"unparsed front matter line: {line!r}"
        indent, key, value = m.groups()
        if indent:
            assert parent is not None, f"indented line without a parent: {line!r}"
            data[parent][key] = value.strip()
        elif value.strip():
            data[key], parent = value.strip(), None
        else:
            data[key], parent = {}, key
    return data, "\n".join(lines[end + 1:])


def skill_commands(body: str) -> dict[str, set[str]]:
    """Every `orch ...` the body tells the agent to run: command path -> the options it uses."""
    spans = re.findall(r"`(orch [^`]+)`", body)
    for block in re.findall(r"```(?:sh|bash)?\n(.*?)```", body, re.S):
        spans += [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip().startswith("orch ")]
    # a chained line (`orch review T --exit-code && git merge … && orch tick`): each orch command on its own
    spans = [part.strip() for span in spans for part in re.split(r"&&|\|\||;|\|", span)]
    found: dict[str, set[str]] = {}
    for span in spans:
        if not span.startswith("orch "):
            continue
        words = span.split()[1:]
        if not words or not re.fullmatch(r"[a-z-]+", words[0]):
            continue
        path = words[:2] if words[0] in GROUPS and len(words) > 1 else words[:1]
        found.setdefault(" ".join(path), set()).update(w.split("=")[0] for w in words if w.startswith("--"))
    return found


TEXT = SKILL.read_text(encoding="utf-8")
META, BODY = front_matter(TEXT)
COMMANDS = skill_commands(BODY)


def test_front_matter_is_valid_for_codex():
    assert META["name"] == "orch" and len(META["name"]) <= 64
    desc = META["description"]
    assert desc and len(desc) <= 1024 and "\n" not in desc
    assert "worktree" in desc and "orch" in desc
    short = META["metadata"]["short-description"]
    assert short and len(short) <= 500
    assert len(TEXT.splitlines()) <= 150, "an agent reads the whole skill: keep it compact"


def test_body_covers_the_runbook():
    for needle in (".orch/reports/latest.md", "orch tick", "orch ack", "orch watch --until attention --timeout 9m",
                   "timeout: 600000", "run_in_background", "timeout_ms", "Untracked workers", "`(integration)`",
                   "--pending-id", "orch review TASK", "--run-gates", "orch cleanup", "orch cleanup --apply",
                   "orch mode", "drain", "paused", "never merges", "worktree during a tick", "`direct`", "`proxy`",
                   "`local`", "`blocked`", "Never claim `direct`"):
        assert needle in BODY, f"the skill does not mention {needle!r}"
    for condition in ("waiting-input", "blocked", "stuck", "finished", "finished-uncommitted", "no-output",
                      "cleanup-needed", "setup-overdue", "reviewing"):
        assert f"`{condition}`" in BODY, f"the skill says nothing about {condition}"
    for status in ("merged", "rejected", "abandoned", "blocked", "reviewing"):
        assert f"orch task set TASK {status}" in BODY
    for option in ("--branch", "--worktree", "--allow", "--forbid", "--gate", "--package", "--agent", "--thread-id"):
        assert option in COMMANDS["dispatch"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_the_skill_names_exists(command, env, tmp_path):
    proc = run([ORCH, *command.split(), "--help"], cwd=tmp_path, env=env, check=False)
    if proc.returncode != 0 and command.split()[0] in IN_PROGRESS and "No such command" in proc.stderr:
        pytest.skip(f"`orch {command}` is not implemented yet (another engineer is writing it)")
    assert proc.returncode == 0, f"`orch {command} --help` failed: {proc.stderr}"
    help_text = " ".join(proc.stdout.split())
    for option in sorted(COMMANDS[command] | ALSO.get(command, set())):
        assert option in help_text, f"the skill uses `orch {command} {option}`, which --help does not list"


def _install(env, cwd, *args, check=True):
    return run([ORCH, "skill", "install", *args], cwd=cwd, env=env, check=check)


def test_install_for_codex_and_claude_then_up_to_date(env, tmp_path):
    proc = _install(env, tmp_path)  # no repository needed
    codex = Path(env["HOME"]) / ".agents" / "skills" / "orch" / "SKILL.md"
    claude = Path(env["CLAUDE_CONFIG_DIR"]) / "skills" / "orch" / "SKILL.md"
    for target in (codex, claude):
        assert target.read_text() == TEXT
        assert f"{target}: installed" in proc.stdout
        sidecar = (target.parent / ".orch-installed").read_text().strip()
        assert sidecar == hashlib.sha256(TEXT.encode()).hexdigest()
    again = _install(env, tmp_path)
    assert again.stdout.count("up to date") == 2 and "installed" not in again.stdout


def test_user_edits_are_refused_without_force(env, tmp_path):
    _install(env, tmp_path)
    codex = Path(env["HOME"]) / ".agents" / "skills" / "orch" / "SKILL.md"
    codex.write_text(TEXT + "\nMy own rule: always run the linter.\n")
    proc = _install(env, tmp_path, check=False)
    assert proc.returncode == 2
    assert f"{codex}: refused (edited since orch installed it; use --force" in proc.stderr
    assert "-My own rule: always run the linter." in proc.stderr  # a short diff of what would be lost
    assert "claude/skills/orch/SKILL.md: up to date" in proc.stdout
    assert "My own rule" in codex.read_text()
    forced = _install(env, tmp_path, "--force")
    assert f"{codex}: updated" in forced.stdout
    assert codex.read_text() == TEXT


def test_an_older_orch_install_is_updated_and_a_foreign_file_refused(env, tmp_path):
    codex = Path(env["HOME"]) / ".agents" / "skills" / "orch" / "SKILL.md"
    claude = Path(env["CLAUDE_CONFIG_DIR"]) / "skills" / "orch" / "SKILL.md"
    old = "---\nname: orch\ndescription: an older orch skill\n---\nold runbook\n"
    codex.parent.mkdir(parents=True)
    codex.write_text(old)  # what an older orch installed, with its record
    (codex.parent / ".orch-installed").write_text(hashlib.sha256(old.encode()).hexdigest() + "\n")
    claude.parent.mkdir(parents=True)
    claude.write_text("a skill someone else wrote\n")  # no record: not orch's
    proc = _install(env, tmp_path, "--json", check=False)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "skill-install" and doc["refused"] is True
    results = {Path(r["path"]): r for r in doc["results"]}
    assert results[codex]["result"] == "updated" and codex.read_text() == TEXT
    assert results[claude]["result"] == "refused" and "not installed by orch" in results[claude]["detail"]
    assert claude.read_text() == "a skill someone else wrote\n"


def test_dest_installs_only_there(env, tmp_path):
    dest = tmp_path / "project" / ".agents" / "skills"
    proc = _install(env, tmp_path, "--dest", dest)
    assert (dest / "orch" / "SKILL.md").read_text() == TEXT
    assert proc.stdout.strip() == f"{dest / 'orch' / 'SKILL.md'}: installed"
    assert not (Path(env["CODEX_HOME"]) / "skills").exists()
    assert not (Path(env["HOME"]) / ".agents" / "skills").exists()
    assert not (Path(env["CLAUDE_CONFIG_DIR"]) / "skills").exists()
