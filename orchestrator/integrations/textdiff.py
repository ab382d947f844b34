"""The unified diff orch shows before it changes (or refuses to change) a file the user owns."""

from __future__ import annotations

import difflib


def unified(old: str, new: str, before: str, after: str, context: int = 3, limit: int | None = None) -> list[str]:
    """Diff lines (no trailing newlines), cut to `limit` lines with a note of how many more there were."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=before, tofile=after,
                                      lineterm="", n=context))
    if limit is not None and len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return lines


def text(old: str, new: str, before: str, after: str) -> str:
    """The whole diff as one text, each line ending in a newline ('' when nothing differs)."""
    return "".join(line + "\n" for line in unified(old, new, before, after))
