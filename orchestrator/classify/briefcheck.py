"""The stale-brief check (pure): was the worker briefed on an older version of its dispatch record?

A separate check on purpose: the trust stage runs it next to the others (ledger/briefcheck.py records it).
Input: the digest stored when the brief was printed and the digest of the record now (ledger/brief.py),
each a hash per part of the record, in the record's order.
"""

from __future__ import annotations

from dataclasses import dataclass

BINDING = ("outcome", "accept", "branch", "paths", "constraints", "authority")  # a change here: medium severity
CATEGORY = "setup-failure"


@dataclass(frozen=True)
class StaleBrief:
    """A finding: the record changed since the brief the worker was given."""

    changed: tuple[str, ...]
    briefed_hash: str
    current_hash: str
    briefed_at: str | None

    @property
    def severity(self) -> str:
        return "medium" if any(p in BINDING for p in self.changed) else "low"

    @property
    def text(self) -> str:
        when = f" at {self.briefed_at}" if self.briefed_at else ""
        return (f"briefed on an older version of its dispatch record (brief {self.briefed_hash}{when}; now "
                f"{self.current_hash}): {', '.join(self.changed)} changed since")

    @property
    def key(self) -> str:
        """One finding per (brief given, record now): a further change is a new finding."""
        return f"brief:{self.briefed_hash}:{self.current_hash}"


def changed_parts(briefed: dict | None, current: dict) -> list[str]:
    """The parts that changed since the brief was printed ([] when none, or when no brief was printed)."""
    if not briefed or not briefed.get("hash") or briefed["hash"] == current["hash"]:
        return []
    old = briefed.get("parts") or {}
    return [name for name in current["parts"] if old.get(name) != current["parts"][name]] or ["record"]


def check(briefed: dict | None, current: dict) -> StaleBrief | None:
    """None when the worker's brief matches the record (or no brief was printed), else the finding."""
    changed = changed_parts(briefed, current)
    if not changed:
        return None
    return StaleBrief(tuple(changed), briefed["hash"], current["hash"], briefed.get("at"))
