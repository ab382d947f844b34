"""Install the orch skill (skill/SKILL.md) for Codex and Claude Code without clobbering a user's edits."""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.integrations import textdiff
from orchestrator.system.files import write_atomic
from orchestrator.errors import UserError
from orchestrator.system.resources import data_dir
from orchestrator.probes.sessions.discover import Roots

SKILL_NAME = "orch"
SIDECAR = ".orch-installed"


@dataclass
class InstallResult:
    """What happened at one destination."""

    path: Path
    result: str  # installed | updated | up-to-date | refused | error | legacy (a copy in the old place)
    detail: str = ""
    diff: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "result": self.result, "detail": self.detail, "diff": self.diff}


def skill_text() -> str:
    src = data_dir("skill") / "SKILL.md"
    try:
        return src.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the skill shipped with orch ({src}): {exc.strerror or exc}") from None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()




def codex_user_root(env=None) -> Path:
    """Codex's user skills folder: $HOME/.agents/skills ($CODEX_HOME/skills is the deprecated place)."""
    env = os.environ if env is None else env
    return Path(env.get("HOME") or Path.home()).expanduser() / ".agents" / "skills"


def codex_legacy_root(env=None) -> Path:
    """Where Codex used to read user skills from, and still does (deprecated): $CODEX_HOME/skills."""
    return Roots.from_env(os.environ if env is None else env).codex / "skills"


def default_roots(env=None) -> list[Path]:
    """The user skills folders of Codex ($HOME/.agents/skills) and Claude Code ($CLAUDE_CONFIG_DIR/skills)."""
    roots = Roots.from_env(os.environ if env is None else env)
    return [codex_user_root(env), roots.claude / "skills"]


def legacy_copy(env=None) -> Path | None:
    """An orch skill left in Codex's deprecated $CODEX_HOME/skills, when there is one."""
    old = codex_legacy_root(env) / SKILL_NAME / "SKILL.md"
    if old.exists() and codex_legacy_root(env).resolve() != codex_user_root(env).resolve():
        return old
    return None


def legacy_advice(old: Path) -> str:
    """What to do about a copy in the old place: Codex still reads it, so the skill would load twice."""
    folder = old.parent
    return (f"an older copy of the skill is in {folder}, Codex's deprecated user skills folder (it still reads it, "
            f"so the skill would load twice): remove it with `rm -r {shlex.quote(str(folder))}`")


def _short_diff(old: str, new: str, path: Path, limit: int = 40) -> list[str]:
    return textdiff.unified(old, new, f"{path} (yours)", "orch's skill", context=1, limit=limit)


def install_one(root: Path, text: str, force: bool) -> InstallResult:
    """Write `root/orch/SKILL.md` unless a user edited the file orch installed there before."""
    target = root / SKILL_NAME / "SKILL.md"
    sidecar = target.parent / SIDECAR
    new_hash = sha256(text)
    try:
        if target.exists() and not target.is_file():
            return InstallResult(target, "refused", "exists and is not a file; move it away first")
        current = target.read_text(encoding="utf-8", errors="replace") if target.is_file() else None
        if current is not None and sha256(current) == new_hash:
            if _read_sidecar(sidecar) != new_hash and not target.is_symlink():
                write_atomic(sidecar, new_hash + "\n")
            return InstallResult(target, "up-to-date")
        if not force:
            if target.is_symlink():
                return InstallResult(target, "refused", "is a symlink to another file; use --force to replace it")
            recorded = _read_sidecar(sidecar)
            if current is not None and recorded != sha256(current):
                why = "edited since orch installed it" if recorded else "not installed by orch"
                return InstallResult(target, "refused", f"{why}; use --force to replace it",
                                     _short_diff(current, text, target))
        existed = current is not None or target.is_symlink()
        write_atomic(target, text)  # replaces a symlink itself, never writes through it
        write_atomic(sidecar, new_hash + "\n")
    except OSError as exc:
        return InstallResult(target, "error", exc.strerror or str(exc))
    return InstallResult(target, "updated" if existed else "installed")


def _read_sidecar(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def install(dest: Path | None, force: bool) -> list[InstallResult]:
    text = skill_text()
    roots = [Path(os.path.abspath(dest.expanduser()))] if dest is not None else default_roots()
    results = [install_one(root, text, force) for root in roots]
    old = legacy_copy() if dest is None else None
    if old is not None:
        results.append(InstallResult(old, "legacy", legacy_advice(old)))
    return results
