"""The constraint stack given at dispatch: instruction, free-text constraints, authority, rule files at base."""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import UserError
from orchestrator.redact import redact
from orchestrator.rulefiles import is_rule_path, push_lines, rules_hash
from orchestrator.system.gitrun import run_git

AUTHORITIES = ("commit", "push", "merge")
INSTRUCTION_MAX = 4000
CONSTRAINT_MAX = 500
ACCEPT_MAX = 20  # acceptance criteria per task
RULE_TEXT_MAX = 200_000  # rule files longer than this are hashed but not read for push instructions


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
    out = {"hash": rules_hash(entries), "files": [p for p, _ in entries][:50]}
    pushes = push_lines(_texts(root, entries))
    if pushes:
        out["push"] = pushes
    return out


def _texts(root: Path, entries: list[tuple[str, str]]) -> dict[str, str]:
    """The rule files' text (one `git cat-file --batch` for all of them; big files are skipped)."""
    names = [p for p, _ in entries if p.rsplit("/", 1)[-1] in ("AGENTS.md", "CLAUDE.md")][:20]
    if not names:
        return {}
    oids = dict(entries)
    res = run_git(root, "cat-file", "--batch", input="".join(f"{oids[p]}\n" for p in names).encode())
    if not res.ok:
        return {}
    out, data = {}, res.stdout
    for name in names:
        head, _, data = data.partition(b"\n")
        parts = head.split()
        if len(parts) != 3 or parts[1] != b"blob":
            break
        size = int(parts[2])
        blob, data = data[:size], data[size + 1:]
        if size <= RULE_TEXT_MAX:
            out[name] = blob.decode("utf-8", "replace")
    return out


def build(root: Path, base: str | None, instruction: str | None, constraints: list[str], authority: str,
          authority_given: bool = True) -> dict:
    """The stack stored in task.extra["stack"]; `authority_given`: --authority was passed (not the default)."""
    if authority not in AUTHORITIES:
        raise UserError(f"invalid authority {authority!r}: choose one of {', '.join(AUTHORITIES)}")
    cons = [redact(c.strip())[:CONSTRAINT_MAX] for c in constraints if c and c.strip()]
    out = {"instruction": read_instruction(instruction), "constraints": cons, "authority": authority,
           "rules": rules_at(root, base)}
    if not authority_given:
        out["authority_default"] = True
    return out


def push_warning(st: dict) -> str | None:
    """One line for the dispatch: the rule files tell the worker to push, and its authority is commit."""
    pushes = (st.get("rules") or {}).get("push") or []
    if not pushes or st.get("authority") != "commit":
        return None
    if st.get("authority_default"):
        return (f"warning: {pushes[0]} tells the worker to push, and its authority is commit (the default): its "
                f"pushes will not be flagged; pass --authority commit to flag them, or --authority push")
    return f"warning: {pushes[0]} tells the worker to push, but its authority is commit: each push will be flagged"


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
            "authority": st.get("authority") or "commit", "rules": st.get("rules") or {"hash": None, "files": []},
            "authority_default": bool(st.get("authority_default"))}


def first_line(text: str | None, limit: int = 120) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line if len(line) <= limit else line[:limit - 1] + "…"
