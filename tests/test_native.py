"""orch feels like a native command: hints that run as printed, the README's tool install, a demo without a
global git identity."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from conftest import ORCH, run

ROOT = Path(__file__).resolve().parent.parent


def _path_without_orch(env: dict) -> str:
    """The PATH of `env` minus every folder that has an `orch` in it."""
    keep = [p for p in env["PATH"].split(os.pathsep) if p and not os.path.exists(os.path.join(p, "orch"))]
    return os.pathsep.join(keep)


def test_readme_shows_how_to_install_orch_as_a_tool():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)
    assert len(blocks) >= 2
    assert "pipx install ." in blocks[1] and "uv tool install ." in blocks[1]


def test_demo_hint_names_the_running_orch_when_orch_is_not_on_path(tmp_path, env):
    env = {**env, "PATH": _path_without_orch(env)}
    proc = run([ORCH, "demo", str(tmp_path / "d")], cwd=tmp_path, env=env)
    hint = next(ln for ln in proc.stdout.splitlines() if ln.startswith("Try: "))
    assert f"&& {ORCH} task list && {ORCH} task show T3 && {ORCH} review T1" in hint
    # ... and it runs exactly as printed
    proc = subprocess.run(["bash", "-c", hint.removeprefix("Try: ")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "T3" in proc.stdout and "checklist" in proc.stdout.lower() or "ready" in proc.stdout


def test_hints_say_orch_when_it_is_the_one_on_path(tmp_path, env):
    proc = run([ORCH, "demo", str(tmp_path / "d")], cwd=tmp_path, env=env)
    assert "&& orch task list && orch task show T3" in proc.stdout


def test_error_and_doctor_hints_name_the_running_orch(bare_repo):
    env = {"PATH": _path_without_orch(bare_repo.env)}
    proc = bare_repo.orch("status", check=False, env=env)
    assert proc.returncode == 2 and f"run `{ORCH} init`" in proc.stderr
    proc = bare_repo.orch("doctor", check=False, env=env)
    assert f"fix: {ORCH} init" in proc.stdout
    proc = bare_repo.orch("doctor", check=False)
    assert "fix: orch init" in proc.stdout


def test_demo_json(tmp_path, env):
    proc = run([ORCH, "demo", str(tmp_path / "d"), "--json"], cwd=tmp_path, env=env)
    doc = json.loads(proc.stdout)
    assert doc["schema"] == 1 and doc["kind"] == "demo"
    assert doc["root"] == str((tmp_path / "d" / "shop").resolve())
    assert doc["try"][0] == "orch task list"
    assert doc["report"]["overall"] == "blocked"


def test_walkthrough_merge_works_without_a_global_git_identity(tmp_path, env):
    home = tmp_path / "bare-home"
    home.mkdir()
    env = {k: v for k, v in env.items() if k not in ("GIT_CONFIG_GLOBAL",)}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_AUTHOR_NAME="", EMAIL="")
    env.pop("GIT_AUTHOR_NAME")
    env.pop("EMAIL")
    assert not (home / ".gitconfig").exists()
    demo = tmp_path / "demo"
    run([ORCH, "demo", str(demo)], cwd=tmp_path, env=env)
    shop = demo / "shop"
    run(["git", "-C", str(shop), "merge", "--no-ff", "-m", "Merge T1", "fix/checkout-total"], cwd=tmp_path, env=env)
    assert not (home / ".gitconfig").exists()
