"""Bounded lists for every output (terminal, JSON, reports, review packs): the first few, and how many in all.

A worktree with 20,000 untracked files must not make a 500 KiB answer: outputs list at most `SHOWN` items of
any one category, with the count beside them (`dirty` and `dirty_count`, or a last line `… and 19,970 more`).
"""

from __future__ import annotations

from typing import Callable, Sequence

SHOWN = 40  # a few dozen per category


def first(items: Sequence, limit: int = SHOWN) -> list:
    """The first `limit` items."""
    return list(items[:limit])


def more(total: int, shown: int) -> str | None:
    """`… and 12 more` when some were left out, else None."""
    return f"… and {total - shown:,} more" if total > shown else None


def lines(items: Sequence, fmt: Callable = str, limit: int = SHOWN) -> list[str]:
    """One line per item for the first `limit`, then `… and N more`."""
    out = [fmt(i) for i in items[:limit]]
    tail = more(len(items), len(out))
    return out + [tail] if tail else out


def field(name: str, items: Sequence, limit: int = SHOWN) -> dict:
    """`{name: the first `limit` items, name_count: how many in all}` for JSON documents."""
    return {name: first(items, limit), f"{name}_count": len(items)}
