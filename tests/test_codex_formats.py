"""Current Codex formats: user skills in $HOME/.agents/skills (the old $CODEX_HOME/skills recognised), and the
hooks feature key `hooks` (the deprecated `codex_hooks` migrated when orch touches config.toml)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from conftest import ORCH, run


def _doctor(repo) -> list[dict]:
    proc = repo.orch("doctor", "--json", check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def test_skill_installs_in_agents_skills_and_flags_the_legacy_copy(repo, tmp_path):
    env = repo.env
    new = Path(env["HOME"]) / ".agents" / "skills" / "orch" / "SKILL.md"
    old = Path(env["CODEX_HOME"]) / "skills" / "orch" / "SKILL.md"
    old.parent.mkdir(parents=True)
    old.write_text("---\nname: orch\ndescription: installed by an older orch\n---\n")
    proc = run([ORCH, "skill", "install"], cwd=tmp_path, env=env)
    assert f"{new}: installed" in proc.stdout and new.is_file()
    assert f"{old}: left in the old place" in proc.stderr
    assert f"rm -r {old.parent}" in proc.stderr and "load twice" in proc.stderr
    assert old.exists()  # orch says what to do; it does not delete a user's files
    doc = json.loads(run([ORCH, "skill", "install", "--json"], cwd=tmp_path, env=env).stdout)
    assert {r["result"] for r in doc["results"]} == {"up-to-date", "legacy"}

    found = {f["check"]: f for f in _doctor(repo)}
    assert found["skill"]["status"] == "ok" and str(new) in found["skill"]["detail"]
    assert found["skill.legacy"]["status"] == "warn" and str(old.parent) in found["skill.legacy"]["detail"]
    assert found["skill.legacy"]["fix"] == f"rm -r {old.parent}"
    # done as told: no more warning
    run(["bash", "-c", found["skill.legacy"]["fix"]], cwd=tmp_path, env=env)
    assert "skill.legacy" not in {f["check"] for f in _doctor(repo)}
    again = run([ORCH, "skill", "install"], cwd=tmp_path, env=env)
    assert "old place" not in again.stderr


def test_hooks_install_writes_hooks_and_migrates_codex_hooks(repo):
    home = Path(repo.env["CODEX_HOME"])
    home.mkdir(parents=True)
    cfg = home / "config.toml"
    cfg.write_text('model = "gpt-5.3-codex"\n\n[features]\n# turn hooks on\ncodex_hooks = true\nweb_search = true\n')
    before = {f["check"]: f for f in _doctor(repo) if f["check"] == "hooks.codex" and "deprecated" in f["detail"]}
    assert before and before["hooks.codex"]["status"] == "warn"
    assert before["hooks.codex"]["fix"] == "orch hooks install codex"
    res = repo.orch("hooks", "install", "codex")
    assert "replaced the deprecated `codex_hooks` feature key with `hooks`" in res.stdout
    text = cfg.read_text()
    assert "codex_hooks" not in text and "# turn hooks on" in text
    assert tomllib.loads(text)["features"] == {"hooks": True, "web_search": True}
    assert not any("deprecated" in f["detail"] for f in _doctor(repo) if f["check"] == "hooks.codex")
    # both keys (a hand edit): the alias goes, the current key stays
    cfg.write_text("[features]\nhooks = true\ncodex_hooks = true\n")
    repo.orch("hooks", "install", "codex")
    assert tomllib.loads(cfg.read_text())["features"] == {"hooks": True}


def test_fresh_codex_config_gets_the_current_key(repo):
    repo.orch("hooks", "install", "codex")
    data = tomllib.loads((Path(repo.env["CODEX_HOME"]) / "config.toml").read_text())
    assert data["features"] == {"hooks": True}
