"""Safe file access: atomic writes, no-follow opens of regular files only, bounded reads, explicit modes."""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

from orchestrator.errors import UserError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
MAX_READ = 64 << 20  # no single read of a file orch does not own goes past this


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a folder: orch never reads or writes those as files."""


class LinkRefused(UserError):
    """A symbolic link where orch writes its own state: refused with one line naming the path."""


def refuse_link(path: Path | str) -> LinkRefused:
    return LinkRefused(f"refusing to use {path}: it is a symbolic link (orch never follows links in its .orch folder)")


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = 0o600, follow: bool = False) -> int:
    """Open `path` and return the fd, only if it is a regular file: checked with fstat AFTER opening.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; O_NOFOLLOW (unless
    `follow`) makes a final symbolic link fail with ELOOP. A FIFO, device or folder raises NotRegularFile.
    """
    fd = os.open(path, flags | NONBLOCK | CLOEXEC | (0 if follow else NOFOLLOW), mode)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        if NONBLOCK:  # regular files ignore it, but do not hand a non-blocking fd on
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path | str, limit: int = MAX_READ, offset: int = 0, follow: bool = False) -> bytes:
    """At most `limit` bytes of a regular file from `offset` (OSError/NotRegularFile otherwise)."""
    fd = open_regular(path, follow=follow)
    try:
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def append_own(path: Path | str, data: bytes, mode: int = 0o600) -> None:
    """Append to a file in orch's state with one O_APPEND write; a link is refused, anything else not regular too."""
    try:
        fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refuse_link(path) from None
        raise
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def own_dir(path: Path | str, mode: int = 0o700) -> Path:
    """Create a folder of orch's state (and its parents) with an explicit mode; a link is refused."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not path.parent.exists():
            own_dir(path.parent, mode)
        try:
            os.mkdir(path, mode)
            os.chmod(path, mode)  # the umask may have taken bits away (or, at 000, given none)
        except FileExistsError:
            pass
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise refuse_link(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UserError(f"{path} is not a folder")
    return path


def check_not_link(path: Path | str) -> None:
    """Refuse a symbolic link at `path` (a missing path is fine)."""
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise refuse_link(path)
    except FileNotFoundError:
        pass


def sweep_tmp(folder: Path, older_than: float = 3600.0) -> int:
    """Delete `.*.tmp` files that a killed writer left behind, once they are an hour old; returns how many."""
    gone = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if e.name.startswith(".") and e.name.endswith(".tmp"):
            try:
                if e.is_file(follow_symlinks=False) and e.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(e.path)
                    gone += 1
            except OSError:
                pass
    return gone


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644, dir_mode: int | None = None) -> None:
    """Write to a temp file in the same folder, fsync, then rename over `path`.

    `dir_mode`: the folder is part of orch's state: created with this mode, and refused if it is a link.
    """
    path = Path(path)
    if dir_mode is not None:
        own_dir(path.parent, dir_mode)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    import tempfile  # not at the top: `orch hook` imports this module and must start in milliseconds

    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
