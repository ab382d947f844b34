"""Read an append-only JSON-lines log that others write (hook events, tick notes) from where the last tick stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path

from orchestrator.system.files import MAX_READ, check_not_link, read_regular

ROTATE_AT = 1 << 20  # a fully read log larger than this is moved aside to events.jsonl.1


def _read_from(path: Path, offset: int, health: dict) -> tuple[list[dict], int]:
    out: list[dict] = []
    try:
        data = read_regular(path, MAX_READ, offset)  # regular files only, and bounded
    except FileNotFoundError:
        return out, offset
    except OSError:
        health["unreadable"] = health.get("unreadable", 0) + 1
        return out, offset
    end = data.rfind(b"\n") + 1  # a line still being written waits for the next tick
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("event"), str) and isinstance(obj.get("at"), str):
            out.append(obj)
        else:
            health["hook_bad"] = health.get("hook_bad", 0) + 1
    return out, offset + end


def read_new(folder: Path, cursor: dict, health: dict, rotate: bool,
             name: str = "events.jsonl") -> tuple[list[dict], dict]:
    """New hook records since `cursor` (as last committed), and the cursor to store.

    A log that the committed cursor shows fully read and large is first moved aside to
    events.jsonl.1; its stragglers are read from there, so rotation never loses an event.
    """
    main, old = folder / name, folder / f"{name}.1"
    cur = dict(cursor)
    check_not_link(folder)
    check_not_link(main)
    try:
        st = main.stat()
    except FileNotFoundError:
        st = None
    if (rotate and st is not None and cur.get("inode") == st.st_ino and cur.get("offset", 0) == st.st_size
            and st.st_size > ROTATE_AT):
        os.replace(main, old)
        cur.update(old_offset=st.st_size, offset=0, inode=None)
        st = None
        try:
            st = main.stat()
        except FileNotFoundError:
            pass
    records: list[dict] = []
    if cur.get("old_offset") is not None:
        got, cur["old_offset"] = _read_from(old, cur["old_offset"], health)
        records += got
    if st is None:
        return records, cur
    offset = cur.get("offset", 0)
    if cur.get("inode") not in (None, st.st_ino) or st.st_size < offset:
        offset = 0
    got, offset = _read_from(main, offset, health)
    records += got
    cur.update(offset=offset, inode=st.st_ino)
    return records, cur
