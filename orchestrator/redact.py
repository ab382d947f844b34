"""Remove secret-looking tokens, keys and passwords from any text before it is shown or stored."""

from __future__ import annotations

import re

_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"\b(sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,})"),
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"\b(xox[abprs]-[A-Za-z0-9\-]{10,})"),
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"\b(AIza[0-9A-Za-z_\-]{35})"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{12,}"),
    re.compile(r"(?i)(://[^/\s:@]+:)[^@\s/]+@"),
]
_ASSIGN = re.compile(
    r"(?i)\b([A-Za-z0-9_\-]*(?:password|passwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credential)s?)"
    r"(\s*[=:]\s*|\"\s*:\s*\")([^\s\"',;&]{4,})"
)
MASK = "[redacted]"


def redact(text: str | None) -> str:
    """Return `text` with anything that looks like a secret replaced by [redacted]."""
    if not text:
        return text or ""
    out = _ASSIGN.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    for pat in _PATTERNS:
        if pat.pattern.startswith("(?i)(://"):
            out = pat.sub(lambda m: f"{m.group(1)}{MASK}@", out)
        else:
            out = pat.sub(MASK, out)
    return out
