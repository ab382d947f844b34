"""Parsers for git's NUL-separated porcelain output (pure functions over bytes)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class WorktreeRecord:
    """One entry of `git worktree list --porcelain -z`."""

    path: str
    head: str | None = None
    branch: str | None = None  # short name; None when detached
    detached: bool = False
    bare: bool = False
    locked: bool = False
    prunable: bool = False


@dataclass
class StatusResult:
    """The parts of `git status --porcelain=v2 --branch -z` that orch uses."""

    oid: str | None = None
    head: str | None = None  # branch short name; None when detached
    paths: list[str] = field(default_factory=list)


def _dec(raw: bytes) -> str:
    return os.fsdecode(raw)


def parse_worktree_list(out: bytes) -> list[WorktreeRecord]:
    records: list[WorktreeRecord] = []
    cur: WorktreeRecord | None = None
    for field_ in out.split(b"\0"):
        if not field_:
            if cur is not None:
                records.append(cur)
                cur = None
            continue
        key, _, value = field_.partition(b" ")
        if key == b"worktree":
            if cur is not None:
                records.append(cur)
            cur = WorktreeRecord(path=_dec(value))
        elif cur is None:
            continue
        elif key == b"HEAD":
            cur.head = value.decode("ascii", "replace")
        elif key == b"branch":
            name = _dec(value)
            cur.branch = name[len("refs/heads/"):] if name.startswith("refs/heads/") else name
        elif key == b"detached":
            cur.detached = True
        elif key == b"bare":
            cur.bare = True
        elif key == b"locked":
            cur.locked = True
        elif key == b"prunable":
            cur.prunable = True
    if cur is not None:
        records.append(cur)
    return records


def parse_status_v2(out: bytes) -> StatusResult:
    res = StatusResult()
    fields = out.split(b"\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        kind = entry[:1]
        if kind == b"#":
            parts = entry.split(b" ", 2)
            if len(parts) == 3 and parts[1] == b"branch.oid":
                oid = parts[2].decode("ascii", "replace")
                res.oid = None if oid == "(initial)" else oid
            elif len(parts) == 3 and parts[1] == b"branch.head":
                head = _dec(parts[2])
                res.head = None if head == "(detached)" else head
        elif kind == b"1":
            res.paths.append(_dec(entry.split(b" ", 8)[-1]))
        elif kind == b"2":
            res.paths.append(_dec(entry.split(b" ", 9)[-1]))
            i += 1  # the original path follows in its own field
        elif kind == b"u":
            res.paths.append(_dec(entry.split(b" ", 10)[-1]))
        elif kind == b"?":
            res.paths.append(_dec(entry[2:]))
    return res


def parse_refs(out: bytes) -> dict[str, tuple[str, int | None]]:
    """Lines of `refname NUL objectname NUL committerdate:unix`."""
    refs: dict[str, tuple[str, int | None]] = {}
    for line in out.splitlines():
        parts = line.split(b"\0")
        if len(parts) < 2:
            continue
        stamp = parts[2] if len(parts) > 2 else b""
        refs[_dec(parts[0])] = (parts[1].decode("ascii", "replace"), int(stamp) if stamp.isdigit() else None)
    return refs


def porcelain_entries(out: bytes) -> list[tuple[str, str]]:
    """(XY code, path) from `git status --porcelain -z` (a rename's second field is its old name, skipped)."""
    entries, fields_ = [], out.split(b"\0")
    i = 0
    while i < len(fields_):
        entry = fields_[i]
        i += 1
        if len(entry) < 4:
            continue
        entries.append((entry[:2].decode("ascii", "replace"), os.fsdecode(entry[3:])))
        if entry[:1] in (b"R", b"C"):
            i += 1
    return entries
