"""Ledger errors in one line that names the ledger and the next step (damaged, full, foreign, unreachable...)."""

from __future__ import annotations

import errno
import os
import shlex
from pathlib import Path

from orchestrator.errors import UserError

FULL_BELOW = 1 << 20  # free bytes under which a write error is a full disk
_opened: dict = {}  # the ledger this process opened: the CLI's last-resort handler names it


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlite_path(url: str) -> Path | None:
    from orchestrator.ledger.engine import sqlite_path

    return sqlite_path(url)


def where(url: str) -> str:
    path = _sqlite_path(url)
    return str(path) if path is not None else safe_url(url)


def remember(url: str, state: Path) -> None:
    _opened.update(url=url, state=state)


def check(ident, url: str, state: Path, create: bool) -> None:  # noqa: ANN001 - an identity.Identity
    """Refuse, before anything is written, a database that this command must not make into a ledger."""
    name = where(url)
    if ident.kind == "damaged":
        raise UserError(damaged(Path(name), state, ident.problem or "unreadable"))
    if ident.kind == "empty" and not create:
        raise UserError(f"{name} is empty, not an orch ledger: run `orch init` to make it one, "
                        "or point --db/ORCH_DB at the ledger")
    if ident.kind == "foreign":
        shown = ", ".join(ident.tables[:4]) + (", …" if len(ident.tables) > 4 else "")
        raise UserError(f"{name} is not an orch ledger (it holds other tables: {shown}): orch leaves it alone; "
                        "point --db/ORCH_DB at orch's ledger, or give `orch init` a new or empty database")


def damaged(path: Path, state: Path, problem: str) -> str:
    from orchestrator.ledger.backup import newest

    copy = newest(state)
    q = shlex.quote
    aside = f"mv {q(str(path))} {q(str(path) + '.damaged')} && rm -f {q(str(path) + '-wal')} {q(str(path) + '-shm')}"
    if copy is None:
        return (f"the ledger {path} is damaged ({problem}) and there is no copy in {state / 'backups'}: restore your "
                f"own backup, or set it aside for a new ledger: {aside} && orch init")
    return (f"the ledger {path} is damaged ({problem}): restore the newest copy: {aside} && "
            f"cp {q(str(copy))} {q(str(path))} (docs/operations.md, Backups)")


def no_space(path: Path) -> str | None:
    """Why a write to the SQLite file at `path` failed for lack of room, if it did: the disk, or `ulimit -f`."""
    import resource

    try:
        vfs = os.statvfs(path.parent)
        if vfs.f_bavail * vfs.f_frsize < FULL_BELOW:
            return f"no space left on device ({path.parent} has {vfs.f_bavail * vfs.f_frsize // 1024} KiB free)"
    except OSError:
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        biggest = 0
        for name in (path, Path(f"{path}-wal")):
            try:
                biggest = max(biggest, os.stat(name).st_size)
            except OSError:
                pass
        if biggest + 65536 >= soft:
            return f"file size limit reached (ulimit -f allows {soft} bytes; the ledger needs more)"
    return None


def is_damage(text: str) -> bool:
    low = text.lower()
    return "malformed" in low or "not a database" in low or "encrypted" in low


def sqlite_problem(path: Path, text: str, code: int | None = None) -> str:
    """One line for a SQLite error that is not damage to the file: no room, locked, or as SQLite says it."""
    low = text.lower()
    if "disk i/o error" in low or "disk is full" in low or code == errno.ENOSPC:
        why = no_space(path) or ("no space left on device" if "full" in low else None)
        if why:
            return (f"cannot write the ledger {path}: {why}: free space (or raise the limit) and run the command "
                    "again; the transaction was rolled back, nothing was half-written")
        return f"cannot use the ledger {path}: {text}: check the disk (dmesg) and run the command again"
    if "locked" in low:
        return (f"the ledger {path} stayed locked by another orch ({text}): try again; "
                "`orch status` says if a tick hangs")
    if "unable to open" in low:
        return f"cannot open the ledger {path} ({text}): check that its folder {path.parent} exists and is writable"
    return f"the ledger {path}: {text}"


def ledger_error(exc: BaseException, url: str, state: Path) -> str:
    """One line for a database error: what happened to which ledger, and what to do next."""
    text = first_line(exc)
    low = text.lower()
    path = _sqlite_path(url)
    name = where(url)
    if path is not None:
        if is_damage(text):
            return damaged(path, state, text)
        return sqlite_problem(path, text, getattr(exc, "errno", None))
    if "statement timeout" in low or "lock timeout" in low or "idle-in-transaction" in low \
            or "idle_in_transaction" in low:
        return (f"the ledger {name} did not answer in time ({text}): the server is overloaded or a lock is held "
                "(pg_stat_activity shows by whom); the command was rolled back, run it again")
    if "no space left" in low or "could not extend" in low:
        return f"the ledger {name}: the PostgreSQL server has no space left on device ({text}): free space there"
    if any(w in low for w in ("connection", "timeout expired", "server closed", "could not receive", "consuming input",
                              "could not send", "network", "terminating")):
        return (f"cannot open the ledger {name} ({text}): check that the server is up and reachable and the URL "
                "(--db/ORCH_DB); the command was rolled back")
    return f"the ledger {name}: {text}"


def last_opened_error(exc: BaseException) -> str:
    """The CLI's last resort for a database error raised after the ledger was opened."""
    if not _opened:
        return f"ledger error: {first_line(exc)}"
    return ledger_error(exc, _opened["url"], _opened["state"])
