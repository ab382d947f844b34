"""Read only what was appended to a session log since the last tick, coping with truncation and replacement."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Callable

from orchestrator.system.files import MAX_READ, open_regular

MAX_LINE = 4 * 1024 * 1024  # longer lines are skipped and counted, never parsed
CHUNK = 1 << 20
HEAD = 512  # bytes whose hash tells a replaced file from an appended one


@dataclass
class Cursor:
    """Where the last read stopped: the ledger keeps this per session file."""

    offset: int = 0
    inode: int | None = None
    head: str | None = None  # "<length>:<sha1>" of the file's first bytes
    skipping: bool = False  # inside an over-long line: drop bytes up to the next newline
    line: int = 0  # complete lines before `offset` (so that a line's number is known without re-reading)


@dataclass
class ReadStats:
    lines: int = 0
    bad: int = 0  # invalid JSON, not an object, not UTF-8
    oversized: int = 0
    bytes: int = 0
    reset: bool = False  # truncated or replaced: parsing restarted from the top


def _head(f, length: int) -> str:
    f.seek(0)
    data = f.read(min(length, HEAD))
    return f"{len(data)}:{hashlib.sha1(data).hexdigest()}"


def read_appended(path: str, cur: Cursor, on_line: Callable[..., bool | None], on_reset: Callable[[], None],
                  limit: int | None = None, numbered: bool = False) -> tuple[Cursor, ReadStats]:
    """Feed every complete new JSON line to `on_line` (with its 1-based line number when `numbered`); returns
    the new cursor and what was seen.

    A partial last line (no newline yet) is left for the next read. `on_line` returning True stops
    the read right after that line. `limit` caps the bytes read in one call.
    """
    stats = ReadStats()
    with os.fdopen(open_regular(path), "rb") as f:  # never a FIFO: it would block the tick
        st = os.fstat(f.fileno())
        new = Cursor(cur.offset, st.st_ino, cur.head, cur.skipping, cur.line)
        if cur.inode is not None and cur.inode != st.st_ino or st.st_size < cur.offset or (
                cur.head is not None and cur.offset > 0 and _head(f, int(cur.head.split(":")[0])) != cur.head):
            new = Cursor(0, st.st_ino, None, False, 0)
            stats.reset = True
            on_reset()
        if new.head is None or int(new.head.split(":")[0]) < HEAD:
            new.head = _head(f, st.st_size)
        f.seek(new.offset)
        budget = min(limit or st.st_size, MAX_READ)
        buf = b""
        pos = new.offset
        stop = False
        while budget > 0 and not stop:
            chunk = f.read(min(CHUNK, budget))
            if not chunk:
                break
            budget -= len(chunk)
            buf += chunk
            start = 0
            while True:
                nl = buf.find(b"\n", start)
                if nl < 0:
                    break
                line = buf[start:nl]
                start = nl + 1
                new.line += 1
                if new.skipping:
                    new.skipping = False
                    stats.oversized += 1
                    continue
                if _parse(line, (lambda obj, n=new.line: on_line(obj, n)) if numbered else on_line, stats):
                    stop = True
                    break
            pos += start
            buf = buf[start:]
            if not stop and len(buf) > MAX_LINE:  # an over-long line still being written: skip to its end
                pos += len(buf)
                buf = b""
                new.skipping = True
        stats.bytes = pos - new.offset
        new.offset = pos
    return new, stats


def _parse(line: bytes, on_line: Callable[[dict], bool | None], stats: ReadStats) -> bool:
    line = line.strip()
    if not line:
        return False
    if len(line) > MAX_LINE:
        stats.oversized += 1
        return False
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        stats.bad += 1
        return False
    if not isinstance(obj, dict):
        stats.bad += 1
        return False
    stats.lines += 1
    return bool(on_line(obj))
