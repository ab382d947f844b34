"""Keep every program a repository's configuration names from running inside orch's git calls."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import threading
from dataclasses import dataclass
from functools import lru_cache

# Settings that always hold, whatever the repository, its worktrees or their includes say. Given to git as
# GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n, which outrank every configuration file and reach git's own children
# (a submodule's status, worktree remove's check) too.
FIXED: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),  # a hook program, or a daemon orch did not start
    ("core.hooksPath", "/dev/null"),  # no hook can be found there: reference-transaction, post-checkout ...
    ("core.pager", "cat"),
    ("core.editor", ":"),  # ':' is git's "no editor"
    ("sequence.editor", ":"),
    ("core.askPass", ""),
    ("credential.helper", ""),  # an empty value empties the list of helpers
    ("log.showSignature", "false"),  # else `git log` runs gpg.program
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("gc.auto", "0"),  # no background `git gc` (and its pre-auto-gc hook)
    ("maintenance.auto", "false"),
    ("status.submoduleSummary", "false"),
    ("diff.submodule", "short"),  # else `git diff` starts git in a submodule
    ("submodule.recurse", "false"),
    ("protocol.allow", "never"),
)
# Environment for every call: no transport may run (so no ssh command, proxy, remote helper, credential helper,
# upload-pack or receive-pack path from the configuration), no editor, no askpass.
FIXED_ENV = {
    "GIT_ALLOW_PROTOCOL": "",  # outranks protocol.<name>.allow in any configuration
    "GIT_EDITOR": ":",
    "GIT_SEQUENCE_EDITOR": ":",
    "GIT_PAGER": "cat",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_TERMINAL_PROMPT": "0",
}
# Inherited variables that would add configuration or programs of their own (an outer git's `-c`, say).
ENV_DROP = ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXTERNAL_DIFF", "GIT_SSH", "GIT_SSH_COMMAND",
            "GIT_PROXY_COMMAND")
# Flags put right after these subcommands: diff programs and textconv never run; status never starts git inside
# a submodule (whose own configuration could name programs).
SUBCOMMAND_FLAGS = {
    "diff": ("--no-ext-diff", "--no-textconv"),
    "log": ("--no-ext-diff", "--no-textconv"),
    "show": ("--no-ext-diff", "--no-textconv"),
    "status": ("--ignore-submodules=dirty",),
}
# A configured merge driver becomes git's own three-way text merge, run by git itself.
MERGE_AS_TEXT = "git merge-file --quiet --marker-size=%L %A %O %B"
_MAX_INCLUDE_DEPTH = 10
# A section git would read a driver or an include from: `[filter "x"]`, `[merge.x]`, `[includeIf ...]` (section
# names have no escapes; a header may follow another on one line, so no anchor). A file without one is done.
_SECTION = re.compile(rb"(?i)\[[ \t]*(filter|merge|include)")
_QUICK_LIMIT = 1 << 20


@dataclass(frozen=True)
class Guard:
    """The configuration overrides for one git call, and which named drivers they switched off."""

    pairs: tuple[tuple[str, str], ...]
    filters: tuple[str, ...] = ()
    merge_drivers: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        return _env(self.pairs)


@lru_cache(maxsize=64)
def _env(pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out = {"GIT_CONFIG_COUNT": str(len(pairs))}
    for i, (key, value) in enumerate(pairs):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    return out


@lru_cache(maxsize=64)
def _guard(filters: tuple[str, ...], merges: tuple[str, ...]) -> Guard:
    pairs = list(FIXED)
    for name in filters:
        pairs += [(f"filter.{name}.clean", ""), (f"filter.{name}.smudge", ""), (f"filter.{name}.process", ""),
                  (f"filter.{name}.required", "false")]
    for name in merges:
        pairs.append((f"merge.{name}.driver", MERGE_AS_TEXT))
    return Guard(tuple(pairs), filters, merges)


@dataclass(frozen=True)
class _Parsed:
    filters: frozenset[str]
    merges: frozenset[str]
    includes: tuple[str, ...]


_cache: dict[str, tuple[tuple, _Parsed]] = {}
_lock = threading.Lock()
_parse_lock = threading.Lock()
_EMPTY = _Parsed(frozenset(), frozenset(), ())


def _fingerprint(path: str) -> tuple | None:
    """Identity of a regular file's current content; None if it is missing or not a regular file."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read_small(path: str, limit: int = 4096) -> str | None:
    """A small regular file's text; None for anything else (a FIFO never blocks: O_NONBLOCK, then fstat)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit).decode("utf-8", "surrogateescape")
    except OSError:
        return None
    finally:
        os.close(fd)


def gitfile_target(dotgit: str) -> str | None:
    text = _read_small(dotgit)
    if not text or not text.startswith("gitdir:"):
        return None
    target = text[len("gitdir:"):].strip()
    return os.path.join(os.path.dirname(dotgit), target) if target else None


def commondir(gitdir: str) -> str:
    text = _read_small(os.path.join(gitdir, "commondir"))
    return os.path.normpath(os.path.join(gitdir, text.strip())) if text and text.strip() else gitdir


def _is_gitdir(d: str) -> bool:
    """git's own test (HEAD, objects, refs), so that the search stops where git's does."""
    return (os.path.isfile(os.path.join(d, "HEAD")) and os.path.isdir(os.path.join(d, "objects"))
            and os.path.isdir(os.path.join(d, "refs")))


def _gitdirs(cwd: str) -> list[str]:
    """The git directories git may settle on from cwd, searching upwards as git does (a candidate git would
    reject is kept too, and the search goes on past it)."""
    out: list[str] = []
    try:
        d = os.path.realpath(cwd)
    except (OSError, ValueError):
        return out
    while True:
        dotgit = os.path.join(d, ".git")
        try:
            mode = os.stat(dotgit).st_mode
        except (OSError, ValueError):
            mode = 0
        if stat.S_ISREG(mode):  # git stops at a .git file, valid or not
            target = gitfile_target(dotgit)
            if target:
                out.append(os.path.normpath(target))
            return out
        if stat.S_ISDIR(mode):
            out.append(dotgit)
            if _is_gitdir(dotgit):
                return out
        if os.path.isfile(os.path.join(d, "HEAD")):
            out.append(d)  # d may itself be a git directory (a bare repository, or cwd inside .git)
            if _is_gitdir(d):
                return out
        parent = os.path.dirname(d)
        if parent == d:
            return out
        d = parent


def _module_gitdirs(base: str, depth: int = 0) -> list[str]:
    """Git directories of submodules under base/modules (names may hold slashes; modules nest)."""
    top = os.path.join(base, "modules")
    if depth > 4 or not os.path.isdir(top):
        return []
    out, stack = [], [(top, 0)]
    while stack:
        d, level = stack.pop()
        try:
            names = os.listdir(d)
        except OSError:
            continue
        if "HEAD" in names and "config" in names:
            out.append(d)
            out.extend(_module_gitdirs(d, depth + 1))
            continue
        if level < 6:
            stack.extend((os.path.join(d, n), level + 1) for n in names if os.path.isdir(os.path.join(d, n)))
    return out


def _user_files() -> list[str]:
    env = os.environ
    files = []
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        files.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    if env.get("GIT_CONFIG_GLOBAL"):
        files.append(env["GIT_CONFIG_GLOBAL"])
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        files.append(os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "git", "config"))
        files.append(os.path.join(home, ".gitconfig"))
    return files


def config_files(cwd: str) -> list[str]:
    """Configuration files a git call in cwd may read, before includes (a superset: conditions ignored)."""
    files = _user_files()
    for gitdir in _gitdirs(cwd):
        common = commondir(gitdir)
        files += [os.path.join(common, "config"), os.path.join(common, "config.worktree"),
                  os.path.join(gitdir, "config.worktree")]
        if common == gitdir:  # the main checkout: a call here may act on any worktree (worktree remove ...)
            try:
                ids = os.listdir(os.path.join(common, "worktrees"))
            except OSError:
                ids = []
            files += [os.path.join(common, "worktrees", i, "config.worktree") for i in ids]
        for mod in _module_gitdirs(gitdir) + (_module_gitdirs(common) if common != gitdir else []):
            files += [os.path.join(mod, "config"), os.path.join(mod, "config.worktree")]
    return files


def _parse_listing(out: bytes, where: str) -> _Parsed:
    filters, merges, includes = set(), set(), []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        key_b, _, value_b = entry.partition(b"\n")
        key, value = os.fsdecode(key_b), os.fsdecode(value_b)
        section, _, rest = key.partition(".")
        sub, dot, name = rest.rpartition(".")
        section = section.lower()
        if section == "filter" and dot and sub:
            filters.add(sub)
        elif section == "merge" and dot and sub:
            merges.add(sub)
        elif (section == "include" and not sub and name.lower() == "path") or \
                (section == "includeif" and dot and name.lower() == "path"):
            if value:
                path = os.path.expanduser(value)
                includes.append(os.path.normpath(path if os.path.isabs(path) else os.path.join(where, path)))
    return _Parsed(frozenset(filters), frozenset(merges), tuple(includes))


def _parse(path: str) -> _Parsed:
    """Filter and merge driver names and include paths set in one file, as git itself reads it (cached)."""
    fp = _fingerprint(path)
    if fp is None:
        return _EMPTY
    with _lock:
        hit = _cache.get(path)
    if hit is not None and hit[0] == fp:
        return hit[1]
    with _parse_lock:  # the tick's threads all meet the shared config at once: one of them reads it
        with _lock:
            hit = _cache.get(path)
        if hit is not None and hit[0] == fp:
            return hit[1]
        return _read(path, fp)


def _read(path: str, fp: tuple) -> _Parsed:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_QUICK_LIMIT + 1)
    except OSError:
        return _EMPTY
    if len(head) <= _QUICK_LIMIT and not _SECTION.search(head):
        parsed = _EMPTY  # no filter, merge or include section: nothing for git to tell (most files)
    else:
        parsed = _listing(path)
    if _fingerprint(path) == fp:  # changed while being read: read again next time
        with _lock:
            _cache[path] = (fp, parsed)
    return parsed


def _listing(path: str) -> _Parsed:
    """The file as git reads it (names can be spelled in more ways than a pattern sees)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in FIXED_ENV}
    env.update(FIXED_ENV, LC_ALL="C", **Guard(FIXED).env())
    try:
        proc = subprocess.run(["git", "config", "--file", path, "--no-includes", "--list", "-z"], cwd="/",
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        out = proc.stdout if proc.returncode == 0 else b""
    except (OSError, subprocess.TimeoutExpired):
        out = b""
    return _parse_listing(out, os.path.dirname(path))


def guard_for(cwd: str) -> Guard:
    """The overrides for a git call run in cwd: the fixed ones, plus every filter and merge driver configured."""
    filters: set[str] = set()
    merges: set[str] = set()
    seen: set[str] = set()
    todo = [(p, 0) for p in config_files(cwd)]
    while todo:
        path, depth = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        parsed = _parse(path)
        filters |= parsed.filters
        merges |= parsed.merges
        if depth < _MAX_INCLUDE_DEPTH:
            todo.extend((inc, depth + 1) for inc in parsed.includes)
    return _guard(tuple(sorted(filters)), tuple(sorted(merges)))
