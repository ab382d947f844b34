"""The files agents read as rules (AGENTS.md, CLAUDE.md, .agents/skills/) and what in them tells a worker to push."""

from __future__ import annotations

import hashlib
import re

RULE_NAMES = ("AGENTS.md", "CLAUDE.md")
RULE_DIR = ".agents/skills/"
# A line of a rule file telling the worker to push by itself (English; a command in a code block counts too).
PUSH_LINE = re.compile(r"\bgit push\b|\b(?:always|then|and|must|should|please) push\b|\bpush (?:your|the|all) "
                       r"(?:changes|commits|branch|work)\b|\bpush to (?:origin|the remote|github|remote)\b", re.I)
NOT_PUSH = re.compile(r"\b(?:never|don'?t|do not|must not|should not|without asking|not) (?:\w+ ){0,2}push", re.I)


_NAMED = re.compile(r"(?<![\w.-])(AGENTS\.md|CLAUDE\.md)\b")
_KEEP_OFF = re.compile(r"\b(?:don'?t|do not|never|without|must not) (?:\w+ ){0,3}(?:touch|edit|change|modify|update)",
                       re.I)


def named_for_change(text: str | None) -> set[str]:
    """The rule files a person's words name for the worker to change ("update CLAUDE.md"; not "don't touch …")."""
    if not text or _KEEP_OFF.search(text):
        return set()
    return set(_NAMED.findall(text))


def is_rule_path(path: str) -> bool:
    """A file agents read as rules: AGENTS.md or CLAUDE.md at any depth, or anything under .agents/skills/."""
    name = path.rsplit("/", 1)[-1]
    return name in RULE_NAMES or path.startswith(RULE_DIR) or f"/{RULE_DIR}" in path


def push_lines(texts: dict[str, str], limit: int = 3) -> list[str]:
    """`FILE:LINE` of the lines that tell a worker to push (not those forbidding it), first `limit`."""
    out = []
    for path in sorted(texts):
        for n, line in enumerate(texts[path].splitlines(), 1):
            if PUSH_LINE.search(line) and not NOT_PUSH.search(line):
                out.append(f"{path}:{n}")
                if len(out) >= limit:
                    return out
    return out


def rules_hash(entries: list[tuple[str, str]]) -> str | None:
    """One hash of the rule files (path, blob id) at a commit; None when there are none."""
    entries = sorted((p, oid) for p, oid in entries if is_rule_path(p))
    if not entries:
        return None
    return hashlib.sha1("".join(f"{p}\0{oid}\0" for p, oid in entries).encode("utf-8", "surrogateescape")).hexdigest()[:16]
