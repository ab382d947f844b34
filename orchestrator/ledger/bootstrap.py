"""`orch init`: the state folder, config.toml, the exclude entry, the ledger and the project row."""

from __future__ import annotations

import os
from dataclasses import dataclass

from orchestrator.settings import Settings, load_settings, save_settings, with_values
from orchestrator.system.files import own_dir
from orchestrator.system.gitrun import run_git
from orchestrator.ledger.connect import open_ledger
from orchestrator.paths import STATE_DIR, RepoPaths


def detect_default_branch(paths: RepoPaths) -> str:
    res = run_git(paths.root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if res.ok and res.text().strip().startswith("origin/"):
        return res.text().strip()[len("origin/"):]
    res = run_git(paths.root, "symbolic-ref", "--quiet", "--short", "HEAD")
    if res.ok and res.text().strip():
        return res.text().strip()
    for name in ("main", "master"):
        if run_git(paths.root, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}").ok:
            return name
    return "main"


def exclude_state_dir(paths: RepoPaths) -> bool:
    """Add `.orch/` to .git/info/exclude so it never shows as a dirty change; True if added."""
    exclude = paths.common_dir / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    line = f"/{STATE_DIR}/"
    current = exclude.read_text(encoding="utf-8", errors="replace") if exclude.exists() else ""
    if any(l.strip() in (line, f"{STATE_DIR}/", f"/{STATE_DIR}", STATE_DIR) for l in current.splitlines()):
        return False
    with exclude.open("a", encoding="utf-8") as fh:
        if current and not current.endswith("\n"):
            fh.write("\n")
        fh.write(f"# orch state (ledger, reports)\n{line}\n")
    return True


@dataclass
class InitResult:
    created: bool
    settings: Settings
    ledger_url: str


def init_repo(paths: RepoPaths, db: str | None, overrides: dict) -> InitResult:
    created = not paths.config.exists()
    if not paths.state.is_dir():
        paths.state.mkdir(parents=True, exist_ok=True)
        os.chmod(paths.state, 0o755)  # explicit: under umask 000 it would be world-writable
    exclude_state_dir(paths)
    own_dir(paths.reports, 0o755)  # where each tick writes latest.md/.json/.html (docs/commands.md: orch init)
    if created:
        cfg = Settings(project=paths.root.name or "default", default_branch=detect_default_branch(paths))
    else:
        cfg = load_settings(paths.config)
    cfg = with_values(cfg, **overrides)
    save_settings(paths.config, cfg)
    ledger = open_ledger(paths, db, require_init=False, create=True)
    try:
        with ledger.session() as s:
            proj = ledger.project(s, create=True)
            if overrides.get("default_branch"):
                proj.default_branch = cfg.default_branch
        return InitResult(created=created, settings=cfg, ledger_url=ledger.url)
    finally:
        ledger.close()
