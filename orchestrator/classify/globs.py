"""Path globs for --allow / --forbid: `*` within a segment, `**` across, a plain path covers what is under it (pure)."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern:
    """`*` within a segment, `?` one character, `**` across directories, `dir/**` (or `dir/`) a prefix."""
    pat = pattern.strip().lstrip("/")
    if pat.startswith("./"):
        pat = pat[2:]
    if pat.endswith("/"):
        pat += "**"
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("/**", i) and i + 3 == len(pat):
            out.append("(?:/.*)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    if not any(ch in pat for ch in "*?"):
        body += "(?:/.*)?"  # a plain path also covers everything under it, as a directory would
    return re.compile(body + r"\Z")


def matches(path: str, patterns: list[str]) -> str | None:
    """The first pattern that matches `path`, or None."""
    for p in patterns:
        if p and glob_regex(p).match(path):
            return p
    return None
