"""Consistent copies of a SQLite ledger, taken before orch migrates it; the newest few are kept."""

from __future__ import annotations

import errno
import os
import re
from datetime import datetime
from pathlib import Path

from orchestrator.errors import UserError
from orchestrator.system.files import open_regular, own_dir

KEEP = 5  # copies kept in .orch/backups (docs/operations.md says so)
NAME = re.compile(r"^ledger-[A-Za-z0-9_.+]+-\d{8}T\d{6}Z(-\d+)?\.db$")


def folder(state: Path) -> Path:
    return state / "backups"


def copies(state: Path) -> list[Path]:
    """orch's copies in `.orch/backups`, oldest first (regular files only)."""
    where = folder(state)
    try:
        names = [n for n in os.listdir(where) if NAME.match(n)]
    except OSError:
        return []
    found = []
    for name in names:
        try:
            st = os.lstat(where / name)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000:
            found.append((st.st_mtime_ns, name))
    return [where / name for _, name in sorted(found)]


def newest(state: Path) -> Path | None:
    found = copies(state)
    return found[-1] if found else None


def take(db: Path, state: Path, revision: str, now: datetime) -> Path:
    """Copy `db` with SQLite's backup API (consistent even while others read it) to
    `.orch/backups/ledger-<revision>-<time>.db` (0600, never through a link), then keep the newest KEEP."""
    import sqlite3

    where = own_dir(folder(state), 0o700)
    stem = f"ledger-{re.sub(r'[^A-Za-z0-9_.]', '_', revision) or 'none'}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    tmp = where / f".{stem}.db.tmp"
    try:
        os.unlink(tmp)  # a copy a killed upgrade left half-written
    except FileNotFoundError:
        pass
    try:
        os.close(open_regular(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        fd = open_regular(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        target, n = where / f"{stem}.db", 1
        while target.exists() or target.is_symlink():
            target, n = where / f"{stem}-{n}.db", n + 1
        os.rename(tmp, target)
    except (OSError, sqlite3.Error) as exc:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            try:
                os.unlink(leftover)
            except OSError:
                pass
        full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "full" in str(exc)
        why = "no space left on device" if full else str(exc)
        raise UserError(f"cannot copy the ledger {db} to {where} before upgrading it ({why}): nothing was changed; "
                        + ("free some space there" if full else "fix that") + " and run `orch db upgrade`") from None
    prune(state)
    return target


def prune(state: Path, keep: int = KEEP) -> None:
    for old in copies(state)[:-keep]:
        try:
            os.unlink(old)
        except OSError:
            pass
