"""The constraint stack given at dispatch: instruction, free-text constraints, authority, rule files at base."""

from __future__ import annotations

import hashlib
from pathlib import Path

from orchestrator.errors import UserError
from orchestrator.redact import redact
from orchestrator.system.gitrun import run_git

AUTHORITIES = ("commit", "push", "merge")
RULE_NAMES = ("AGENTS.md", "CLAUDE.md")
RULE_DIR = ".agents/skills/"
INSTRUCTION_MAX = 4000
CONSTRAINT_MAX = 500
ACCEPT_MAX = 20  # acceptance criteria per task


def is_rule_path(path: str) -> bool:
    """A file agents read as rules: AGENTS.md or CLAUDE.md at any depth, or anything under .agents/skills/."""
    name = path.rsplit("/", 1)[-1]
    return name in RULE_NAMES or path.startswith(RULE_DIR) or f"/{RULE_DIR}" in path


def read_instruction(value: str | None) -> str | None:
    """`--instruction TEXT` or `--instruction @FILE`; stored redacted and bounded."""
    if value is None:
        return None
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UserError(f"cannot read --instruction file {str(path)!r}: {exc.strerror or exc}") from None
    text = redact(value.strip())
    if not text:
        raise UserError("--instruction is empty")
    return text[:INSTRUCTION_MAX]


def rules_at(root: Path, commit: str | None) -> dict:
    """The rule files in the tree at `commit` and one hash of their blob ids (read from git, no checkout)."""
    if not commit:
        return {"hash": None, "files": []}
    res = run_git(root, "ls-tree", "-r", "-z", "--full-tree", commit)
    if not res.ok:
        return {"hash": None, "files": [], "error": res.error_line()}
    entries = []
    for rec in res.stdout.split(b"\0"):
        if b"\t" not in rec:
            continue
        meta, name = rec.split(b"\t", 1)
        path = name.decode("utf-8", "surrogateescape")
        if is_rule_path(path):
            entries.append((path, meta.split()[-1].decode()))
    entries.sort()
    digest = hashlib.sha1("".join(f"{p}\0{oid}\0" for p, oid in entries).encode("utf-8", "surrogateescape"))
    return {"hash": digest.hexdigest()[:16] if entries else None, "files": [p for p, _ in entries][:50]}


def build(root: Path, base: str | None, instruction: str | None, constraints: list[str], authority: str) -> dict:
    """The stack stored in task.extra["stack"]."""
    if authority not in AUTHORITIES:
        raise UserError(f"invalid authority {authority!r}: choose one of {', '.join(AUTHORITIES)}")
    cons = [redact(c.strip())[:CONSTRAINT_MAX] for c in constraints if c and c.strip()]
    return {"instruction": read_instruction(instruction), "constraints": cons, "authority": authority,
            "rules": rules_at(root, base)}


def criteria(values: list[str]) -> list[str]:
    """`--accept TEXT` (repeatable): acceptance criteria, redacted and bounded; too many is one UserError."""
    out = [redact(" ".join(v.split()))[:CONSTRAINT_MAX] for v in values if v and v.strip()]
    if len(out) > ACCEPT_MAX:
        raise UserError(f"too many --accept criteria ({len(out)}; at most {ACCEPT_MAX})")
    return out


def of(task) -> dict:
    """A task's stack; tasks dispatched before stacks existed have authority commit and nothing else."""
    st = (task.extra or {}).get("stack") or {}
    return {"instruction": st.get("instruction"), "constraints": st.get("constraints") or [],
            "authority": st.get("authority") or "commit", "rules": st.get("rules") or {"hash": None, "files": []}}


def first_line(text: str | None, limit: int = 120) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line if len(line) <= limit else line[:limit - 1] + "…"
